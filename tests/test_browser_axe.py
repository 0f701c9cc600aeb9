"""axe on every page of the app, not only the room: every GET page of the route table, for each
role that may see it, at tablet size (820×1180), with no serious or critical violation.

The pages come from the route table (as in the permissions matrix), so a new page is checked
without being listed here; what each is called with comes from ``app_world.CALLS``. The world is
the demo with a live meeting, a vote, a checked-in tablet and a shared tablet in each community.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forum import db as database
from forum.app import create_app
from tests import app_world
from tests.app_world import CALLS, Call, Endpoint, url
from tests.conftest import TABLET, axe_serious, serving

pytestmark = pytest.mark.browser

# Who looks at pages: a visitor and a facilitator everywhere; the others where a page is theirs.
LOOKERS = ("anonymous", "facilitator_A")
OWN_LOOKERS = {"household_import": ("admin",), "room_tablet": ("tablet_A",), "vote_ballot": ("tablet_A",),
               "room_shared_tablet": ("shared_tablet_A",), "audit_log": ("admin",), "person": ("admin",),
               # follow-up (issue 12): the liaison's own work, notices and action, with its forms
               "my_work": ("liaison",), "notices": ("liaison",), "action": ("liaison", "committee_A"),
               **{name: ("admin",) for name in ("admin_home", "admin_area", "admin_committee", "admin_organisations",
                                                "admin_organisation", "admin_users", "admin_user")}}
# Pages in another state than the world's live meeting: the ended meeting's hall screen and tablet.
STATES = {"room_screen": ("live", "ended"), "room_tablet": ("live", "ended")}
SHOTS = Path(os.environ.get("FORUM_AXE_SHOTS", "")) if os.environ.get("FORUM_AXE_SHOTS") else None


# GET routes that are no page: data, a download, a redirect, an htmx fragment.
NOT_PAGES = {"vote_result_json", "minutes_md", "lang", "vote_shared_tablet", "room_household_search",
             "slip", "person_export", "action_photo",
             # open data: JSON
             "api_openapi", "api_areas", "api_issues", "api_issue", "api_meetings", "api_meeting", "api_votes",
             "api_vote", "api_actions",
             # open data: CSV downloads
             "issues_csv", "meetings_csv", "attendance_csv", "actions_csv", "community_ics", "series_ics",
             # reports: downloads
             "quarter_report_docx", "quarter_report_csv", "minutes_docx"}


def pages() -> list:
    out = []
    for endpoint in app_world.endpoints():
        if "GET" in endpoint.methods and not endpoint.mount and endpoint.name not in NOT_PAGES:
            for state in STATES.get(endpoint.name, ("live",)):
                out.append(pytest.param(endpoint, state, id=f"{endpoint.name}-{state}"))
    return out


@pytest.fixture(scope="module")
def world(databases, _demo_template) -> app_world.World:
    return app_world.build(databases, _demo_template)


@pytest.fixture(scope="module")
def base(world) -> str:
    """The world served by uvicorn on a free loopback port (GET pages only: nothing changes it)."""
    engine = database.make_engine(world.url)
    app = create_app(app_world.settings(world.url), engine=engine)
    with serving(app) as url:
        yield url
    engine.dispose()


def call_for(endpoint: Endpoint, world: app_world.World, state: str) -> Call:
    call = CALLS[endpoint.name](world.scopes["A"], world, None)
    if state == "ended":
        call.path["id"] = world.scopes["A"].ended_meeting_id
    if endpoint.name == "join":
        call.query = None  # with a code, it sends the tablet on to its meeting's page
    return call


@pytest.mark.parametrize(("endpoint", "state"), pages())
def test_every_page_has_no_serious_accessibility_violation(browser, world, base, endpoint, state):
    assert endpoint.name in CALLS, f"page {endpoint.name!r} has no entry in app_world.CALLS: say how to open it"
    call = call_for(endpoint, world, state)
    address = base + url(endpoint, call) + ("?" + "&".join(f"{k}={v}" for k, v in call.query.items())
                                            if call.query else "")
    checked, problems = [], []
    for role in LOOKERS + OWN_LOOKERS.get(endpoint.name, ()):
        context = browser.new_context(viewport=TABLET, has_touch=True, locale="zh-CN")
        try:
            context.add_cookies([{"name": k, "value": v, "url": base} for k, v in world.cookies[role].items()])
            page = context.new_page()
            response = page.goto(address, wait_until="load")
            landed = page.url.split("?")[0] == address.split("?")[0]
            # Pages only: not JSON, Markdown or htmx fragments; and not the sign-in page a refusal shows.
            if not (response and "text/html" in response.headers.get("content-type", "")) or not landed:
                continue
            checked.append(role)
            problems += [f"{role}: {v}" for v in axe_serious(page)]
            if SHOTS:
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"{endpoint.name}-{state}-{role}.png"), full_page=True)
        finally:
            context.close()
    assert checked, f"{endpoint.name}: no role could open it as a page at {address}"
    assert not problems, "\n".join(problems)



def test_the_slips_print_sheet_has_no_serious_accessibility_violation(browser, world, base):
    """The A4 sheet of household slips is a POST's answer, not a GET page: a facilitator prints a
    unit's slips through the form. (It withdraws that unit's earlier slips in this module's world,
    which no page above reads: the pages above run first, and /slip is no page.)"""
    s = world.scopes["A"]
    context = browser.new_context(viewport=TABLET, has_touch=True, locale="zh-CN")
    try:
        context.add_cookies([{"name": k, "value": v, "url": base} for k, v in world.cookies["facilitator_A"].items()])
        page = context.new_page()
        page.goto(f"{base}/c/{s.slug}/slips", wait_until="load")
        page.select_option("select[name=building]", world.buildings["A"])
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="打印凭条").click()
        assert page.locator(".slip").count() >= 1, page.content()[:2000]
        if SHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "slips-print-facilitator_A.png"), full_page=True)
        assert not axe_serious(page)
    finally:
        context.close()

"""The demo's lift vote in headless Chromium: a tablet that typed a flat is refused the owners'
ballot, then its resident enters the household slip staff printed, is verified, and is counted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from forum import verification
from forum.models import Area, Household
from tests.conftest import TABLET, axe_serious
from tests.room_pages import LAPTOP, SHOTS, join_code, join_tablet, sign_in
from tests.test_browser_votes import assert_button_ballot, t
from tests.test_votes import lift_meeting, registered_owner

pytestmark = pytest.mark.browser


def test_an_unverified_tablet_is_refused_in_the_lift_vote_then_verified_by_slip_and_counted(
        live_server, open_page, demo_engine):
    base = live_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with Session(demo_engine) as db:
        meeting, entry = lift_meeting(db)
        slug = db.get(Area, meeting.community_id).slug
        flat = db.exec(select(Household).where(Household.community_id == meeting.community_id,
                                               Household.building == "5", Household.unit == "2",
                                               Household.room == "201")).one()
        owner = registered_owner(db, flat.id)
    question = "是否同意5栋2单元加装电梯？"

    console = open_page(LAPTOP)
    sign_in(console, base, "facilitator")
    console.goto(f"{base}/meetings/{meeting.id}/run")
    console.get_by_role("button", name=t("Start the meeting")).click()
    code = join_code(console)
    console.screenshot(path=str(SHOTS / "verify-console.png"), full_page=True)

    # The lift, as the law has it: an owners' major matter of the unit's twelve households.
    form = {"agenda_entry": str(entry.id), "question": question, "kind": "for_against", "options": "",
            "scope": "unit", "scope_building": "5", "scope_unit": "2", "counting_unit": "household",
            "weighting": "both", "rule": "owners_major", "closing": "facilitator", "closes_at": "",
            "results_while_open": "on"}
    created = console.request.post(f"{base}/meetings/{meeting.id}/votes", form=form, max_redirects=0)
    assert created.status == 303, created.text()
    vote_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert console.request.post(f"{base}/votes/{vote_id}/open", max_redirects=0).status == 303

    # Staff print the unit's slips (an A4 sheet); the one for 5-2-201 goes to its owner.
    console.goto(f"{base}/c/{slug}/slips")
    console.get_by_label(t("Building")).select_option("5")
    console.get_by_label(t("Unit (empty: every unit of the building)")).fill("2")
    console.get_by_role("button", name=t("Print the slips")).click()
    expect(console.locator(".slip")).to_have_count(10)  # twelve units, two of them the developer's
    console.screenshot(path=str(SHOTS / "verify-slips-sheet.png"), full_page=True)
    slip = console.locator(".slip", has_text="5-2-201")
    expect(slip).to_contain_text(owner.name)
    slip_code = slip.locator(".code").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{5} [2-9A-Z]{5}", slip_code)

    # A device without the code is asked for it, next to the slip form, and shown nobody's name.
    stranger = open_page(TABLET, has_touch=True)
    stranger.goto(f"{base}/meetings/{meeting.id}/tablet")
    expect(stranger.locator("#f-code")).to_be_visible()
    expect(stranger.locator("main")).not_to_contain_text(owner.name)
    assert axe_serious(stranger) == []
    stranger.screenshot(path=str(SHOTS / "verify-tablet-no-code.png"), full_page=True)

    # On her tablet the resident types her name and flat: she takes part, but is not verified.
    tablet = join_tablet(open_page, base, code, owner.name, ("5", "2", "201"))
    assert_button_ballot(tablet, question, ["赞成", "反对", "弃权"])
    tablet.get_by_role("group", name=question).get_by_role("button", name="赞成", exact=True).tap()
    expect(tablet.get_by_role("alert")).to_have_text(t(verification.UNVERIFIED))
    tablet.screenshot(path=str(SHOTS / "verify-tablet-refused.png"), full_page=True)
    body = console.request.get(f"{base}/votes/{vote_id}/result.json").json()
    assert body["ballots"] == 0

    # She enters the code on her household's slip: verified, and her ballot counts.
    tablet.get_by_text(t("Verify with a household slip"), exact=True).click()
    tablet.get_by_label(t("Slip code (10 letters and digits)")).fill(slip_code)
    tablet.get_by_role("button", name=t("Verify"), exact=True).click()
    expect(tablet.locator(".verified-badge")).to_contain_text("5-2-201")
    assert axe_serious(tablet) == []
    tablet.screenshot(path=str(SHOTS / "verify-tablet-verified.png"), full_page=True)
    tablet.get_by_role("group", name=question).get_by_role("button", name="赞成", exact=True).tap()
    expect(tablet.get_by_role("status").filter(has_text=t("Your ballot is counted. Thank you."))).to_be_visible()
    body = console.request.get(f"{base}/votes/{vote_id}/result.json").json()
    assert body["ballots"] == 1
    assert {x["key"]: x["heads"] for x in body["result"]["totals"]}["for"] == 1

    # The console shows her as verified by slip.
    console.goto(f"{base}/meetings/{meeting.id}/run")
    row = console.locator("#room-attendance li", has_text=owner.name)
    expect(row.locator(".verified-badge")).to_be_visible()
    console.screenshot(path=str(SHOTS / "verify-console-after.png"), full_page=True)
    console.goto(f"{base}/votes/{vote_id}")
    # The shared tablet is offered for nobody: she has voted, and nobody else is verified here.
    expect(console.locator("#f-shared-tablet-voter option")).to_have_count(1)  # only "Choose…"
    console.screenshot(path=str(SHOTS / "verify-vote-page.png"), full_page=True)

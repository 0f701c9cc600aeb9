"""Forum's pages under its own Content-Security-Policy in headless Chromium: nothing is blocked,
the moved scripts still work, and the live room still connects and updates over its socket.

These contexts keep the policy (bypass_csp=False), unlike the other browser tests (see conftest),
so they wait with Playwright's locators, never with wait_for_function (which needs eval)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import TABLET
from tests.room_pages import LAPTOP, SCREEN, sign_in
from tests.test_browser_room import room  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

SHOTS = "/tmp/shots"
# Every policy violation the page reports, and every console error, from the first script on.
WATCH_POLICY = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture
def strict_page(open_page):
    pages = []

    def make(viewport: dict, **options):
        page = open_page(viewport, bypass_csp=False, **options)
        page.add_init_script(WATCH_POLICY)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pages.append((page, errors))
        return page

    yield make
    for page, errors in pages:
        if not page.is_closed():
            violations = page.evaluate("window.__csp || []")
            assert violations == [], f"{page.url}: {violations}"
        assert not [e for e in errors if "Content Security Policy" in e], errors


def test_the_live_room_works_under_the_policy(live_server, strict_page, room):  # noqa: F811
    console = strict_page(LAPTOP)
    sign_in(console, live_server, "facilitator")
    console.goto(f"{live_server}/meetings/{room['id']}/run")
    start = console.locator('#room-status form[action$="/run/start"] button')
    if start.count():
        start.click()
    expect(console.locator("#room-status .meeting-live")).to_be_visible()
    expect(console.locator("[data-room-link]").first).to_be_visible(timeout=10000)  # the socket is open
    screen = strict_page(SCREEN)
    screen.goto(f"{live_server}/meetings/{room['id']}/screen")
    expect(screen.locator("#room-status .room-qr svg")).to_be_visible()
    expect(screen.locator("#room-entry .entry-title")).to_have_text(room["titles"][0])
    # A push over the socket: the console moves to the next entry, the screen follows.
    console.locator('form[action$="/run/next"] button').first.click()
    expect(screen.locator("#room-entry .entry-title")).to_have_text(room["titles"][1], timeout=10000)
    # The count-down ticks: room.js runs (a static file, allowed by script-src 'self').
    timer = screen.locator("#room-entry [data-deadline]").first
    expect(timer).to_be_visible()
    expect(timer).not_to_have_text(timer.inner_text(), timeout=5000)
    console.screenshot(path=f"{SHOTS}/csp-console.png", full_page=True)
    screen.screenshot(path=f"{SHOTS}/csp-screen.png")
    tablet = strict_page(TABLET, has_touch=True)
    tablet.goto(f"{live_server}/join")
    expect(tablet.locator("#f-code")).to_be_visible()


@pytest.fixture
def ended_meeting(demo_engine) -> int:
    from sqlmodel import Session, select

    from forum.models import Meeting, MeetingStatus

    with Session(demo_engine) as db:
        return db.exec(select(Meeting.id).where(Meeting.status == MeetingStatus.ended)).first()


def test_ordinary_pages_and_their_scripts_under_the_policy(live_server, strict_page, ended_meeting):
    page = strict_page(LAPTOP)
    sign_in(page, live_server, "facilitator")
    page.goto(f"{live_server}/c/jiaochangkou/series/new")
    # The cadence presets (static/forum.js, once inline): picking "monthly" fills its rule.
    page.locator("#f-cadence").select_option("monthly")
    expect(page.locator("#f-rrule")).to_have_value("FREQ=MONTHLY;BYDAY=1TH")
    page.locator("#f-rrule").fill("FREQ=WEEKLY;BYDAY=FR")
    page.locator("#f-cadence").select_option("quarterly")
    expect(page.locator("#f-rrule")).to_have_value("FREQ=WEEKLY;BYDAY=FR")  # the facilitator's own rule stays
    page.screenshot(path=f"{SHOTS}/csp-series-new.png", full_page=True)
    # The issue list filters with htmx (hx-trigger), no eval needed.
    page.goto(f"{live_server}/c/jiaochangkou/issues")
    page.get_by_label("分类").select_option("lift")
    expect(page).to_have_url(re.compile(r"category=lift"), timeout=5000)
    expect(page.locator(".issue-row").first).to_contain_text("电梯")
    # The minutes' print button (once an onclick): window.print is called by static/forum.js.
    page.add_init_script("window.print = () => { document.title = 'printed'; };")
    page.goto(f"{live_server}/meetings/{ended_meeting}/minutes")
    page.locator("button[data-print]").click()
    expect(page).to_have_title("printed")
    page.screenshot(path=f"{SHOTS}/csp-minutes.png")


def test_the_ended_hall_screen_passes_axe(live_server, open_page, ended_meeting):
    """Its "查看会议记录" link was #1f5fa8 on the screen's dark panel (2.48:1)."""
    from tests.conftest import axe_serious

    screen = open_page(SCREEN)
    screen.goto(f"{live_server}/meetings/{ended_meeting}/screen")
    expect(screen.locator("#room-entry a[href$='/minutes']")).to_be_visible()
    screen.screenshot(path=f"{SHOTS}/ended-screen.png")
    assert axe_serious(screen) == []

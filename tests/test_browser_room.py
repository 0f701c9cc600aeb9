"""The live room in headless Chromium: a facilitator's console, residents' tablets and the hall's
screen, each in its own browser context, kept in step over their websockets."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from forum.models import AgendaEntry, Issue, Meeting, MeetingStatus, User
from tests.conftest import TABLET, axe_serious
from tests.room_pages import (
    LAPTOP,
    PUSH_MS,
    SCREEN,
    SHOTS,
    assert_not_reloaded,
    join_code,
    join_tablet,
    mark,
    open_screen,
    sign_in,
    wait_listening,
)

pytestmark = pytest.mark.browser

RECOVER_MS = 15000

# ---------------------------------------------------------------- the meeting and the pages


@pytest.fixture
def room(demo_engine) -> dict:
    """A coming meeting of the demo facilitator's own community, with at least two agenda entries."""
    with Session(demo_engine) as db:
        facilitator = db.exec(select(User).where(User.username == "facilitator")).one()
        meetings = db.exec(select(Meeting).where(Meeting.community_id == facilitator.community_id,
                                                 Meeting.status != MeetingStatus.ended)
                           .order_by(Meeting.starts_at)).all()
        for meeting in meetings:
            entries = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)
                              .order_by(AgendaEntry.position, AgendaEntry.id)).all()
            if len(entries) >= 2:
                titles = [db.get(Issue, e.issue_id).title for e in entries]
                return {"id": meeting.id, "titles": titles}
    raise AssertionError("the demo data has no coming meeting with two agenda entries for the facilitator")


def open_console(open_page, base: str, meeting_id: int):
    console = open_page(LAPTOP)
    sign_in(console, base, "facilitator")
    console.goto(f"{base}/meetings/{meeting_id}/run")
    # The room as it stands arrives over the socket and replaces #room-status: a click on the
    # start button before that may land on the button being replaced, and be lost.
    wait_listening(console)
    start = console.locator('#room-status form[action$="/run/start"] button')
    if start.count():
        start.click()
    expect(console.locator("#room-status .meeting-live")).to_be_visible()
    wait_listening(console)
    return console


def entry_title(page):
    return page.locator("#room-entry .entry-title")


# ---------------------------------------------------------------- the tests


def test_console_tablets_and_screen_stay_in_step(live_server, open_page, room):
    titles = room["titles"]
    console = open_console(open_page, live_server, room["id"])
    code = join_code(console)
    first = join_tablet(open_page, live_server, code, "李秀英", ("5", "2", "301"))
    second = join_tablet(open_page, live_server, code, "张建国")
    screen = open_screen(open_page, live_server, room["id"])
    tablets = (first, second)
    everyone = (console, *tablets, screen)

    # Starting put the first entry under discussion; everyone sees it, and both tablets were counted.
    for page in everyone:
        expect(entry_title(page)).to_have_text(titles[0])
    for page in (*tablets, screen):
        expect(page.locator("#room-status .room-count-n")).to_have_text("2", timeout=PUSH_MS)
    mark(*everyone)

    # The facilitator moves on: the tablets and the screen follow without a reload.
    console.locator('#room-entry form[action$="/run/next"] button').click()
    expect(entry_title(console)).to_have_text(titles[1])
    for page in (*tablets, screen):
        expect(entry_title(page)).to_have_text(titles[1], timeout=PUSH_MS)
        expect(page.locator("#room-entry .entry-number")).to_have_text(re.compile(rf"^\D*2\D+{len(titles)}\D"))
    for page in tablets:
        expect(page.locator("#room-agenda li[aria-current=step]")).to_contain_text(titles[1], timeout=PUSH_MS)
    console_agenda_current = console.locator("#room-agenda li[aria-current=step]")
    expect(console_agenda_current).to_contain_text(titles[1])

    # A resident raises a hand: the console's queue shows the name, with a button to give the floor.
    first.locator('[data-hand="up"] button').click()
    expect(first.locator("[data-my-place]")).to_contain_text("1")
    expect(first.locator('[data-hand="up"]')).to_be_hidden()
    expect(first.locator('[data-hand="down"]')).to_be_visible()
    queued = console.locator("#room-queue .queue-list li").filter(has_text="李秀英")
    expect(queued).to_have_count(1, timeout=PUSH_MS)
    expect(queued.locator('form[action$="/run/floor"] button')).to_be_visible()
    # The other tablet and the screen see the queue too; only the resident's own tablet marks it as theirs.
    expect(second.locator("#room-queue .queue-name")).to_have_text(["李秀英"], timeout=PUSH_MS)
    expect(screen.locator("#room-queue .queue-name")).to_have_text(["李秀英"], timeout=PUSH_MS)
    expect(first.locator("#room-queue li.mine")).to_have_count(1)
    expect(second.locator("#room-queue .mine")).to_have_count(0)
    expect(second.locator('[data-hand="up"]')).to_be_visible()

    # The facilitator gives the floor: every device shows who is speaking, the speaker's tablet says so.
    queued.locator('form[action$="/run/floor"] button').click()
    expect(console.locator("#room-queue .speaker .speaker-name")).to_have_text("李秀英")
    for page in (*tablets, screen):
        expect(page.locator("#room-queue .speaker .speaker-name")).to_have_text("李秀英", timeout=PUSH_MS)
        expect(page.locator("#room-queue .queue-list")).to_have_count(0)
    expect(screen.locator("#room-queue .speaker-home")).to_have_text("5-2-301")
    expect(first.locator("#room-queue .speaker.mine")).to_be_visible()
    expect(second.locator("#room-queue .speaker.mine")).to_have_count(0)
    speaking_text = first.locator("[data-my-place]").get_attribute("data-text-speaking")
    expect(first.locator("[data-my-place]")).to_have_text(speaking_text)
    expect(first.locator('[data-hand="up"]')).to_be_hidden()
    expect(first.locator('[data-hand="down"]')).to_be_hidden()
    expect(screen.locator("#room-queue .speaker .timer")).to_have_text(re.compile(r"^-?\d\d:\d\d$"))
    assert_not_reloaded(*everyone)

    # For a person to look at: each device as it is now, and a tablet in large-text mode.
    SHOTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(SHOTS / "room-console.png"), full_page=True)
    first.screenshot(path=str(SHOTS / "room-tablet.png"), full_page=True)
    screen.screenshot(path=str(SHOTS / "room-screen.png"))
    large = second.locator("[data-large-text]")
    large.click()
    expect(second.locator("html")).to_have_class(re.compile(r"\broom-large\b"))
    expect(large).to_have_attribute("aria-pressed", "true")
    second.screenshot(path=str(SHOTS / "room-tablet-large.png"), full_page=True)


def test_the_console_is_not_pushed_again_what_its_own_button_changed(live_server, app, open_page, room):
    # Its action's reply brought the changed parts; the push to the hall leaves its socket out.
    console = open_console(open_page, live_server, room["id"])
    screen = open_screen(open_page, live_server, room["id"])
    name = console.locator("[data-page]").get_attribute("data-page")
    deadline = time.monotonic() + PUSH_MS / 1000
    while name not in app.state.hub.rooms[room["id"]].pages.values():  # the page told its socket who it is
        assert time.monotonic() < deadline, "the console never named itself to its socket"
        time.sleep(0.05)
    console.wait_for_timeout(500)  # whatever starting pushed has arrived
    heard = console.evaluate("window.__ws.messages")
    console.locator('#room-entry form[action$="/run/next"] button').click()
    expect(entry_title(console)).to_have_text(room["titles"][1])
    expect(entry_title(screen)).to_have_text(room["titles"][1], timeout=PUSH_MS)
    console.wait_for_timeout(500)  # had the push been sent to the console too, it would be here by now
    assert console.evaluate("window.__ws.messages") == heard
    assert_not_reloaded(console)


def test_a_push_held_up_on_its_way_does_not_undo_the_consoles_own_change(live_server, app, open_page, room):
    # The room as it was reaches the console late, after the reply to its "next": the push of
    # "next" must then still come to it, and put it right.
    open_console(open_page, live_server, room["id"])  # the meeting is live
    console = open_page(LAPTOP)
    sign_in(console, live_server, "facilitator")
    held, routes = [], []

    def hold_back(ws) -> None:
        routes.append(ws)
        ws.connect_to_server().on_message(lambda message: held.append(message))  # to the server: as ever

    console.route_web_socket(re.compile(r"/ws\?audience=console"), hold_back)
    console.goto(f"{live_server}/meetings/{room['id']}/run")
    name = console.locator("[data-page]").get_attribute("data-page")
    deadline = time.monotonic() + PUSH_MS / 1000
    while name not in app.state.hub.rooms[room["id"]].pages.values() or not held:
        assert time.monotonic() < deadline, "the console never named itself to its socket"
        console.wait_for_timeout(50)
    console.locator('#room-entry form[action$="/run/next"] button').click()
    expect(entry_title(console)).to_have_text(room["titles"][1])  # the reply
    while len(held) < 2:  # the room as it was, and the push of "next"
        assert time.monotonic() < deadline + PUSH_MS / 1000, f"{len(held)} message(s) for the console"
        console.wait_for_timeout(50)
    for message in held:
        routes[0].send(message)
    console.wait_for_function("document.querySelector('[data-page]')._swapped === 2", timeout=PUSH_MS)
    expect(entry_title(console)).to_have_text(room["titles"][1])


def drop_socket(tablet, how: str, app, meeting_id: int) -> None:
    """Cut the tablet's room socket. Chromium's offline mode fails new connections but leaves an open
    websocket alone, so the socket is closed as a dropped link would close it: by the page
    (no close code, 1005) or by the server (1012, as in a restart)."""
    if how == "page":
        tablet.evaluate("document.querySelector('[hx-ws\\\\:connect]')._htmx.ws.connection.socket.close()")
        return
    hub = app.state.hub

    async def close() -> int:
        sends = [send for (audience, _language), subscribers in hub.rooms[meeting_id].subscribers.items()
                 if audience == "tablet" for send in subscribers]
        for send in sends:
            await send({"type": "websocket.close", "code": 1012})
        return len(sends)

    assert asyncio.run_coroutine_threadsafe(close(), hub.loop).result(5) == 1


@pytest.mark.parametrize("how", ["page", "server"])
def test_a_dropped_tablet_catches_up_when_it_reconnects(live_server, app, open_page, room, how):
    titles = room["titles"]
    console = open_console(open_page, live_server, room["id"])
    tablet = join_tablet(open_page, live_server, join_code(console), "李秀英")
    expect(entry_title(tablet)).to_have_text(titles[0])
    count = tablet.locator("#room-status .room-count-n")
    expect(count).to_have_text("1")
    expect(tablet.locator("[data-room-offline]")).to_be_hidden()
    mark(tablet)

    # The hall's wifi drops the tablet: its socket closes and it cannot connect again for now.
    tablet.context.set_offline(True)
    drop_socket(tablet, how, app, room["id"])
    tablet.wait_for_function("window.__ws.closed >= 2", timeout=PUSH_MS)  # the drop, then a failed retry
    opened = tablet.evaluate("window.__ws.open")

    # Meanwhile the facilitator moves on and checks someone in at the desk.
    console.locator('#room-entry form[action$="/run/next"] button').click()
    expect(entry_title(console)).to_have_text(titles[1])
    console.locator(".room-checkin details summary").click()
    console.locator("#f-g-name").fill("王大爷")
    console.locator('form.guest-form button').click()
    expect(console.locator("#room-attendance")).to_contain_text("王大爷")
    # The screen of a device that is offline stays as it was, and says that it may be out of date ...
    expect(entry_title(tablet)).to_have_text(titles[0])
    expect(count).to_have_text("1")
    expect(tablet.locator("[data-room-offline]")).to_be_visible()

    # ... until it is back: it reconnects by itself and shows the room as it is now, without a reload.
    tablet.context.set_offline(False)
    expect(entry_title(tablet)).to_have_text(titles[1], timeout=RECOVER_MS)
    expect(count).to_have_text("2")
    expect(tablet.locator("#room-agenda li[aria-current=step]")).to_contain_text(titles[1])
    expect(tablet.locator("[data-room-offline]")).to_be_hidden()
    assert tablet.evaluate("window.__ws.open") > opened
    assert_not_reloaded(tablet)

    # And it is listening again: the next change is pushed to it as before.
    console.locator('#room-entry form[action$="/run/previous"] button').click()
    expect(entry_title(tablet)).to_have_text(titles[0], timeout=PUSH_MS)
    tablet.locator('[data-hand="up"] button').click()
    expect(console.locator("#room-queue .queue-name")).to_have_text(["李秀英"], timeout=PUSH_MS)
    assert_not_reloaded(tablet)


def test_tablet_and_screen_have_no_serious_accessibility_violations(live_server, open_page, room):
    console = open_console(open_page, live_server, room["id"])
    code = join_code(console)
    screen = open_screen(open_page, live_server, room["id"])
    tablet = join_tablet(open_page, live_server, code, "李秀英", ("5", "2", "301"))
    other = join_tablet(open_page, live_server, code, "张建国")
    assert axe_serious(tablet) == []
    assert axe_serious(screen) == []
    # The way in: the code form, and the tablet's name form.
    arriving = open_page(TABLET, has_touch=True)
    arriving.goto(f"{live_server}/join")
    assert axe_serious(arriving) == []
    arriving.goto(f"{live_server}/join?code={code}")
    expect(arriving.locator("#f-name")).to_be_visible()
    assert axe_serious(arriving) == []

    # With a speaker and a queue, and the tablet in large-text mode.
    tablet.locator('[data-hand="up"] button').click()
    other.locator('[data-hand="up"] button').click()
    queued = console.locator("#room-queue .queue-list li")
    expect(queued).to_have_count(2, timeout=PUSH_MS)
    queued.first.locator('form[action$="/run/floor"] button').click()
    expect(screen.locator("#room-queue .speaker .speaker-name")).to_have_text("李秀英", timeout=PUSH_MS)
    expect(screen.locator("#room-queue .queue-name")).to_have_text(["张建国"])
    expect(tablet.locator("#room-queue .speaker.mine")).to_be_visible(timeout=PUSH_MS)
    expect(other.locator("#room-queue li.mine")).to_have_count(1, timeout=PUSH_MS)
    tablet.locator("[data-large-text]").click()
    expect(tablet.locator("html")).to_have_class(re.compile(r"\broom-large\b"))
    for page in (tablet, other, screen):
        assert axe_serious(page) == [], page.url


def test_a_room_page_connects_when_the_websocket_extension_loads_late(live_server, open_page, room):
    # htmx starts on a timer once its own deferred script has run; an extension script still on its
    # way then is registered too late for the page's first processing (static/room.js makes up for it).
    screen = open_page(SCREEN)

    def late(route):
        time.sleep(0.5)
        route.continue_()

    screen.context.route("**/hx-ws.min.js", late)
    screen.goto(f"{live_server}/meetings/{room['id']}/screen")
    wait_listening(screen)
    expect(screen.locator("#room-entry .entry-title")).to_be_visible()


SECONDS_LEFT = """sel => {
    const m = document.querySelector(sel).textContent.trim().match(/^(-?)(\\d+):(\\d\\d)$/);
    return (m[1] ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}"""


def test_a_reconnected_tablet_counts_down_with_the_console(live_server, app, open_page, room):
    # What a page gets on connecting is the room as it is now, its count-down too: not a copy
    # of what an earlier connection got (the timer's server clock would be that copy's age off).
    console = open_console(open_page, live_server, room["id"])
    tablet = join_tablet(open_page, live_server, join_code(console), "李秀英")
    timer = "#room-entry .timer"
    at_join = console.evaluate(SECONDS_LEFT, timer)
    console.wait_for_function(f"left => ({SECONDS_LEFT})('{timer}') <= left", arg=at_join - 4, timeout=8000)
    mark(tablet)
    drop_socket(tablet, "page", app, room["id"])
    tablet.wait_for_function("window.__ws.open >= 2 && window.__ws.messages >= 2", timeout=RECOVER_MS)
    on_console, on_tablet = console.evaluate(SECONDS_LEFT, timer), tablet.evaluate(SECONDS_LEFT, timer)
    assert abs(on_console - on_tablet) <= 1, (on_console, on_tablet)
    assert_not_reloaded(tablet)

"""Shared steps of the browser tests: signing in, and the live room's pages as devices open them.

Each device is a page in a browser context of its own (``open_page`` in conftest), with
``WATCH_SOCKET`` counting its socket's events, so a test can wait until a page listens before it
acts, and tell a push (no reload) from a new page by a marker that a reload would drop.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import TABLET

LAPTOP = {"width": 1366, "height": 900}
SCREEN = {"width": 1920, "height": 1080}
SHOTS = Path("/tmp/shots")  # screenshots for a person to look at; nothing asserts on them
PUSH_MS = 10000  # a push arrives within the hub's flush interval (0.2 s); generous for a loaded machine

WATCH_SOCKET = """
window.__ws = {open: 0, closed: 0, messages: 0};
document.addEventListener("htmx:ws:after:connection", () => { window.__ws.open += 1; });
document.addEventListener("htmx:ws:close", () => { window.__ws.closed += 1; });
document.addEventListener("htmx:ws:after:message:incoming", () => { window.__ws.messages += 1; });
"""


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def mark(*pages) -> None:
    """A marker each page keeps only as long as it is not reloaded."""
    for page in pages:
        page.evaluate("window.__marker = 1")


def assert_not_reloaded(*pages) -> None:
    for page in pages:
        assert page.evaluate("window.__marker") == 1, f"{page.url} was reloaded"


def wait_listening(page) -> None:
    """Until the page's socket is open and the room's state as it is now has arrived over it;
    then the page is marked (see ``assert_not_reloaded``)."""
    try:
        page.wait_for_function("window.__ws && window.__ws.open >= 1 && window.__ws.messages >= 1", timeout=PUSH_MS)
    except Exception:
        raise AssertionError(f"{page.url} is not listening: {page.evaluate('window.__ws')}") from None
    mark(page)


def join_code(console) -> str:
    """The code as the hall reads it off the console (ten digits in groups of 3, 3 and 4)."""
    shown = console.locator("#room-status .room-code").inner_text()
    assert re.fullmatch(r"\d{3} \d{3} \d{4}", shown.strip()), shown
    return re.sub(r"\s+", "", shown)


def join_on(tablet, base: str, code: str, name: str, home: tuple[str, str, str] = ("", "", "")) -> None:
    """On ``tablet``: the code from the wall, then name (and home, if given), until checked in."""
    tablet.goto(f"{base}/join")
    tablet.locator("#f-code").fill(code)
    tablet.locator('form[action$="/join"] button').click()
    tablet.wait_for_url(re.compile(r"/meetings/\d+/tablet$"))
    tablet.locator("#f-name").fill(name)
    for field, value in zip(("building", "unit", "room"), home, strict=True):
        tablet.locator(f"#f-{field}").fill(value)
    tablet.locator('form[action$="/tablet/join"] button').click()
    expect(tablet.locator(".tablet-me")).to_contain_text(name)
    tablet.wait_for_selector('meta[name="room-attendance"]', state="attached")


def join_tablet(open_page, base: str, code: str, name: str, home: tuple[str, str, str] = ("", "", "")):
    """A resident's own tablet, joined and listening."""
    tablet = open_page(TABLET, has_touch=True)
    join_on(tablet, base, code, name, home)
    wait_listening(tablet)
    return tablet


def open_screen(open_page, base: str, meeting_id: int):
    screen = open_page(SCREEN)
    screen.goto(f"{base}/meetings/{meeting_id}/screen")
    wait_listening(screen)
    return screen

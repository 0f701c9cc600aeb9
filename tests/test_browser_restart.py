"""A server restart in the middle of a meeting: the tablet reconnects by itself within 5 s,
shows the current state, and nothing recorded is lost; the facilitator stays signed in. And a
link that goes silent without closing: the tablet says it is offline, then catches up.

The server runs as ``forum serve`` in its own process over a SQLite file, as in production,
so that it can really be killed and started again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlmodel import Session, select

from forum import db as database
from forum.bench import harness
from forum.models import AgendaEntry, Attendance, Issue, Meeting
from tests.room_pages import join_on

pytestmark = [pytest.mark.usefixtures("browser"), pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HEARTBEAT = 1  # seconds; production's 20 would make the silent-link test wait 40 s


def _serve(url: str, port: int) -> subprocess.Popen:
    env = os.environ | {"FORUM_DATABASE_URL": url, "FORUM_SECRET_KEY": "", "FORUM_HEARTBEAT_SECONDS": str(HEARTBEAT)}
    return subprocess.Popen([sys.executable, "-c", "from forum.cli import main; main()", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_until_up(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode(errors="replace")[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("forum serve did not start")


@pytest.fixture
def served(database_url):
    """A demo database served by ``forum serve``; yields (url, port, meeting id, restart)."""
    url = database_url
    meeting_id = harness.seed(url)
    port = _free_port()
    processes = [_serve(url, port)]
    _wait_until_up(port, processes[-1])

    def restart() -> None:
        processes[-1].send_signal(signal.SIGKILL)  # no goodbye to anyone: a crash, not a shutdown
        processes[-1].wait(10)
        processes.append(_serve(url, port))
        _wait_until_up(port, processes[-1])

    yield url, port, meeting_id, restart, processes
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.terminate()
            p.wait(10)


def _titles(url: str, meeting_id: int) -> list[str]:
    engine = database.make_engine(url)
    with Session(engine) as db:
        rows = db.exec(select(Issue.title).join(AgendaEntry, AgendaEntry.issue_id == Issue.id)
                       .where(AgendaEntry.meeting_id == meeting_id).order_by(AgendaEntry.position)).all()
    engine.dispose()
    return list(rows)


def test_tablets_are_back_in_step_within_5_s_of_a_restart(served, browser):
    url, port, meeting_id, restart, _processes = served
    base = f"http://127.0.0.1:{port}"
    titles = _titles(url, meeting_id)
    assert len(titles) >= 2
    context = browser.new_context(viewport={"width": 820, "height": 1180}, locale="zh-CN")
    tablet = context.new_page()
    with httpx.Client(base_url=base) as staff:
        assert staff.post("/login", data={"username": "facilitator", "password": "demo1234"}).status_code == 303
        assert staff.post(f"/meetings/{meeting_id}/run/start").status_code == 303  # the first entry is current
        engine = database.make_engine(url)
        with Session(engine) as db:
            code = db.get(Meeting, meeting_id).join_code
        join_on(tablet, base, code, "王建国")
        tablet.wait_for_function("t => document.querySelector('#room-entry .entry-title').innerText.includes(t)",
                                 arg=titles[0])
        tablet.evaluate("window.__notReloaded = true")

        restart()
        back_at = time.monotonic()
        # Still signed in after the restart (the session key is the installation's, not the process's).
        moved = staff.post(f"/meetings/{meeting_id}/run/next", follow_redirects=False)
        assert moved.status_code == 303 and "/login" not in moved.headers["location"]
        tablet.wait_for_function("t => document.querySelector('#room-entry .entry-title').innerText.includes(t)",
                                 arg=titles[1], timeout=5000)
        assert time.monotonic() - back_at < 5
        assert tablet.evaluate("window.__notReloaded === true"), "the tablet reloaded instead of reconnecting"
        with Session(engine) as db:  # nothing recorded is lost
            assert db.exec(select(Attendance).where(Attendance.meeting_id == meeting_id,
                                                    Attendance.name == "王建国")).one()
            assert db.get(Meeting, meeting_id).status == "live"
        engine.dispose()
    context.close()


def test_a_tablet_whose_link_goes_silent_says_so_and_catches_up(served, browser):
    """The server stops answering without closing anything (as when the wifi drops): after two
    heartbeats of silence the tablet shows it is offline; when the server answers again the tablet
    reconnects by itself, without reloading, and shows what changed meanwhile."""
    url, port, meeting_id, _restart, processes = served
    base = f"http://127.0.0.1:{port}"
    titles = _titles(url, meeting_id)
    context = browser.new_context(viewport={"width": 820, "height": 1180}, locale="zh-CN")
    tablet = context.new_page()
    offline = tablet.locator("[data-room-offline]")
    with httpx.Client(base_url=base) as staff:
        assert staff.post("/login", data={"username": "facilitator", "password": "demo1234"}).status_code == 303
        assert staff.post(f"/meetings/{meeting_id}/run/start").status_code == 303
        engine = database.make_engine(url)
        with Session(engine) as db:
            code = db.get(Meeting, meeting_id).join_code
        engine.dispose()
        join_on(tablet, base, code, "李秀英")
        tablet.wait_for_function("t => document.querySelector('#room-entry .entry-title').innerText.includes(t)",
                                 arg=titles[0])
        tablet.evaluate("window.__notReloaded = true")
        time.sleep(3 * HEARTBEAT)
        assert offline.is_hidden()  # the beats keep a quiet room "live"

        processes[-1].send_signal(signal.SIGSTOP)  # silent: no close, no error, nothing
        try:
            offline.wait_for(state="visible", timeout=(2 * HEARTBEAT + 4) * 1000)
        finally:
            processes[-1].send_signal(signal.SIGCONT)
        moved = staff.post(f"/meetings/{meeting_id}/run/next", follow_redirects=False)
        assert moved.status_code == 303
        tablet.wait_for_function("t => document.querySelector('#room-entry .entry-title').innerText.includes(t)",
                                 arg=titles[1], timeout=10000)
        offline.wait_for(state="hidden", timeout=5000)
        assert tablet.evaluate("window.__notReloaded === true"), "the tablet reloaded instead of reconnecting"
    context.close()

"""The live room's push channel: each change reaches every open page, rendered once for all of them."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import anyio
import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from forum import live, parts
from forum.app import create_app
from forum.models import AgendaEntry, Attendance, Issue, IssueEvent, Meeting, MeetingStatus
from forum.web import templates
from tests.conftest import _settings as app_settings
from tests.conftest import sign_in


def receive(ws, timeout: float = 5.0) -> str:
    """The next message on a test websocket, failing (not hanging) when none comes."""

    async def get():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(get)
    assert message["type"] == "websocket.send", message
    return message["text"]


def receive_until(ws, needle: str, timeout: float = 5.0) -> str:
    """Messages until one contains ``needle`` (a push may be split over two coalesced flushes)."""
    seen = []
    for _ in range(10):
        text = receive(ws, timeout)
        seen.append(text)
        if needle in text:
            return text
    raise AssertionError(f"{needle!r} never arrived in {len(seen)} messages")


def ids(text: str) -> set[str]:
    return set(re.findall(r'hx-target="#(room-[a-z]+)"', text))


def new_hub(app, **options) -> live.Hub:
    """A hub of its own over the app's database, parts and routes, as create_app builds one."""
    return live.Hub(app.state.engine, parts.PARTS, live.Renderer(app.url_path_for, templates.env), **options)


def join_tablet(app, meeting_id: int, name: str = "李秀英", **home: str) -> TestClient:
    client = TestClient(app)
    client.__enter__()
    with Session(client.app.state.engine) as db:
        code = db.get(Meeting, meeting_id).join_code
    response = client.post(f"/meetings/{meeting_id}/tablet/join", data={"name": name, "code": code, **home},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def current_entry(engine, meeting_id: int) -> AgendaEntry:
    with Session(engine) as db:
        meeting = db.get(Meeting, meeting_id)
        return db.get(AgendaEntry, meeting.current_entry_id)


# ---------------------------------------------------------------- connect and resync


def test_a_console_gets_every_part_on_connect(facilitator, live_meeting):
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console") as ws:
        text = receive(ws)
    assert ids(text) >= {"room-status", "room-entry", "room-agenda", "room-queue", "room-attendance", "room-comments"}
    assert 'hx-swap="outerHTML"' in text


def test_tablets_and_screen_get_their_parts_only(client, live_meeting):
    with client.websocket_connect(f"/meetings/{live_meeting}/ws?audience=tablet") as ws:
        tablet = ids(receive(ws))
    with client.websocket_connect(f"/meetings/{live_meeting}/ws?audience=screen") as ws:
        screen = ids(receive(ws))
    assert {"room-entry", "room-queue", "room-status"} <= tablet
    assert "room-attendance" not in tablet and "room-comments" not in tablet
    assert "room-attendance" not in screen and "room-agenda" not in screen


def test_a_new_connection_gets_the_state_as_it_is_now(facilitator, live_meeting, demo_engine):
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=tablet") as ws:
        receive(ws)
    facilitator.post(f"/meetings/{live_meeting}/run/next")
    entry = current_entry(demo_engine, live_meeting)
    with Session(demo_engine) as db:
        title = db.get(Issue, entry.issue_id).title
    # Reconnecting (say after a restart) brings the tablet back in step at once.
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=tablet") as ws:
        text = receive(ws)
    entry_part = text.split('hx-target="#room-entry"')[1].split("</hx-partial>")[0]
    assert title in entry_part


def test_the_acting_console_is_not_sent_its_own_change_again(app, facilitator, live_meeting):
    """The console that pressed "next" has the changed parts from its action's reply: the push
    leaves its socket out (another console still gets it), and later pushes reach it as before."""
    hub = app.state.hub
    page = "console-one-page"
    url = f"/meetings/{live_meeting}/ws?audience=console"
    with facilitator.websocket_connect(url) as acting, facilitator.websocket_connect(url) as other:
        receive(acting), receive(other)
        acting.send_text(json.dumps({"page": page}))
        wait_until(lambda: page in hub.rooms[live_meeting].pages.values())
        # It had taken in the one message its socket was sent (the room as it was).
        response = facilitator.post(f"/meetings/{live_meeting}/run/next",
                                    headers={"HX-Request": "true", live.PAGE_HEADER: f"{page} 1"})
        assert ids(response.text) == {"room-agenda", "room-entry", "room-queue"}
        assert {"room-agenda", "room-entry", "room-queue"} <= ids(receive_until(other, "room-entry"))
        # Someone else's change afterwards: the acting console hears that, and nothing before it.
        tablet = join_tablet(app, live_meeting)
        try:
            tablet.post(f"/meetings/{live_meeting}/tablet/hand", data={"up": "1"})
        finally:
            tablet.__exit__(None, None, None)
        later = receive(acting)
        assert "room-entry" not in ids(later) and ids(later) & {"room-queue", "room-attendance", "room-status"}
        # Its next action without its name (a form posted without htmx): the push is its too.
        facilitator.post(f"/meetings/{live_meeting}/run/previous")
        assert "room-entry" in ids(receive_until(acting, "room-entry"))
        receive_until(other, "room-entry")


def test_a_console_not_sure_to_have_everything_gets_its_own_change_pushed(app, facilitator, live_meeting):
    """A page that had not taken in all its socket was sent when it acted could swap an older push
    in after the action's reply: it gets the push of its own change as everyone does."""
    hub = app.state.hub
    page = "console-two-page"
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console") as acting:
        receive(acting)
        acting.send_text(json.dumps({"page": page}))
        wait_until(lambda: page in hub.rooms[live_meeting].pages.values())
        facilitator.post(f"/meetings/{live_meeting}/run/next", headers={"HX-Request": "true",
                                                                        live.PAGE_HEADER: f"{page} 0"})
        assert "room-entry" in ids(receive(acting))


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_a_console_socket_needs_a_facilitator(client, committee_member, live_meeting):
    for who in (client, committee_member):
        with pytest.raises(WebSocketDisconnect) as refused:
            with who.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console"):
                pass
        assert refused.value.code == 1008


def test_no_socket_for_a_meeting_that_does_not_exist(client):
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/meetings/999999/ws"):
            pass


# ---------------------------------------------------------------- each change is pushed


def test_advancing_the_agenda_is_pushed(facilitator, live_meeting, demo_engine):
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=tablet") as ws:
        receive(ws)
        facilitator.post(f"/meetings/{live_meeting}/run/next")
        text = receive(ws)
    entry = current_entry(demo_engine, live_meeting)
    with Session(demo_engine) as db:
        issue = db.get(Issue, entry.issue_id)
    assert {"room-agenda", "room-entry"} <= ids(text)
    assert issue.title in text and 'data-deadline="' in text
    assert entry.position == 2


def test_a_raised_hand_is_pushed_to_console_and_tablets(app, facilitator, live_meeting):
    tablet = join_tablet(app, live_meeting, "张大爷")
    try:
        with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console") as console, \
                tablet.websocket_connect(f"/meetings/{live_meeting}/ws?audience=tablet") as pad:
            receive(console), receive(pad)
            assert tablet.post(f"/meetings/{live_meeting}/tablet/hand", data={"up": "1"},
                               follow_redirects=False).status_code == 303
            console_text, pad_text = receive_until(console, "张大爷"), receive_until(pad, "张大爷")
        with Session(app.state.engine) as db:
            me = db.exec(select(Attendance).where(Attendance.meeting_id == live_meeting,
                                                  Attendance.name == "张大爷")).one()
        # The console gets the facilitator's buttons for the hand; the tablets only see the queue.
        assert f'data-attendance="{me.id}"' in pad_text and "/run/floor" in console_text
        assert "/run/floor" not in pad_text
    finally:
        tablet.__exit__(None, None, None)


def test_a_decision_is_pushed_and_moves_the_issue(facilitator, live_meeting, demo_engine):
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=screen") as ws:
        receive(ws)
        facilitator.post(f"/meetings/{live_meeting}/run/decision", data={"decision": "物业下周一前报价，业主大会表决"})
        text = receive(ws)
    assert "物业下周一前报价" in text
    entry = current_entry(demo_engine, live_meeting)
    with Session(demo_engine) as db:
        assert db.get(Issue, entry.issue_id).status in ("decided", "in_progress", "resolved", "reviewed")


def test_a_comment_is_pushed_to_the_console(app, facilitator, live_meeting):
    tablet = join_tablet(app, live_meeting, "王阿姨")
    try:
        with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console") as ws:
            receive(ws)
            tablet.post(f"/meetings/{live_meeting}/tablet/comment", data={"text": "晚上十点后请小声"})
            text = receive_until(ws, "晚上十点后请小声")
        assert "room-comments" in ids(text) and "王阿姨" in text
    finally:
        tablet.__exit__(None, None, None)


def test_a_check_in_is_pushed_with_the_count(facilitator, live_meeting):
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console") as ws:
        receive(ws)
        facilitator.post(f"/meetings/{live_meeting}/run/checkin", data={"name": "赵老师"})
        text = receive_until(ws, "赵老师")
    assert {"room-attendance", "room-status"} <= ids(text)
    assert re.search(r'room-count-n">1<', text)


# ---------------------------------------------------------------- the hub itself


def run_loop(main) -> None:
    """Run ``main()`` on a fresh event loop in its own thread (browser tests may hold this one's)."""
    errors = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as e:  # re-raised in the test's thread
            errors.append(e)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]


class FakeSocket:
    """Stands for a page's ASGI send, which is what the hub keeps of a subscriber."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._arrived: asyncio.Event | None = None

    async def __call__(self, event: dict) -> None:
        self.sent.append(event["text"])
        if self._arrived is not None:
            self._arrived.set()

    async def wait_for(self, n: int, timeout: float = 5.0) -> None:
        """Until ``n`` messages have arrived; the timeout only stops a broken hub hanging the test."""
        self._arrived = self._arrived or asyncio.Event()
        async with asyncio.timeout(timeout):
            while len(self.sent) < n:
                self._arrived.clear()
                await self._arrived.wait()


async def settled(hub: live.Hub, meeting_id: int, timeout: float = 5.0) -> None:
    """Until no push of the meeting is waiting to go out (the last one has been sent)."""
    async with asyncio.timeout(timeout):
        while (room := hub.rooms.get(meeting_id)) is not None and (room.scheduled or room.pending or room.everything):
            await asyncio.sleep(0.01)


def _push(app, meeting_id: int, subscribers: int, *parts: str, bursts: int = 1) -> tuple[int, int, list[FakeSocket]]:
    """Attach fake tablets, announce changes, and count renders and database queries."""
    hub = new_hub(app, interval=0.05)
    sockets = [FakeSocket() for _ in range(subscribers)]
    queries = []

    def count(*_args) -> None:
        queries.append(1)

    async def run() -> None:
        hub.bind()
        room = hub.rooms.setdefault(meeting_id, live.Room())
        room.subscribers[("tablet", "zh-Hans")] = set(sockets)
        for _ in range(bursts):
            hub.changed(meeting_id, *parts)
        await sockets[-1].wait_for(1)
        await settled(hub, meeting_id)

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        run_loop(run)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)
    return hub.renderer.renders, len(queries), sockets


def test_a_push_to_many_tablets_renders_once(app, live_meeting):
    renders_1, queries_1, _ = _push(app, live_meeting, 1, "queue", "entry")
    renders_50, queries_50, sockets = _push(app, live_meeting, 50, "queue", "entry")
    assert renders_50 == renders_1 == 2  # one per changed part, not per tablet
    assert queries_50 == queries_1
    assert all(s.sent == sockets[0].sent for s in sockets) and len(sockets[0].sent) == 1


def test_a_burst_of_changes_is_merged(app, live_meeting):
    _renders, _queries, sockets = _push(app, live_meeting, 3, "queue", bursts=40)
    assert 1 <= len(sockets[0].sent) <= 2


def test_changed_from_a_worker_thread_reaches_the_loop(app, live_meeting):
    hub = new_hub(app, interval=0.01)
    socket = FakeSocket()

    async def run() -> None:
        hub.bind()
        hub.rooms.setdefault(live_meeting, live.Room()).subscribers[("screen", "en")] = {socket}
        await asyncio.to_thread(hub.changed, live_meeting, "entry")
        await socket.wait_for(1)
        await settled(hub, live_meeting)

    run_loop(run)
    assert len(socket.sent) == 1 and "room-entry" in socket.sent[0]


def test_a_part_another_page_changed_too_goes_to_the_acting_page(app, live_meeting):
    """Pending changes merge: a part one page changed is skipped for it only while nobody else
    changed it before the push went."""
    hub = new_hub(app, interval=0.05)
    acting, other = FakeSocket(), FakeSocket()

    async def run() -> None:
        hub.bind()
        room = hub.rooms.setdefault(live_meeting, live.Room())
        room.subscribers[("console", "zh-Hans")] = {acting, other}
        room.pages[acting], room.sent[acting] = "page-of-acting", 3
        hub.changed(live_meeting, "entry", "queue", page=("page-of-acting", 3))
        hub.changed(live_meeting, "queue")  # a tablet's hand, before the push went
        await other.wait_for(1)
        await settled(hub, live_meeting)

    run_loop(run)
    assert ids(other.sent[0]) == {"room-entry", "room-queue"}
    assert [ids(text) for text in acting.sent] == [{"room-queue"}]
    assert hub.rooms[live_meeting].sent[acting] == 4  # what its next action must say it has taken in
    # Rendered once for both: the acting page's message is the other's without its own part.
    assert acting.sent[0] in other.sent[0]


def test_a_page_sent_something_after_it_acted_gets_its_own_change_pushed(app, live_meeting):
    """An earlier push that went to the acting page after it acted could land after its reply."""
    hub = new_hub(app, interval=0.05)
    acting = FakeSocket()

    async def run() -> None:
        hub.bind()
        room = hub.rooms.setdefault(live_meeting, live.Room())
        room.subscribers[("console", "zh-Hans")] = {acting}
        room.pages[acting], room.sent[acting] = "page-of-acting", 3
        hub.changed(live_meeting, "entry", page=("page-of-acting", 3))
        room.sent[acting] += 1  # as a push already under way when it acted would count
        await acting.wait_for(1)
        await settled(hub, live_meeting)

    run_loop(run)
    assert [ids(text) for text in acting.sent] == [{"room-entry"}]


def test_a_part_added_to_the_table_is_pushed(demo_engine, live_meeting):
    probe = parts.Part("probe", "_partials/room_status.html", lambda db, meeting: {"count": 7, "qr": str},
                       audiences=("screen",))
    app = create_app(app_settings(), engine=demo_engine, room_parts={**parts.PARTS, "probe": probe})
    with TestClient(app) as client, client.websocket_connect(f"/meetings/{live_meeting}/ws?audience=screen") as ws:
        text = receive(ws)
    assert 'hx-target="#room-probe"' in text
    with pytest.raises(ValueError):
        parts.Part("bad", "x.html", lambda db, meeting: {}, audiences=("kitchen",))


def test_changed_without_a_running_hub_is_harmless(app, live_meeting):
    hub = new_hub(app)
    room = hub.rooms.setdefault(live_meeting, live.Room())
    hub.changed(live_meeting, "queue")  # no loop bound yet: nothing to do, no error
    assert (room.version, room.pending, room.scheduled) == (0, set(), False)

    async def bound_then_ended() -> None:
        hub.bind()
        hub.unbind()

    run_loop(bound_then_ended)  # a lifespan came and went: its loop is gone, and no push is left on it
    assert hub.loop is None
    hub.changed(live_meeting, "queue")
    assert (room.version, room.pending, room.scheduled) == (0, set(), False)


def test_ended_meeting_pushes_the_end(facilitator, live_meeting, demo_engine):
    with facilitator.websocket_connect(f"/meetings/{live_meeting}/ws?audience=tablet") as ws:
        receive(ws)
        facilitator.post(f"/meetings/{live_meeting}/run/end")
        text = receive(ws)
    with Session(demo_engine) as db:
        assert db.get(Meeting, live_meeting).status == MeetingStatus.ended
    assert "room-entry" in ids(text)


def test_a_quiet_room_hears_the_heartbeat_and_each_page_is_told_its_beat(demo_engine, meeting_id):
    from forum.app import create_app
    from forum.settings import Settings

    settings = Settings(database_url="sqlite://", secret_key="test", language="zh-Hans", heartbeat_seconds=0.2)
    with TestClient(create_app(settings, engine=demo_engine)) as client:
        page = client.get(f"/meetings/{meeting_id}/screen").text
        assert 'data-heartbeat="0.2"' in page
        with client.websocket_connect(f"/meetings/{meeting_id}/ws?audience=screen") as ws:
            assert "room-entry" in receive(ws)  # the room as it is
            assert receive(ws, timeout=2) == live.HEARTBEAT  # then, with nothing changing, the beat
            assert receive(ws, timeout=2) == live.HEARTBEAT


# ---------------------------------------------------------------- several lifespans on one app


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_a_second_client_shares_the_hub_and_leaving_does_not_take_it_away(app, meeting_id):
    """Two clients on one app each run a lifespan on a loop of their own (as tests do): the hub
    stays on the first one's loop, pushes from either reach pages on either, and the second one
    ending leaves the first one's pages still pushed to."""
    hub = app.state.hub
    first = TestClient(app)
    first.__enter__()
    try:
        sign_in(first, "facilitator")
        live_meeting = meeting_id
        assert first.post(f"/meetings/{live_meeting}/run/start", follow_redirects=False).status_code == 303
        first_loop = first.portal.call(_running_loop)
        assert hub.loop is first_loop
        with TestClient(app) as second:
            assert hub.loop is first_loop  # not taken over by the second lifespan
            with first.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console") as console, \
                    second.websocket_connect(f"/meetings/{live_meeting}/ws?audience=screen") as screen:
                receive(console), receive(screen)
                assert first.post(f"/meetings/{live_meeting}/run/checkin", data={"name": "钱先生"},
                                  follow_redirects=False).status_code == 303
                assert "钱先生" in receive_until(console, "钱先生", timeout=2)
                assert "room-status" in ids(receive_until(screen, "room-status", timeout=2))
        assert hub.loop is first_loop
        with first.websocket_connect(f"/meetings/{live_meeting}/ws?audience=console") as console:
            receive(console)
            first.post(f"/meetings/{live_meeting}/run/checkin", data={"name": "孙女士"}, follow_redirects=False)
            assert "孙女士" in receive_until(console, "孙女士", timeout=2)
    finally:
        first.__exit__(None, None, None)
    assert hub.loop is None  # the last lifespan has ended: nothing is bound to a closed loop


def test_the_ballot_box_thread_ends_with_the_lifespan(app):
    box = app.state.ballot_box
    with TestClient(app) as client:
        response = client.post("/votes/999999/cast", data={"choice": "for"})
        assert response.status_code == 404  # answered by the box's thread: no such vote
        thread = box._thread
        assert thread is not None and thread.is_alive()
    assert not thread.is_alive() and box._thread is None


# ---------------------------------------------------------------- what a push costs


def test_pages_connecting_at_once_share_one_render_of_the_room(app, live_meeting):
    # A hall of tablets reconnecting together (after a restart) costs one render of the room, not one per tablet.
    hub = new_hub(app)
    tablet_parts = len(hub.parts_for("tablet"))
    results = []

    async def run() -> None:
        hub.bind()
        room = hub.rooms.setdefault(live_meeting, live.Room())
        results.extend(await asyncio.gather(*(hub.full_state(live_meeting, room, ("tablet", "zh-Hans"))
                                              for _ in range(20))))

    run_loop(run)
    assert hub.renderer.renders == tablet_parts
    assert len(set(results)) == 1 and ids(results[0][1]) == {f"room-{p.name}" for p in hub.parts_for("tablet")}


def test_a_push_of_parts_that_read_the_same_rows_reads_them_once(app, live_meeting):
    statements = []

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(app.state.engine, "before_cursor_execute", note)
    try:
        _push(app, live_meeting, 2, "entry", "agenda", "vote", "votecount")
    finally:
        event.remove(app.state.engine, "before_cursor_execute", note)
    agendas = [s for s in statements if s.startswith("SELECT agendaentry.") and "agendaentry.meeting_id =" in s]
    actions = [s for s in statements if s.startswith("SELECT action.") and "action.issue_id =" in s]
    current_votes = [s for s in statements if s.startswith("SELECT vote.") and "FROM vote" in s]
    assert len(agendas) == 1  # the entry's number and the agenda: one read of the agenda
    assert len(actions) == 1  # the entry's history and its follow-up actions: one read of the issue's actions
    assert len(current_votes) == len({*current_votes})  # the vote and its count: one context


def test_a_push_reads_the_communitys_owners_only_when_the_history_shows_an_actions_line(app, live_meeting):
    """The tablet's history unnames an action's owner (forum.owner_privacy); other lines name nobody,
    so an item without such a line costs its push no read of committees, organisations or owners."""
    owner_reads = ("SELECT committee.name", "SELECT organisation.name", "SELECT person.name",
                   'SELECT "user".display_name', "SELECT user.display_name")

    def push_statements() -> list[str]:
        statements = []

        def note(_conn, _cursor, statement, *_args) -> None:
            statements.append(" ".join(statement.split()))

        event.listen(app.state.engine, "before_cursor_execute", note)
        try:
            _push(app, live_meeting, 1, "entry")
        finally:
            event.remove(app.state.engine, "before_cursor_execute", note)
        return [s for s in statements if s.startswith(owner_reads)]

    engine = app.state.engine
    entry = current_entry(engine, live_meeting)
    with Session(engine) as db:
        for e in db.exec(select(IssueEvent).where(IssueEvent.issue_id == entry.issue_id,
                                                  col(IssueEvent.action).startswith("action_"))):
            db.delete(e)
        db.commit()
    assert push_statements() == []
    with Session(engine) as db:
        status = db.get(Issue, entry.issue_id).status
        db.add(IssueEvent(issue_id=entry.issue_id, actor="主持人", action="action_create", from_status=status,
                          to_status=status, note="清理排烟管道 — 陈国富 · 2026-05-01"))
        db.commit()
    assert len(push_statements()) == 4


def test_renders_run_a_few_at_a_time(app, live_meeting):
    # Renders hold the interpreter's lock and a database connection: many rooms changing at once
    # queue for a few threads instead of taking every thread and connection of the process.
    hub = new_hub(app, interval=0.01)
    running, most = [0], [0]
    lock = threading.Lock()
    real = hub.rendered

    def rendered(*args):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # a slow render, so that renders overlap if nothing stops them
            return real(*args)
        finally:
            with lock:
                running[0] -= 1

    hub.rendered = rendered
    meetings = 12
    sockets = [FakeSocket() for _ in range(meetings)]

    async def run() -> None:
        hub.bind()
        for k, socket in enumerate(sockets):  # as many rooms (of no meeting: only the renders count)
            hub.rooms[live_meeting + 1000 * (k + 1)] = room = live.Room()
            room.subscribers[("tablet", "zh-Hans")] = {socket}
        for k in range(meetings):
            hub._mark(live_meeting + 1000 * (k + 1), ("queue",))
        async with asyncio.timeout(20):
            while any(r.scheduled or r.flushing for r in hub.rooms.values()):
                await asyncio.sleep(0.01)

    run_loop(run)
    assert 1 < most[0] <= live.RENDERS_AT_ONCE


def test_pushes_go_straight_to_the_servers_send_not_through_the_middlewares_wrappers(app, meeting_id):
    """The middlewares wrap a socket's send for HTTP's sake only; a push to a hall of tablets skips
    them all (live.KeepServerSend), and still reaches the page."""
    given: list = []

    async def server(scope, receive, send):  # what a server hands the application: its own send
        if scope["type"] == "websocket":
            given.append(send)
        await app(scope, receive, send)

    hub = app.state.hub
    # One client, so the page and the hub share one loop (a page on another loop is sent to through a relay).
    with TestClient(server) as client:
        sign_in(client, "facilitator").post(f"/meetings/{meeting_id}/run/start", follow_redirects=False)
        with client.websocket_connect(f"/meetings/{meeting_id}/ws?audience=tablet") as ws:
            receive(ws)  # the room as it stands; the page is subscribed once it is sent
            sockets = hub.rooms[meeting_id].subscribers[("tablet", "zh-Hans")]
            assert sockets == set(given) and len(given) == 1
            hub.changed(meeting_id, "agenda")
            assert ids(receive(ws)) == {"room-agenda"}


def test_a_push_reads_outside_any_transaction(app, live_meeting):
    """A push only reads, and each of its statements sees what was committed when it began either
    way: a transaction around them costs PostgreSQL two round trips (BEGIN, ROLLBACK) and nothing else."""
    inside: list[bool] = []

    def note(conn, *_args) -> None:
        dbapi = conn.connection.dbapi_connection
        info = getattr(dbapi, "info", None)  # psycopg's; sqlite3 says it by in_transaction
        inside.append(info.transaction_status != 0 if info is not None else dbapi.in_transaction)

    event.listen(app.state.engine, "after_cursor_execute", note)
    try:
        _push(app, live_meeting, 2, "entry", "agenda", "queue")
    finally:
        event.remove(app.state.engine, "after_cursor_execute", note)
    assert inside and not any(inside)


def test_the_hubs_reads_find_what_is_kept_per_database(app):
    """A secret vote's ballots wait in the urn of the app's engine (forum.secrecy) until written:
    the hub's reads are bound to that very engine, or a push would show the turnout without them."""
    from forum import live_render, secrecy

    engine = app.state.engine
    with live_render.reading(engine) as db:
        assert db.get_bind() is engine
        assert secrecy.urn_of(db) is secrecy.urn_of(engine)


def test_after_the_hubs_reads_the_pool_gives_transactions_again(app):
    """The hub's sessions run without a transaction on PostgreSQL; the connection they used goes
    back to the pool as it was, so a view that takes it next still writes all or nothing."""
    from sqlalchemy import text

    from forum import live_render

    engine = app.state.engine
    for _ in range(3):  # more than once: the same pooled connection, taken again
        with live_render.reading(engine) as db:
            db.execute(text("select 1"))
    with engine.connect() as connection:
        dbapi = connection.connection.dbapi_connection
        assert getattr(dbapi, "autocommit", False) is False
        assert connection.get_isolation_level() != "AUTOCOMMIT"

"""The live room's changes between processes (forum.broadcast), over a fake Redis: what crosses,
what is dropped, and how a process comes back in step after Redis was away. Two hubs in one
process stand for two processes; tests/test_workers.py runs the real thing."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from forum import broadcast, live
from forum.broadcast import Notice, RedisBroadcast
from forum.settings import Settings
from tests.test_live import FakeSocket, ids, new_hub, run_loop, settled, wait_until

CHANNEL = "forum-test"


# ---------------------------------------------------------------- a Redis in memory


class FakeRedis:
    """Pub/sub as Redis does it: a message reaches whoever is subscribed when it is published, and
    nobody else; when the server goes away every connection breaks and nothing is kept."""

    def __init__(self) -> None:
        self.up = True
        self.subscribed: set[FakePubSub] = set()
        self.published: list[tuple[str, str]] = []
        self.refused = 0  # publications refused
        self.refuse_publishing = False  # what a publisher meets while its own connection is still broken

    def client(self) -> FakeClient:
        return FakeClient(self)

    def drop(self) -> None:
        self.up = False
        for pubsub in list(self.subscribed):
            pubsub.queue.put_nowait(None)  # the connection ends under the reader
        self.subscribed.clear()

    def check(self) -> None:
        if not self.up:
            raise ConnectionError("Connection refused")


class FakeClient:
    def __init__(self, server: FakeRedis) -> None:
        self.server = server

    async def publish(self, channel: str, data: str) -> int:
        if not self.server.up or self.server.refuse_publishing:
            self.server.refused += 1
            raise ConnectionError("Connection refused")
        self.server.published.append((channel, data))
        listeners = [p for p in self.server.subscribed if channel in p.channels]
        for pubsub in listeners:
            pubsub.queue.put_nowait({"type": "message", "channel": channel, "data": data.encode()})
        return len(listeners)

    def pubsub(self) -> FakePubSub:
        return FakePubSub(self.server)

    async def aclose(self) -> None:
        pass


class FakePubSub:
    def __init__(self, server: FakeRedis) -> None:
        self.server = server
        self.channels: set[str] = set()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.pings = 0
        self.silent = False  # a link that died without a word: nothing comes back

    async def subscribe(self, channel: str) -> None:
        self.server.check()
        self.channels.add(channel)
        self.server.subscribed.add(self)
        self.queue.put_nowait({"type": "subscribe", "channel": channel, "data": 1})

    async def get_message(self, timeout: float | None = None):
        try:
            message = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        if message is None:
            raise ConnectionError("Connection closed by server.")
        return message

    async def ping(self) -> None:
        self.server.check()
        self.pings += 1
        if not self.silent:
            self.queue.put_nowait({"type": "pong", "data": b""})

    async def aclose(self) -> None:
        self.server.subscribed.discard(self)


class Heard:
    """What a broadcast delivered to its process, and how often it asked for a resync."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.resyncs = 0
        self._changed = asyncio.Condition()

    def deliver(self, notice: Notice) -> None:
        self.notices.append(notice)
        asyncio.get_running_loop().create_task(self._wake())

    def resync(self) -> None:
        self.resyncs += 1
        asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)


def process(server: FakeRedis) -> RedisBroadcast:
    return RedisBroadcast("redis://fake", CHANNEL, client_factory=server.client)


async def started(server: FakeRedis) -> tuple[RedisBroadcast, Heard]:
    bus, heard = process(server), Heard()
    await bus.start(heard.deliver, heard.resync)
    await heard.until(lambda: heard.resyncs == 1)  # subscribed
    return bus, heard


# ---------------------------------------------------------------- notices on the wire


def test_a_notice_crosses_whole_and_anything_else_is_dropped():
    notice = Notice(7, ("queue", "entry"), ("page-of-acting", 3))
    assert broadcast.decode(notice.encode("p1")) == ("p1", notice)
    assert broadcast.decode(Notice(7).encode("p1")) == ("p1", Notice(7, (), None))
    for wrong in ("", "not json", "[]", '{"from":"p","m":"7","p":[],"g":null}', '{"from":"p","m":true,"p":[],"g":null}',
                  '{"from":"p","m":7,"p":"queue","g":null}', '{"from":"p","m":7,"p":[1],"g":null}',
                  '{"from":"p","m":7,"p":[],"g":["x"]}', '{"from":"p","m":7,"p":[],"g":["x","3"]}',
                  '{"from":1,"m":7,"p":[],"g":null}', '{"m":7,"p":[],"g":null}',
                  '{"from":"p","m":7,"p":["' + "x" * broadcast.MAX_NOTICE_BYTES + '"],"g":null}'):
        assert broadcast.decode(wrong) is None, wrong


def test_without_a_url_there_is_nobody_else_to_tell():
    assert type(broadcast.make("")) is broadcast.Broadcast
    bus = broadcast.make("redis://127.0.0.1:6379/0", "elsewhere")
    assert isinstance(bus, RedisBroadcast) and bus.channel == "elsewhere"


def test_a_notice_reaches_every_other_process_and_not_its_own():
    async def main() -> None:
        server = FakeRedis()
        (one, heard_one), (two, heard_two) = await started(server), await started(server)
        one.publish(Notice(5, ("queue",), ("page-of-acting", 2)))
        await heard_two.until(lambda: len(heard_two.notices) == 1)
        two.publish(Notice(6))
        await heard_one.until(lambda: len(heard_one.notices) == 1)
        # Each heard only the other's; its own came back on the channel too, and was dropped.
        assert heard_two.notices == [Notice(5, ("queue",), ("page-of-acting", 2))]
        assert heard_one.notices == [Notice(6)]
        assert len(server.published) == 2
        await one.stop()
        await two.stop()

    run_loop(main)


def test_notices_lost_while_redis_is_away_become_a_resync_when_it_is_back():
    async def main() -> None:
        server = FakeRedis()
        (one, heard_one), (two, heard_two) = await started(server), await started(server)
        server.drop()
        for part in ("queue", "entry", "queue"):
            one.publish(Notice(9, (part,)))  # nobody can hear these
        one.publish(Notice(4, ("status",)))
        await heard_one.until(lambda: server.refused >= 1)
        server.up, server.refuse_publishing = True, True
        # The subscriptions come back, and each process re-renders every room it serves ...
        await heard_one.until(lambda: heard_one.resyncs == 2)
        await heard_two.until(lambda: heard_two.resyncs == 2)
        assert heard_two.notices == []
        # ... and the publisher, once it can, tells "everything changed" once for each meeting it
        # could not tell about.
        server.refuse_publishing = False
        await heard_two.until(lambda: len(heard_two.notices) == 2)
        assert heard_two.notices == [Notice(4), Notice(9)]
        await one.stop()
        await two.stop()

    run_loop(main)


def test_a_process_that_stops_tells_its_last_change_first():
    async def main() -> None:
        server = FakeRedis()
        (one, _heard_one), (two, heard_two) = await started(server), await started(server)
        one.publish(Notice(3, ("vote",)))
        await one.stop()  # at once, as a worker shutting down after closing a vote
        await heard_two.until(lambda: heard_two.notices == [Notice(3, ("vote",))])
        await two.stop()

    run_loop(main)


def test_a_link_that_goes_silent_is_taken_for_dead_and_subscribed_again(monkeypatch):
    monkeypatch.setattr(broadcast, "PING_SECONDS", 0.05)

    async def main() -> None:
        server = FakeRedis()
        bus, heard = await started(server)
        (first,) = server.subscribed
        first.silent = True  # pings go out, nothing comes back, and no error says so
        await heard.until(lambda: heard.resyncs == 2)
        assert first.pings >= 1 and first not in server.subscribed
        await bus.stop()

    run_loop(main)


def test_notices_waiting_past_the_bound_fold_into_one_resync_per_meeting(monkeypatch):
    monkeypatch.setattr(broadcast, "MAX_QUEUE", 3)

    async def main() -> None:
        server = FakeRedis()
        bus = process(server)
        bus._loop, bus._wake = asyncio.get_running_loop(), asyncio.Event()  # started, its publisher not yet running
        for meeting in (1, 2, 3, 4, 5, 4):
            bus.publish(Notice(meeting, ("queue",)))
        taken = bus._take()
        assert taken == [Notice(4), Notice(5)] + [Notice(m, ("queue",)) for m in (1, 2, 3)]

    run_loop(main)


# ---------------------------------------------------------------- two hubs, one Redis


def two_hubs(app, server: FakeRedis, interval: float = 0.05) -> tuple[live.Hub, live.Hub]:
    return (new_hub(app, interval=interval, broadcast=process(server)),
            new_hub(app, interval=interval, broadcast=process(server)))


async def open_hubs(*hubs: live.Hub) -> None:
    for hub in hubs:
        hub.bind()
        await hub.broadcast.start(hub.heard, hub.resync)
        while not hub.broadcast.subscriptions:
            await asyncio.sleep(0.01)


async def quiet(hub: live.Hub, meeting: int, changes: int) -> None:
    """Until the room has taken ``changes`` changes in and its last push has been sent."""
    async with asyncio.timeout(10):
        room = hub.rooms[meeting]
        while room.version < changes or room.scheduled or room.pending or room.everything or room.flushing:
            await asyncio.sleep(0.01)


def test_a_burst_in_one_process_is_rendered_once_and_merged_by_the_other(app, live_meeting):
    server = FakeRedis()
    interval = 0.1
    here, there = two_hubs(app, server, interval)
    tablets = [FakeSocket() for _ in range(20)]
    pushes: list[float] = []
    flush = there._flush

    async def timed_flush(meeting: int) -> None:
        pushes.append(asyncio.get_running_loop().time())
        await flush(meeting)

    there._flush = timed_flush

    async def main() -> None:
        await open_hubs(here, there)
        there.rooms.setdefault(live_meeting, live.Room()).subscribers[("tablet", "zh-Hans")] = set(tablets)
        for _ in range(30):
            await asyncio.to_thread(here.changed, live_meeting, "queue")
        await quiet(there, live_meeting, 30)
        await here.broadcast.stop()
        await there.broadcast.stop()

    run_loop(main)
    assert here.renderer.renders == 0  # nobody listens here
    # Thirty notices there: fewer pushes, each rendered once for all twenty tablets, at most one per interval.
    sent = tablets[0].sent
    assert 1 <= len(sent) < 30 and there.renderer.renders == len(sent) == len(pushes)
    assert all(t.sent == sent for t in tablets) and ids(sent[0]) == {"room-queue"}
    gaps = [b - a for a, b in zip(pushes, pushes[1:], strict=False)]
    assert all(gap >= interval * 0.99 for gap in gaps), gaps


def test_the_acting_console_on_another_process_is_left_out_of_its_own_change(app, live_meeting):
    """A console's socket on one process, its htmx action taken by another: the page travels with
    the notice, and the process holding its socket leaves it out as if the action had been its own."""
    server = FakeRedis()
    here, there = two_hubs(app, server)
    acting, other = FakeSocket(), FakeSocket()

    async def main() -> None:
        await open_hubs(here, there)
        room = there.rooms.setdefault(live_meeting, live.Room())
        room.subscribers[("console", "zh-Hans")] = {acting, other}
        room.pages[acting], room.sent[acting] = "page-of-acting", 3
        here.changed(live_meeting, "entry", "queue", page=("page-of-acting", 3))
        await other.wait_for(1)
        await settled(there, live_meeting)
        here.changed(live_meeting, "queue")  # someone else's change: the acting console hears it
        await acting.wait_for(1)
        await here.broadcast.stop()
        await there.broadcast.stop()

    run_loop(main)
    assert ids(other.sent[0]) == {"room-entry", "room-queue"}
    assert [ids(text) for text in acting.sent] == [{"room-queue"}]


def test_a_resync_sends_every_room_whole_to_every_page(app, live_meeting):
    hub = new_hub(app, interval=0.05)
    tablet, screen = FakeSocket(), FakeSocket()

    async def main() -> None:
        hub.bind()
        room = hub.rooms.setdefault(live_meeting, live.Room())
        room.subscribers[("tablet", "zh-Hans")] = {tablet}
        room.subscribers[("screen", "en")] = {screen}
        hub.resync()
        await tablet.wait_for(1)
        await screen.wait_for(1)
        await settled(hub, live_meeting)

    run_loop(main)
    assert ids(tablet.sent[0]) == {f"room-{p.name}" for p in hub.parts_for("tablet")}
    assert ids(screen.sent[0]) == {f"room-{p.name}" for p in hub.parts_for("screen")}


def test_the_app_hears_other_processes_for_as_long_as_it_runs(demo_engine, monkeypatch):
    """create_app gives the hub the broadcast its settings name, and the lifespan starts and stops it."""
    from starlette.testclient import TestClient

    from forum.app import create_app

    server = FakeRedis()
    monkeypatch.setattr(RedisBroadcast, "_client", lambda self: server.client())
    settings = Settings(database_url="sqlite://", secret_key="k", language="zh-Hans",
                        broadcast_url="redis://127.0.0.1:1/0", broadcast_channel=CHANNEL)
    app = create_app(settings, engine=demo_engine)
    bus = app.state.hub.broadcast
    assert isinstance(bus, RedisBroadcast) and bus.channel == CHANNEL
    with TestClient(app):
        wait_until(lambda: bool(server.subscribed))
    assert not server.subscribed  # stopped with the app


# ---------------------------------------------------------------- settings and serve --workers


def test_a_broadcast_url_must_be_a_redis_address():
    assert Settings.from_env({"FORUM_BROADCAST_URL": " redis://127.0.0.1:6379/0 "}).broadcast_url == \
        "redis://127.0.0.1:6379/0"
    assert Settings.from_env({}).broadcast_url == ""
    assert Settings.from_env({"FORUM_BROADCAST_CHANNEL": "district-7"}).broadcast_channel == "district-7"
    for wrong in ("http://127.0.0.1:6379", "redis://", "redis://host:99999", "127.0.0.1:6379"):
        with pytest.raises(ValueError, match="FORUM_BROADCAST_URL"):
            Settings.from_env({"FORUM_BROADCAST_URL": wrong})
    with pytest.raises(ValueError, match="FORUM_BROADCAST_CHANNEL"):
        Settings.from_env({"FORUM_BROADCAST_CHANNEL": "two words"})


@pytest.mark.parametrize(("workers", "env", "refused"), [
    ("2", {}, "needs FORUM_BROADCAST_URL"),
    ("0", {"FORUM_BROADCAST_URL": "redis://127.0.0.1:6379/0"}, "1 or more"),
    ("2", {"FORUM_BROADCAST_URL": "redis://127.0.0.1:6379/0", "RELOAD": "1"}, "--reload runs one worker"),
])
def test_serve_refuses_workers_it_cannot_keep_in_step(tmp_path, monkeypatch, workers, env, refused):
    from forum import cli, server

    started = []
    monkeypatch.setattr(server, "serve_workers", lambda *a, **k: started.append(a))
    monkeypatch.setattr(cli, "_serve", lambda *a, **k: started.append(a))
    args = ["serve", "--workers", workers] + (["--reload"] if env.pop("RELOAD", None) else [])
    result = CliRunner().invoke(cli.main, args, env={**os.environ, "FORUM_DATABASE_URL":
                                                     f"sqlite:///{tmp_path / 'forum.db'}", **env})
    assert result.exit_code != 0 and refused in result.output, result.output
    assert not started and not (tmp_path / "forum.db").exists()  # refused before touching anything


def test_serve_with_workers_and_a_broadcast_starts_them(tmp_path, monkeypatch):
    from forum import cli, server

    started = []
    monkeypatch.setattr(server, "serve_workers", lambda *a, **k: started.append(a))
    result = CliRunner().invoke(cli.main, ["serve", "--workers", "3", "--port", "8123"], env={
        **os.environ, "FORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'forum.db'}",
        "FORUM_BROADCAST_URL": "redis://127.0.0.1:6379/0"})
    assert result.exit_code == 0, result.output
    assert started == [("127.0.0.1", 8123, 3)]
    assert "SQLite" in result.output  # warned: PostgreSQL is the database for several workers


def test_serve_says_so_when_redis_does_not_answer_and_serves_anyway(tmp_path, monkeypatch):
    from forum import cli, server

    started = []
    monkeypatch.setattr(cli, "_serve", lambda *a, **k: started.append(a))
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = CliRunner().invoke(cli.main, ["serve"], env={
        **os.environ, "FORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'forum.db'}",
        "FORUM_BROADCAST_URL": f"redis://127.0.0.1:{port}/0"})
    assert result.exit_code == 0, result.output
    assert "Redis at FORUM_BROADCAST_URL does not answer" in result.output and len(started) == 1
    assert server.broadcast_warning("") is None

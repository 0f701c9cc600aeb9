"""A page that stops taking in pushes holds up nobody else (forum.live.Hub._send_now).

A server's send waits while a connection's buffers are full: a tablet whose wifi died without a
word, or a client that connects and never reads. Awaited in turn, one such page held up every push
and heartbeat to the whole hall until its connection timed out, and anyone able to open a tablet's
socket could do that at will. Now such a page is sent nothing more and, once it has taken in its
last message, is closed with 1013 so it reconnects to the room as it then stands.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time

from sqlmodel import Session
from websockets.sync.client import connect

from forum import live
from forum import room as room_rules
from forum.models import Meeting
from tests.test_live import FakeSocket, new_hub, run_loop, settled


class StalledSocket(FakeSocket):
    """A page's send that waits, as a server's does while the connection's buffers are full,
    until ``drain()``; what it was handed, and in which order, is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []
        self._writable: asyncio.Event | None = None

    async def __call__(self, event: dict) -> None:
        self._writable = self._writable or asyncio.Event()
        await self._writable.wait()
        self.events.append(event)

    def drain(self) -> None:
        assert self._writable is not None, "nothing was ever sent to it"
        self._writable.set()


class SlowOnceSocket(FakeSocket):
    """A send that waits once (a short burst of a slow network), then goes at once."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()
        self.events: list[dict] = []

    async def __call__(self, event: dict) -> None:
        if not self.events:
            await self.go.wait()
        self.events.append(event)


def test_a_page_that_stops_reading_holds_up_no_other_page(app, live_meeting):
    hub = new_hub(app, interval=0.01)
    readers = [FakeSocket() for _ in range(3)]
    stalled = StalledSocket()

    async def run() -> None:
        hub.bind()
        room = hub.rooms.setdefault(live_meeting, live.Room())
        tablets = room.subscribers[("tablet", "zh-Hans")] = {readers[0], stalled, readers[1], readers[2]}
        for n in (1, 2, 3):
            hub.changed(live_meeting, "queue")
            for reader in readers:
                await reader.wait_for(n)  # every other page has each push, however long the stalled one waits
            await settled(hub, live_meeting)
        assert stalled not in tablets  # still taking in the first push when the second came: sent nothing more
        assert stalled.events == []
        stalled.drain()
        async with asyncio.timeout(5):
            while len(stalled.events) < 2:
                await asyncio.sleep(0.01)
        # The one push it was handed, then the close that makes it reconnect: never anything out of order.
        assert stalled.events[0]["type"] == "websocket.send" and stalled.events[0]["text"] == readers[0].sent[0]
        assert stalled.events[1] == {"type": "websocket.close", "code": live.STALLED_CLOSE}
        assert hub._waiting == {}

    run_loop(run)


def test_a_page_that_catches_up_before_the_next_push_stays(app, live_meeting):
    hub = new_hub(app, interval=0.01)
    reader = FakeSocket()

    async def run() -> None:
        slow = SlowOnceSocket()
        hub.bind()
        room = hub.rooms.setdefault(live_meeting, live.Room())
        tablets = room.subscribers[("tablet", "zh-Hans")] = {slow, reader}
        hub.changed(live_meeting, "queue")
        await reader.wait_for(1)
        await settled(hub, live_meeting)
        slow.go.set()  # its network recovers before the next push
        async with asyncio.timeout(5):
            while hub._waiting:
                await asyncio.sleep(0.01)
        hub.changed(live_meeting, "queue")
        await reader.wait_for(2)
        await settled(hub, live_meeting)
        assert slow in tablets
        assert [e["type"] for e in slow.events] == ["websocket.send", "websocket.send"]  # not closed

    run_loop(run)


def _never_reading_client(base: str, path: str) -> socket.socket:
    """A websocket client that opens the room's socket, then reads nothing more."""
    host, port = base.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += client.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return client


def test_a_client_that_never_reads_holds_up_no_tablet(app, meeting_id, live_server):
    """Served by uvicorn: a socket opened by anyone who knows the meeting's address, then never
    read, while the room changes again and again; a tablet that reads has every change at once."""
    with Session(app.state.engine) as db:
        room_rules.start(db, db.get(Meeting, meeting_id), actor="测试")
        db.commit()
    hub = app.state.hub
    hub.interval = 0.0
    path = f"/meetings/{meeting_id}/ws?audience=tablet"
    silent = _never_reading_client(live_server, path)
    try:
        with connect("ws" + live_server.removeprefix("http") + path, max_size=None) as tablet:
            tablet.recv(timeout=5)  # the room as it stands
            started = time.monotonic()
            pushes = 0
            # Whole rooms, again and again: far more than the silent client's buffers hold.
            while pushes < 3000 and (pushes < 40 or hub.subscriber_count(meeting_id) > 1):
                hub.changed(meeting_id)
                tablet.recv(timeout=5)  # without the fix: the push loop waits on the silent client; this times out
                pushes += 1
            assert hub.subscriber_count(meeting_id) == 1, "the silent client never filled its buffers"
            hub.changed(meeting_id)
            tablet.recv(timeout=5)  # and the room goes on
            assert time.monotonic() - started < 60
    finally:
        silent.close()

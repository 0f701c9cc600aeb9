"""The live meeting room's push channel: one websocket per open page, HTML fragments rendered once.

A room page (the facilitator's console, a resident's tablet, the hall's screen, the shared
tablet) is made of named *parts*, listed in :mod:`forum.parts` and handed to the hub by
``create_app``. When something changes, a view calls ``hub.changed(meeting_id, "queue")`` after
its commit; the hub waits a moment to merge a burst of changes, renders each changed part once
per audience and language from the database, and sends the same bytes to every subscriber of
that audience. Nothing per device is rendered or queried, so a hall of 1,000 tablets costs one
render per change, not 1,000.

The console that made a change has the changed parts already (its action's htmx reply carries
them): its page has a name, which it tells its socket (``{"page": …}``) and sends with each action
together with how many of its socket's messages it has swapped in (``X-Room-Page: name count``).
The push leaves that socket out for those parts only while it is sure the reply is the newest
thing the page shows: the page had taken in everything sent to it when it acted, nothing was sent
to it since, and nobody else changed those parts before the push went. Otherwise it is sent as to
everyone (an older push still on its way could land after the reply).

Personal state on a tablet (is my hand up, my place in the queue) is not in the shared fragment's
wording: queue items carry ``data-attendance`` ids and static/room.js compares them with the
tablet's own id.

The database holds the room's state; the hub holds only who is listening. A client that connects
(or reconnects after a restart, or to another process) gets every part at once. With several
processes, each change is also told to the others (:mod:`forum.broadcast`), whose hubs push it
to their own pages as if it were theirs. The hub knows the engine, the parts, a renderer, the
broadcast and the public address; never the views, nor the application.

Here: the hub's marking, merging and pushing of changes, and the heartbeat. Its rendering is in
:mod:`forum.live_render`, its side facing the pages (sockets, rooms, the state sent on connect)
in :mod:`forum.live_pages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Engine
from starlette.types import Send

from forum.broadcast import Broadcast, Notice
from forum.live_pages import PAGE_HEADER, KeepServerSend, Pages, Room, acting_page, page_id, room_socket
from forum.live_render import RENDERS_AT_ONCE, Renderer, Rendering, partial
from forum.parts import Part

# What the views, the application and the tests take from here (the hub's own modules aside).
__all__ = ["FLUSH_INTERVAL", "HEARTBEAT", "PAGE_HEADER", "RENDERS_AT_ONCE", "Hub", "KeepServerSend", "Renderer", "Room",
           "acting_page", "page_id", "partial", "room_socket"]

log = logging.getLogger("forum.live")

# Pushes per meeting are at most one per interval (~5 a second); the first change after a quiet
# spell goes out at once, so a lone action is not delayed.
FLUSH_INTERVAL = 0.2
# What room pages hear when nothing has changed for a beat: JSON without "content", which hx-ws
# swaps into nothing; static/room.js only notes that the server is still there.
HEARTBEAT = '{"beat":1}'
# How a page that stopped taking in pushes is closed: "try again later", which static/room.js
# answers by reconnecting (and being sent the whole room).
STALLED_CLOSE = 1013


class Hub(Rendering, Pages):
    def __init__(self, engine: Engine, parts: Mapping[str, Part], renderer: Renderer, *, public_url: str = "",
                 interval: float = FLUSH_INTERVAL, broadcast: Broadcast | None = None) -> None:
        super().__init__(engine, parts, renderer)
        self.broadcast = broadcast or Broadcast()
        self.public_url = public_url
        self.interval = interval
        self.loop: asyncio.AbstractEventLoop | None = None
        self.rooms: dict[int, Room] = {}
        # Pages whose last message is still on its way (see _send_now), and whether they stalled.
        self._waiting: dict[Send, bool] = {}
        self._finishing: set[asyncio.Task] = set()  # their sends' tasks, held until done
        self._lock = threading.Lock()
        # Every lifespan running on this app, oldest first. A server runs one; tests run several
        # clients on one app, each on a loop of its own, and a later one must not take the hub
        # away from an earlier one that still has pages subscribed.
        self._loops: list[asyncio.AbstractEventLoop] = []

    def bind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """A lifespan's loop joins the hub; pushes run on the oldest loop still bound."""
        loop = loop or asyncio.get_running_loop()
        with self._lock:
            if loop not in self._loops:
                self._loops.append(loop)
            if self.loop is None or self.loop.is_closed() or self.loop not in self._loops:
                self.loop = loop

    def unbind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """A lifespan ends: its loop leaves the hub, and pushes move to the next loop still bound."""
        loop = loop or asyncio.get_running_loop()
        with self._lock:
            if loop in self._loops:
                self._loops.remove(loop)
            if self.loop is not loop:
                return
            self.loop = next((other for other in self._loops if not other.is_closed()), None)
        # A push scheduled on the loop that ends would never run: hand the pending ones over.
        for meeting_id, room in list(self.rooms.items()):
            if room.scheduled:
                room.scheduled = False
                if self.loop is not None:
                    self.loop.call_soon_threadsafe(self._mark, meeting_id, tuple(room.pending))

    # ------------------------------------------------------------ telling the hub

    def changed(self, meeting_id: int, *parts: str, page: tuple[str, int] | None = None) -> None:
        """Parts of a meeting's room changed (no names: all of them). Safe from any thread; call
        it after the commit, since the push reads the database. ``page``: the console page that made
        the change (its name, and how many messages it had taken in), whose action's reply brings
        it these parts as they now stand; the push may leave it out for them."""
        self._on_loop(self._mark, meeting_id, parts, page)
        self.broadcast.publish(Notice(meeting_id, parts, page))

    def heard(self, notice: Notice) -> None:
        """Another process's change (forum.broadcast): pushed to this process's pages like one of its own."""
        self._on_loop(self._mark, notice.meeting_id, notice.parts, notice.page)

    def resync(self) -> None:
        """Every room's every part to every page again: notices may have been lost (Redis was away)."""
        for meeting_id in list(self.rooms):
            self._on_loop(self._mark, meeting_id, ())

    def _on_loop(self, mark: Callable[..., None], *args: Any) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            mark(*args)
        else:
            loop.call_soon_threadsafe(mark, *args)

    def _mark(self, meeting_id: int, parts: tuple[str, ...], page: tuple[str, int] | None = None) -> None:
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        room.version += 1
        room.full.clear()
        if not parts:
            room.everything = True
        actor = self._actor(room, page)
        for name in parts:
            # A part changed by two pages (or by one not sure to have it) before the push goes is
            # new to both of them: it goes to everyone.
            if name not in room.pending and actor is not None:
                room.acted[name] = actor
            elif room.acted.get(name) is not actor:
                room.acted.pop(name, None)
            room.pending.add(name)
        if not room.scheduled:
            room.scheduled = True
            loop = self.loop
            assert loop is not None
            delay = max(0.0, room.last_flush + self.interval - loop.time())
            loop.call_later(delay, lambda: loop.create_task(self._flush(meeting_id)))

    @staticmethod
    def _actor(room: Room, page: tuple[str, int] | None) -> Send | None:
        """The socket of the page that acted, if the page had taken in all that was sent to it."""
        if page is None:
            return None
        name, seen = page
        send = next((s for s, n in room.pages.items() if n == name), None)
        if send is None or room.sent.get(send) != seen:
            return None
        room.acted_at[send] = seen
        return send

    async def _flush(self, meeting_id: int) -> None:
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        assert self.loop is not None
        room.scheduled = False
        room.last_flush = self.loop.time()
        names = None if room.everything else set(room.pending)
        acted = {} if room.everything else dict(room.acted)
        acted_at = dict(room.acted_at)
        room.pending.clear()
        room.acted.clear()
        room.acted_at.clear()
        room.everything = False
        groups = [g for g, subs in room.subscribers.items() if subs]
        if not groups:
            if room.count() == 0 and self.rooms.get(meeting_id) is room:
                del self.rooms[meeting_id]  # everyone left while this push waited
            return
        room.flushing += 1
        try:
            await self._push(meeting_id, room, groups, names, acted, acted_at)
        finally:
            room.flushing -= 1

    async def _push(self, meeting_id: int, room: Room, groups: list[tuple[str, str]], names: set[str] | None,
                    acted: dict[str, Send], acted_at: dict[Send, int]) -> None:
        try:
            rendered = await self._render(meeting_id, groups, names, room.origin)
        except Exception:
            log.exception("rendering the room of meeting %s failed", meeting_id)
            return
        # What each acting page has already: its own changes, from its action's reply; unless
        # something else was sent to it since it acted, or another push is on its way beside this one.
        has: dict[Send, set[str]] = {}
        if room.flushing == 1:
            for name, send in acted.items():
                if room.sent.get(send) == acted_at.get(send):
                    has.setdefault(send, set()).add(name)
        for group, chunks in rendered.items():
            sockets = room.subscribers.get(group, set())
            actors = sockets & has.keys()
            message = "".join(html for _name, html in chunks)
            if message:
                await self._send_all(sockets, message, skip=actors)
                self._count(room, sockets, actors)
            for send in actors:
                rest = "".join(html for name, html in chunks if name not in has[send])
                if rest:
                    await self._send_all(sockets, rest, only=send)
                    self._count(room, {send}, set())

    @staticmethod
    def _count(room: Room, sockets: set[Send], skipped: set[Send]) -> None:
        for send in room.sent.keys() & sockets - skipped:  # the consoles, a few per meeting
            room.sent[send] += 1

    async def heartbeat(self, interval: float) -> None:
        """Every ``interval`` seconds, one short message to every open room page, the same bytes
        for all: a page that stops hearing it knows its link has died, even a silent death."""
        while True:
            await asyncio.sleep(interval)
            if asyncio.get_running_loop() is not self.loop:
                continue  # another lifespan's loop carries the hub; one beat, not one per lifespan
            for room in list(self.rooms.values()):
                for sockets in list(room.subscribers.values()):
                    await self._send_all(sockets, HEARTBEAT)

    async def _send_all(self, sockets: set[Send], message: str, *, skip: set[Send] | None = None,
                        only: Send | None = None) -> None:
        # One event for all: the server's ASGI send takes it as is, and skipping the WebSocket
        # wrapper's per-call checks matters when a hall of tablets is sent to in one loop.
        event = {"type": "websocket.send", "text": message}
        for send in [only] if only is not None else list(sockets):
            if skip and send in skip:
                continue
            try:
                if getattr(send, "crosses_loops", False):
                    await send(event)  # a page on another loop (tests' several lifespans)
                elif not self._send_now(send, event):
                    sockets.discard(send)  # stalled: sent nothing more, and closed once it catches up
            except Exception:  # a tablet gone away mid-send; its own handler unsubscribes it
                sockets.discard(send)

    def _send_now(self, send: Send, event: dict) -> bool:
        """Hand ``event`` to a page's connection without waiting on it; False if the page is stalled.

        A server's send waits while the connection's buffers are full: a tablet whose wifi died
        without a word, or a client that connects and never reads. Awaited in turn, one such page
        would hold up every push and heartbeat to the whole hall until its connection timed out,
        and anyone who can open a tablet's socket could do that at will. So each send is started
        here and is, as a rule, done at once; one that has to wait is finished in the background.
        A page still taking in its last message when the next comes is stalled: it is sent nothing
        more, and once that message is out it is closed (1013, "try again later"), so it
        reconnects and is sent the room as it then stands. Messages to a page never overtake.
        """
        if send in self._waiting:
            self._waiting[send] = True
            return False
        sending = send(event)
        try:
            waiting = sending.send(None)
        except StopIteration:
            return True
        # It waits on an asyncio future (or yields once): the rest of it runs as a task would run
        # it, once that is done.
        self._waiting[send] = False
        loop = asyncio.get_running_loop()

        def finish(_done: Any = None) -> None:
            task = loop.create_task(self._finish(sending, send))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)

        if waiting is None:
            loop.call_soon(finish)
        else:
            waiting._asyncio_future_blocking = False
            waiting.add_done_callback(finish)
        return True

    async def _finish(self, sending: Any, send: Send) -> None:
        try:
            await asyncio.get_running_loop().create_task(sending)
        except Exception:  # the page went away meanwhile; its own handler unsubscribes it
            self._waiting.pop(send, None)
            return
        if self._waiting.pop(send, False):
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": STALLED_CLOSE})

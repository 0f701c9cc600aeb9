"""The live room's pages: each open page's websocket, who listens to which meeting (:class:`Room`),
the whole room sent to a page as it connects, and the console page's name it acts under.

A page connects, is checked (a console needs a facilitator), is sent every part of its audience
at once and is then subscribed, with no await in between, so it misses no push. Pages of one
audience and language connecting together (a hall reconnecting after a restart) share one render
of the room, which is then kept for FULL_STATE_MAX_AGE at most (its timers carry the clock).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from forum import auth, i18n, sessions
from forum.live_render import reading
from forum.models import Meeting
from forum.parts import AUDIENCES

# How long a page's full state may be served from the cache. Its timers carry the server's clock
# at render time, which a device reads against its own: a render older than this would put the
# count-downs of every page that connects off by its age.
FULL_STATE_MAX_AGE = 1.0
# The header a console's htmx requests carry: its page's name (what it told its socket) and how
# many of its socket's messages it had swapped in, "name count".
PAGE_HEADER = "X-Room-Page"
_PAGE_ID = re.compile(r"[A-Za-z0-9_\-]{8,32}")


def page_id(value: str | None) -> str | None:
    """A page's name as the page sent it, if it is one forum could have given."""
    return value if value and _PAGE_ID.fullmatch(value) else None


def acting_page(header: str | None) -> tuple[str, int] | None:
    """``X-Room-Page``'s name and count, if it has the shape room.js gives it."""
    name, _space, count = (header or "").partition(" ")
    return (name, int(count)) if page_id(name) and count.isdigit() and len(count) < 10 else None



@dataclass
class Room:
    """Who is listening to one meeting, and what has changed since the last push."""

    # The raw ASGI send of each open page, by (audience, language).
    subscribers: dict[tuple[str, str], set[Send]] = field(default_factory=dict)
    # The name of each console page that gave one, and how many messages its socket was sent
    # (heartbeats aside), to leave it out of the push of its own change (see the module's doc).
    pages: dict[Send, str] = field(default_factory=dict)
    sent: dict[Send, int] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    # Of the pending parts, those only one page changed (its socket, and its count then): it has them.
    acted: dict[str, Send] = field(default_factory=dict)
    acted_at: dict[Send, int] = field(default_factory=dict)
    flushing: int = 0  # pushes being rendered or sent; two at once may arrive in either order
    everything: bool = False
    scheduled: bool = False
    last_flush: float = -1e9
    version: int = 0
    full: dict[tuple[str, str], tuple[int, float, str]] = field(default_factory=dict)  # version, rendered at, text
    # The full state being rendered per group, which pages connecting meanwhile wait for (one render, not one each).
    rendering: dict[tuple[str, str], asyncio.Future] = field(default_factory=dict)
    origin: str = ""
    joining: int = 0  # pages between accept and subscription, so the room is not dropped under them

    def count(self) -> int:
        return sum(len(s) for s in self.subscribers.values()) + self.joining



class Pages:
    """The hub's side facing the pages (mixed into :class:`forum.live.Hub`, whose rooms, loop and
    rendering it uses)."""

    async def full_state(self, meeting_id: int, room: Room, group: tuple[str, str]) -> tuple[int, str]:
        """Every part for one audience; cached until the next change and for at most
        FULL_STATE_MAX_AGE, so a hall of tablets reconnecting after a restart costs a render a second."""
        while True:
            cached = room.full.get(group)
            if cached and cached[0] == room.version and time.monotonic() - cached[1] < FULL_STATE_MAX_AGE:
                return cached[0], cached[2]
            waiting = room.rendering.get(group)
            if waiting is None or waiting.get_loop() is not asyncio.get_running_loop():
                break
            # Another page of this group is having it rendered: the same render serves both (its
            # version may be older by then; the caller checks it, as after a render of its own).
            shared = await asyncio.shield(waiting)
            if shared is not None:
                return shared
            # That render failed: try again, as the one rendering.
        version, rendered_at = room.version, time.monotonic()
        future = room.rendering[group] = asyncio.get_running_loop().create_future()
        result = None
        try:
            rendered = await self._render(meeting_id, [group], None, room.origin)
            result = (version, "".join(html for _name, html in rendered.get(group, [])))
        finally:
            future.set_result(result)
            if room.rendering.get(group) is future:
                del room.rendering[group]
        if room.version == version:
            room.full[group] = (version, rendered_at, result[1])
        return result

    async def serve(self, websocket: WebSocket, send: Send) -> None:
        """The websocket of one open room page; it only listens. ``send`` is its ASGI send."""
        if self.loop is None:
            self.bind()
        if asyncio.get_running_loop() is not self.loop:
            # This page is served on another lifespan's loop than the one that pushes: each send
            # must run on the page's own loop.
            send = _sender_on(asyncio.get_running_loop(), send)
        meeting_id = int(websocket.path_params["id"])
        audience = websocket.query_params.get("audience", "tablet")
        if audience not in AUDIENCES:
            audience = "tablet"
        allowed = await self._in_thread(self._allowed, meeting_id, audience, websocket,
                                        auth.is_shared_tablet_of(websocket.session, meeting_id))
        if not allowed:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        group = (audience, i18n.current_language())
        room = self.rooms.setdefault(meeting_id, Room())
        self._set_origin(room, audience, websocket)
        subscribed, sent = False, 0
        room.joining += 1
        try:
            while True:
                version, text = await self.full_state(meeting_id, room, group)
                await websocket.send_text(text)
                sent += 1
                if room.version == version:
                    # Subscribing here, with no await since the version check, means every later
                    # change reaches this socket by a push and none is missed or sent out of order.
                    room.subscribers.setdefault(group, set()).add(send)
                    if audience == "console":
                        room.sent[send] = sent
                    room.joining -= 1
                    subscribed = True
                    break
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if audience == "console":  # only a console acts on the room with htmx
                    self._introduce(room, send, message.get("text"))
        except (WebSocketDisconnect, OSError):  # the page went away (uvicorn's ClientDisconnected is an OSError)
            pass
        finally:
            if subscribed:
                room.subscribers.get(group, set()).discard(send)
                room.pages.pop(send, None)
                room.sent.pop(send, None)
            else:
                room.joining -= 1
            if room.count() == 0 and self.rooms.get(meeting_id) is room and not room.scheduled:
                del self.rooms[meeting_id]

    def _set_origin(self, room: Room, audience: str, websocket: WebSocket) -> None:
        host = websocket.headers.get("host", "")
        if self.public_url:
            room.origin = self.public_url  # the join QR code shows the configured address, whoever connects
        elif host and (audience == "console" or not room.origin):
            # Local use: where the facilitator reached the server (an allowed host; an anonymous
            # page may only fill in an origin nobody has set).
            room.origin = f"{'https' if websocket.url.scheme == 'wss' else 'http'}://{host}"

    @staticmethod
    def _introduce(room: Room, send: Send, text: str | None) -> None:
        """A page tells its socket its name ({"page": …}), which its actions send too."""
        if not text or len(text) > 100:
            return
        try:
            name = page_id(json.loads(text).get("page"))
        except (ValueError, AttributeError):
            return
        if name is not None:
            room.pages[send] = name

    def _allowed(self, meeting_id: int, audience: str, websocket: WebSocket, shared_tablet: bool = False) -> bool:
        with reading(self.engine) as db:
            if db.get(Meeting, meeting_id) is None:
                return False
            if audience in ("tablet", "screen") or (audience == "shared_tablet" and shared_tablet):
                return True
            # The console, and the shared tablet's ballots (they carry the key to cast them).
            user = sessions.resolve(db, websocket.session, sessions.expiry_of(websocket))
            return auth.can_run(user, db.get(Meeting, meeting_id))

    def subscriber_count(self, meeting_id: int) -> int:
        room = self.rooms.get(meeting_id)
        return room.count() if room else 0


def _sender_on(loop: asyncio.AbstractEventLoop, send: Send) -> Send:
    """``send`` called on ``loop``, whichever loop awaits it."""

    async def on_loop(event: dict) -> None:
        if asyncio.get_running_loop() is loop:
            await send(event)
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(event), loop))

    on_loop.crosses_loops = True  # type: ignore[attr-defined]  # it always waits: the hub awaits it
    return on_loop


# Where KeepServerSend leaves a websocket's send as the server gave it.
SERVER_SEND = "forum.server_send"


class KeepServerSend:
    """The outermost middleware: keeps a websocket's send as the server gave it, for the hub's pushes.

    The middlewares below it wrap ``send`` for HTTP's sake only (the session's cookie on the
    response's start, the exception handler noting that a response started). A push passes each
    of its messages to a hall of tablets through every wrapper: a third of what a send cost in
    ``forum bench live``'s profile. The socket's own accept, close and first state still go the
    usual way, and both ways reach the same connection in the order they are called."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)


class RoomSocket:
    """The ``/meetings/{id}/ws`` endpoint, as a plain ASGI app so the hub can keep each page's raw send."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["app"].state.hub.serve(WebSocket(scope, receive, send), scope.get(SERVER_SEND, send))


room_socket = RoomSocket()

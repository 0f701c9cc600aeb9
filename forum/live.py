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
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from forum import auth, i18n, sessions
from forum import parts as parts_module
from forum.broadcast import Broadcast, Notice
from forum.models import Meeting
from forum.parts import AUDIENCES, Part

log = logging.getLogger("forum.live")

# Pushes per meeting are at most one per interval (~5 a second); the first change after a quiet
# spell goes out at once, so a lone action is not delayed.
FLUSH_INTERVAL = 0.2
# What room pages hear when nothing has changed for a beat: JSON without "content", which hx-ws
# swaps into nothing; static/room.js only notes that the server is still there.
HEARTBEAT = '{"beat":1}'
# How long a page's full state may be served from the cache. Its timers carry the server's clock
# at render time, which a device reads against its own: a render older than this would put the
# count-downs of every page that connects off by its age.
FULL_STATE_MAX_AGE = 1.0
# Renders a process runs at once (each in a thread, with a database connection). They hold the
# interpreter's lock for most of their time, so more at once only adds switching, and takes from
# requests the connections their pool keeps open (one beyond it is opened and closed each time).
RENDERS_AT_ONCE = 3
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


# ---------------------------------------------------------------- rendering


class Renderer:
    """Renders parts outside a request: links are paths (devices reach the hall by different
    host names), and the translation functions read the language set around each render."""

    def __init__(self, url_path_for: Callable[..., Any], env: Environment) -> None:
        self.url_path_for = url_path_for
        self.env = env
        # Counted so a test can check that a push to many devices renders each part once.
        self.renders = 0

    def url_for(self, name: str, /, **params: Any) -> str:
        return str(self.url_path_for(name, **params))

    def render(self, part: Part, context: dict[str, Any], meeting: Meeting, audience: str,
               origin: str = "") -> Markup:
        self.renders += 1
        template = self.env.get_template(part.template)
        return Markup(template.render({**context, "meeting": meeting, "audience": audience, "origin": origin,
                                       "url_for": self.url_for, "part": part}))


def partial(part: Part, html: str) -> str:
    """A part as htmx swaps it by its id, in a push or an action's reply."""
    return f'<hx-partial hx-target="#{part.element_id}" hx-swap="outerHTML">{html}</hx-partial>'


# ---------------------------------------------------------------- the hub


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


class Hub:
    def __init__(self, engine: Engine, parts: Mapping[str, Part], renderer: Renderer, *, public_url: str = "",
                 interval: float = FLUSH_INTERVAL, broadcast: Broadcast | None = None) -> None:
        self.engine = engine
        self.broadcast = broadcast or Broadcast()
        self.parts = dict(parts)
        self.renderer = renderer
        self.public_url = public_url
        self.interval = interval
        self.loop: asyncio.AbstractEventLoop | None = None
        self.rooms: dict[int, Room] = {}
        self._lock = threading.Lock()
        # Every lifespan running on this app, oldest first. A server runs one; tests run several
        # clients on one app, each on a loop of its own, and a later one must not take the hub
        # away from an earlier one that still has pages subscribed.
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._renders: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    async def _render(self, *args: Any) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """:meth:`rendered` in a thread, at most RENDERS_AT_ONCE at a time on this loop."""
        loop = asyncio.get_running_loop()
        gate = self._renders.get(loop)
        if gate is None:
            gate = self._renders[loop] = asyncio.Semaphore(RENDERS_AT_ONCE)
        async with gate:
            return await run_in_threadpool(self.rendered, *args)

    # ------------------------------------------------------------ rendering parts

    def parts_for(self, audience: str) -> list[Part]:
        return [p for p in self.parts.values() if audience in p.audiences]

    def contexts(self, db: Session, meeting: Meeting, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        return parts_module.contexts(db, meeting, [self.parts[n] for n in names if n in self.parts])

    def render_part(self, name: str, context: dict[str, Any], meeting: Meeting, audience: str,
                    origin: str = "") -> Markup:
        """One part with a context the caller built (the shared tablet's answer to its ballot)."""
        return self.renderer.render(self.parts[name], context, meeting, audience, origin)

    def page_parts(self, db: Session, meeting: Meeting, audience: str, origin: str,
                   names: Iterable[str] | None = None) -> dict[str, Markup]:
        """The parts of an audience (all, or those named), as a page or an action's reply shows them
        (the language is the request's)."""
        parts = self.parts_for(audience)
        if names is not None:
            wanted = set(names)
            parts = [p for p in parts if p.name in wanted]
        contexts = self.contexts(db, meeting, [p.name for p in parts])
        return {p.name: self.renderer.render(p, contexts[p.name], meeting, audience, origin) for p in parts}

    def rendered(self, meeting_id: int, groups: Iterable[tuple[str, str]], names: Iterable[str] | None,
                 origin: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """The changed parts as htmx partials, per (audience, language): each part's context built
        once, and each rendered once per group, whatever the number of pages in it."""
        groups = list(groups)
        wanted = {p.name for p in self.parts.values() if any(a in p.audiences for a, _lang in groups)}
        names = sorted(wanted if names is None else wanted & set(names))
        with Session(self.engine) as db:
            meeting = db.get(Meeting, meeting_id)
            if meeting is None:
                return {}
            contexts = self.contexts(db, meeting, names)
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for audience, language in groups:
            token = i18n.set_language(language)
            try:
                out[(audience, language)] = [
                    (name, partial(self.parts[name], self.renderer.render(
                        self.parts[name], contexts[name], meeting, audience, origin)))
                    for name in names if audience in self.parts[name].audiences]
            finally:
                i18n.reset_language(token)
        return out

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
                await send(event)
            except Exception:  # a tablet gone away mid-send; its own handler unsubscribes it
                sockets.discard(send)

    # ------------------------------------------------------------ subscribers

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
        allowed = await run_in_threadpool(self._allowed, meeting_id, audience, websocket,
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
        with Session(self.engine) as db:
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

    return on_loop


class RoomSocket:
    """The ``/meetings/{id}/ws`` endpoint, as a plain ASGI app so the hub can keep each page's raw send."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["app"].state.hub.serve(WebSocket(scope, receive, send), send)


room_socket = RoomSocket()

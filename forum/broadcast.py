"""The live room's changes, told to every forum process: in one process, nobody else; over Redis
pub/sub, every other process serving the same database.

What travels is the *notice* of a change, never a rendered part: the meeting, the parts that
changed (none: all of them) and the console page that made it, if any. Each process marks the
notice in its own hub exactly as a change made in it, so it renders each part once for its own
pages and merges bursts in its own window (at most five pushes a second per meeting to each
page, whichever process it is connected to). The page travels too: a console's htmx action may
reach another process than the one holding its socket, and only the one holding it can leave it
out of the push of what its reply already brought.

A process tells its own hub directly (not through Redis), so its own pages are in step even
while Redis is away; notices it hears back from Redis are its own and dropped.

Redis pub/sub keeps nothing: a notice published while a process is not subscribed is lost to it.
So whenever a subscription (re)starts, its process *resyncs*: every room it serves is re-rendered
whole and sent to every page, which is then in step with the database again, without a reload.
A process that cannot publish keeps which meetings it could not tell about (a set, bounded by the
meetings it changed) and tells "everything changed" for each once Redis answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("forum.broadcast")

# A notice on the wire is small (a meeting, a few part names, a page's name); anything larger is
# not forum's and is dropped unread.
MAX_NOTICE_BYTES = 2048
# Notices waiting to be published; past this (Redis away for long under heavy use) they are
# folded into "everything changed" for their meetings, so memory stays bounded.
MAX_QUEUE = 10_000
# The subscription says PING this often when nothing comes; no answer for three of these and the
# link is taken for dead (a dropped network can leave a socket open with nobody behind it).
PING_SECONDS = 2.0
RETRY_SECONDS = (0.1, 2.0)  # first and longest wait between attempts to reach Redis again


@dataclass(frozen=True)
class Notice:
    """Parts of a meeting's room changed (``parts`` empty: all of them); ``page``: the console page
    that made the change and how many of its socket's messages it had taken in."""

    meeting_id: int
    parts: tuple[str, ...] = ()
    page: tuple[str, int] | None = None

    def encode(self, sender: str) -> str:
        return json.dumps({"from": sender, "m": self.meeting_id, "p": list(self.parts),
                           "g": list(self.page) if self.page else None}, separators=(",", ":"))


def decode(data: bytes | str) -> tuple[str, Notice] | None:
    """The sender and notice of a message heard on the channel, or None if it is not one."""
    if len(data) > MAX_NOTICE_BYTES:
        return None
    try:
        raw = json.loads(data)
        sender, meeting, parts, page = raw["from"], raw["m"], raw["p"], raw["g"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(sender, str) or type(meeting) is not int or not isinstance(parts, list) \
            or not all(isinstance(p, str) for p in parts):
        return None
    if page is not None:
        if not (isinstance(page, list) and len(page) == 2 and isinstance(page[0], str) and type(page[1]) is int):
            return None
        page = (page[0], page[1])
    return sender, Notice(meeting, tuple(parts), page)


# What a hub gives its broadcast: where heard notices go, and what to do after a gap.
Deliver = Callable[[Notice], None]
Resync = Callable[[], None]


class Broadcast:
    """One process: there is nobody else to tell. The interface every broadcast has."""

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        """Begin hearing other processes' notices (on the running loop)."""

    def publish(self, notice: Notice) -> None:
        """Tell the other processes (from any thread; never blocks, never raises)."""

    async def stop(self) -> None:
        """Stop hearing and publishing (at shutdown)."""


class RedisBroadcast(Broadcast):
    """Notices over one Redis pub/sub channel, shared by every process of the installation."""

    def __init__(self, url: str, channel: str = "forum", *, client_factory: Callable[[], object] | None = None) -> None:
        self.url = url
        self.channel = channel
        # Each process's own name on the channel, so it can drop the echo of its own notices.
        self.sender = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._factory = client_factory or self._client
        self._lock = threading.Lock()
        self._queue: list[Notice] = []
        self._lost: set[int] = set()  # meetings whose notices could not be published
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._users = 0
        # Counted for tests and logs: how many times a subscription (re)started and resynced.
        self.subscriptions = 0
        self._retry = RETRY_SECONDS[0]

    def _client(self):
        import redis.asyncio as redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_keepalive=True)

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._users += 1
        if self._tasks:
            return  # a second lifespan on the same app (tests): one subscription serves both
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(deliver, resync), name="forum-broadcast-listen"),
                       asyncio.create_task(self._publish_all(), name="forum-broadcast-publish")]

    async def stop(self) -> None:
        self._users -= 1
        if self._users > 0 or not self._tasks:
            return
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop = None

    # ------------------------------------------------------------ publishing

    def publish(self, notice: Notice) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        with self._lock:
            if len(self._queue) < MAX_QUEUE:
                self._queue.append(notice)
            else:
                self._lost.add(notice.meeting_id)
        try:
            if _running_loop() is loop:
                wake.set()
            else:
                loop.call_soon_threadsafe(wake.set)
        except RuntimeError:  # the loop closed meanwhile: the process is stopping
            pass

    def _take(self) -> list[Notice]:
        """What to publish now, in order: first "everything" for meetings once lost, then the queue."""
        with self._lock:
            queued, self._queue = self._queue, []
            lost, self._lost = self._lost, set()
        return [Notice(m) for m in sorted(lost)] + queued

    def _fold(self, notices: list[Notice]) -> None:
        """Notices that could not be published: their meetings get "everything" once Redis is back."""
        with self._lock:
            self._lost.update(n.meeting_id for n in notices)

    async def _publish_all(self) -> None:
        assert self._wake is not None
        client = self._factory()
        delay = RETRY_SECONDS[0]
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                notices = self._take()
                for i, notice in enumerate(notices):
                    try:
                        await client.publish(self.channel, notice.encode(self.sender))
                    except asyncio.CancelledError:
                        raise
                    except Exception as error:  # noqa: BLE001 - Redis away: try again later
                        log.warning("cannot publish to Redis (%s); retrying", error)
                        self._fold(notices[i:])
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, RETRY_SECONDS[1])
                        self._wake.set()
                        break
                else:
                    delay = RETRY_SECONDS[0]
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()

    # ------------------------------------------------------------ hearing

    async def _listen(self, deliver: Deliver, resync: Resync) -> None:
        while True:
            client = self._factory()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                await self._hear(pubsub, deliver, resync)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis away or restarting
                log.warning("lost the Redis subscription (%s); resubscribing", error)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(self._retry)
            self._retry = min(self._retry * 2, RETRY_SECONDS[1])

    async def _hear(self, pubsub, deliver: Deliver, resync: Resync) -> None:
        heard = pinged = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=PING_SECONDS / 2)
            now = time.monotonic()
            if message is None:
                if now - heard > 3 * PING_SECONDS:
                    raise ConnectionError(f"Redis has not answered for {now - heard:.0f} s")
                if now - pinged > PING_SECONDS:
                    await pubsub.ping()
                    pinged = now
                continue
            heard = now
            kind = message.get("type")
            if kind in ("subscribe", b"subscribe"):
                # Subscribed, for the first time or again (redis-py also resubscribes by itself
                # after a reconnect): whatever was published meanwhile was lost to this process.
                self.subscriptions += 1
                self._retry = RETRY_SECONDS[0]
                log.info("subscribed to Redis channel %s; resyncing every room", self.channel)
                resync()
            elif kind in ("message", b"message"):
                decoded = decode(message.get("data") or b"")
                if decoded is not None and decoded[0] != self.sender:
                    deliver(decoded[1])


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def make(url: str, channel: str = "forum") -> Broadcast:
    """The broadcast a deployment asks for: Redis at ``url``, or none beyond this process."""
    return RedisBroadcast(url, channel) if url else Broadcast()

"""Pages of the record rendered once and served again until the record changes.

A community's home, an issue, the minutes, a dashboard or a list change when someone changes the
record, not when someone reads it; yet rendering one costs forum tens of queries and a template
(milliseconds, against the fraction of one a bare page costs: ``forum bench pages``). As the live
room renders a change once and sends the same bytes to every tablet, a view marked ``@kept``
(forum.web) is rendered once for each reader of the same kind and served from memory while the
database's record version (migration 0014: every transaction that changes a table a page can
show adds one, in any process, through the ORM or not) stays the same.

What makes two requests "the same" is :func:`key`: the address with its query, the signed-in
user (a page shows each user what they may see, so it is kept per user; nobody signed in is one
reader), the language, whether htmx asked for a fragment, the host, and the minute (pages say
what is overdue, upcoming or open now by the clock). A request that carries anything else a page
could depend on — a tablet's room cookie, a shared tablet's or a verification slip's session —
is rendered afresh, and so is any answer but a plain 200 with no cookie of its own.

The version is read before anything else the page reads, so a page stored under a version holds
at least what that version had; one that raced a change is stored under the older version, which
the next request no longer asks for. Memory is bounded: the least recently used pages go first
once ``limit`` bytes are held (FORUM_PAGE_CACHE_MB, 0 turns keeping off).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from forum import i18n, sessions
from forum.models import now

# Cookies a kept page may be asked with: the signed session (holding only the sign-in's token) and
# the language switch's. Any other (a tablet's device token) may change what a page shows.
PLAIN_COOKIES = frozenset({"forum_session", "forum_lang"})
PLAIN_SESSION = frozenset({"sid"})
# Request headers a page's bytes may depend on besides the cookies (the API negotiates its language).
VARYING_HEADERS = ("host", "hx-request", "hx-history-restore-request", "hx-target", "accept-language")
HEADER_MAX = 200  # of each, in the key: a longer one is not kept


@dataclass(frozen=True)
class Kept:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def response(self) -> Response:
        response = Response(self.body, status_code=self.status)
        response.raw_headers = list(self.headers)
        return response


def kept_of(response: Response) -> Kept | None:
    """What of a view's answer can be served to the next reader, with every header the view gave it:
    a plain 200 with its body in hand, no cookie set and nothing left to run after it."""
    if response.status_code != 200 or response.background is not None or not hasattr(response, "body"):
        return None
    if any(name == b"set-cookie" for name, _ in response.raw_headers):
        return None
    return Kept(200, tuple(response.raw_headers), bytes(response.body))


class PageCache:
    """Kept answers, least recently used first out once more than ``limit`` bytes are held."""

    def __init__(self, limit: int, loop_reader: LoopReader | None = None) -> None:
        self.limit = limit
        self.loop_reader = loop_reader
        self.held = 0
        self.version: int | None = None
        self._pages: OrderedDict[tuple, Kept] = OrderedDict()
        self._lock = threading.Lock()  # views run in the thread pool

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: tuple) -> Kept | None:
        with self._lock:
            kept = self._pages.get(key)
            if kept is not None:
                self._pages.move_to_end(key)
            return kept

    def put(self, key: tuple, kept: Kept) -> None:
        size = len(kept.body) + 200
        if size > self.limit // 8:  # one page never takes the room of many
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self.held -= len(old.body) + 200
            self._pages[key] = kept
            self.held += size
            while self.held > self.limit:
                _, gone = self._pages.popitem(last=False)
                self.held -= len(gone.body) + 200

    def seen(self, version: int) -> None:
        """The version read for a request. One lower than before means another database (a backup
        restored under a running server): nothing kept can be trusted."""
        with self._lock:
            if self.version is not None and version < self.version:
                self._pages.clear()
                self.held = 0
            self.version = version


def record_version(db: Session) -> int | None:
    """The database's record version, or None where it keeps none (a database not yet upgraded)."""
    try:
        return db.connection().execute(text("SELECT version FROM recordversion WHERE id = 1")).scalar()
    except DBAPIError:
        db.rollback()
        return None


def key(request: Request, user_id: int | None, version: int) -> tuple | None:
    """What a kept page is found by, or None when this request must be rendered afresh."""
    if request.method not in ("GET", "HEAD"):
        return None
    if not PLAIN_COOKIES.issuperset(request.cookies) or not PLAIN_SESSION.issuperset(request.session):
        return None
    headers = request.headers
    varying = tuple(headers.get(name, "") for name in VARYING_HEADERS)
    if any(len(value) > HEADER_MAX for value in varying):
        return None
    return (request.scope["path"], request.scope["query_string"], request.scope.get("scheme", "http"), varying,
            i18n.current_language(), user_id, version, now().replace(second=0))


class LoopReader:
    """The record version (and a signed-in reader's session) read on the event loop itself, where
    that costs less than the hop to the thread pool a view takes: only for an SQLite file, whose
    readers (WAL) wait for no writer. Its own connection, which never waits: a busy database or any
    error says "don't know", and the request takes the view's path."""

    SESSION = ('SELECT s.user_id, s.created_at, s.last_seen_at, s.ended_at, u.disabled_at IS NOT NULL '
               'FROM staffsession s JOIN "user" u ON u.id = s.user_id WHERE s.token_hash = ?')

    def __init__(self, engine) -> None:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.path = database if database and database != ":memory:" and not database.startswith("file:") else None
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # a test's several clients run loops in threads of their own

    def version(self) -> int | None:
        return self.read(None)[0]

    def read(self, token_hash: str | None) -> tuple[int | None, tuple | None]:
        """The record version, then the session whose token has that hash (its user, when it began,
        was last seen and ended, whether the user is disabled), or None for either not known."""
        if self.path is None:
            return None, None
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
                row = self._connection.execute("SELECT version FROM recordversion WHERE id = 1").fetchone()
                session = self._connection.execute(self.SESSION, (token_hash,)).fetchone() if token_hash else None
            except sqlite3.Error:
                self._close()
                return None, None
        if session is not None:
            try:
                session = (session[0], *(None if v is None else datetime.fromisoformat(v) for v in session[1:4]),
                           bool(session[4]))
            except (TypeError, ValueError):
                session = None
        return (row[0] if row else None), session

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def quick(request: Request) -> Response | None:
    """A kept page served on the event loop, or None (the view's path): to nobody signed in, or to a
    staff member whose session is live and needs nothing written (its "last seen" is recent). The
    session is judged by the same rule as every request's (``sessions.judge``)."""
    cache: PageCache | None = getattr(request.app.state, "page_cache", None)
    if cache is None or cache.limit <= 0 or cache.loop_reader is None or request.method not in ("GET", "HEAD"):
        return None
    hashed = sessions.token_hash(request.session) if "forum_session" in request.cookies else None
    version, session = cache.loop_reader.read(hashed)
    if version is None or version != cache.version:  # a version this process has not rendered under yet
        return None
    user_id = None
    if hashed is not None:
        if session is None:
            return None
        user_id, created_at, last_seen_at, ended_at, disabled = session
        if sessions.judge(created_at, last_seen_at, ended_at, disabled, sessions.expiry_of(request),
                          sessions.clock()) != "live":
            return None
    found = key(request, user_id, version)
    kept = cache.get(found) if found is not None else None
    return kept.response() if kept is not None else None


def version_for(request: Request, db: Session) -> int | None:
    """The record version this request's page may be kept under, read before anything else the page
    reads (the signed-in user included); None when pages are not kept here."""
    cache: PageCache | None = getattr(request.app.state, "page_cache", None)
    if cache is None or cache.limit <= 0 or request.method not in ("GET", "HEAD"):
        return None
    version = record_version(db)
    if version is not None:
        cache.seen(version)
    return version


def serve(request: Request, version: int, render: Callable[[], Response]) -> Response:
    """The kept answer for this request if there is one; else ``render()``, kept for the next reader."""
    cache: PageCache = request.app.state.page_cache
    user = request.state.user
    found = key(request, user.id if user is not None else None, version)
    if found is None:
        return render()
    kept = cache.get(found)
    if kept is not None:
        return kept.response()
    response = render()
    fresh = kept_of(response)
    if fresh is not None:
        cache.put(found, fresh)
    return response

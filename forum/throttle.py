"""Throttling guesses: failed attempts counted per key in the database.

A key names who is guessing at what: ``signin:addr:203.0.113.5``, ``signin:user:facilitator``,
``join:addr:…``, ``join:meeting:12``. Each key has a fixed window; once its failures reach the
limit within the window, further attempts are refused until the window ends. The counts live in
the database (not in memory), so a limit holds across restarts and across worker processes, and
the increment is one atomic upsert, so parallel guesses cannot slip past it.

Views ask ``retry_after`` before trying (a read), and call ``failed`` after a failed attempt or
``clear`` after a success (writes, committed by the caller).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from starlette.requests import HTTPConnection

from forum.models import ThrottleCount, now

KEY_MAX = 200


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` failures per key within ``seconds``."""

    attempts: int
    seconds: int


def address_of(connection: HTTPConnection) -> str:
    """The client's address as the server sees it (a proxy in front must pass it on to uvicorn
    with --proxy-headers; a forwarded header is never read here, since anyone can send one)."""
    return connection.client.host if connection.client else "unknown"


def _keys(keys: Iterable[str]) -> list[str]:
    return sorted({k[:KEY_MAX] for k in keys})


def retry_after(db: Session, keys: Iterable[str], limit: Limit, at: datetime | None = None) -> int:
    """Seconds until every one of ``keys`` may try again; 0 when they may try now."""
    at = at or now()
    start = at - timedelta(seconds=limit.seconds)
    rows = db.exec(select(ThrottleCount).where(col(ThrottleCount.key).in_(_keys(keys)),
                                               ThrottleCount.window_start > start,
                                               ThrottleCount.failures >= limit.attempts)).all()
    if not rows:
        return 0
    return max(int((r.window_start - start).total_seconds()) for r in rows) or 1


def failed(db: Session, keys: Iterable[str], limit: Limit, at: datetime | None = None) -> None:
    """Count one failure against each key; a key whose window has ended starts a new one."""
    at = at or now()
    expired = ThrottleCount.window_start <= at - timedelta(seconds=limit.seconds)
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert
    for key in _keys(keys):
        stmt = insert(ThrottleCount).values(key=key, window_start=at, failures=1)
        db.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={
            "failures": case((expired, 1), else_=ThrottleCount.failures + 1),
            "window_start": case((expired, at), else_=ThrottleCount.window_start),
        }))


def clear(db: Session, keys: Iterable[str]) -> None:
    """Forget the failures of ``keys`` (after a success)."""
    db.execute(delete(ThrottleCount).where(col(ThrottleCount.key).in_(_keys(keys))))


def prune(db: Session, older_than: timedelta, at: datetime | None = None) -> int:
    """Drop counts whose window started before ``older_than`` ago; returns how many."""
    at = at or now()
    return db.execute(delete(ThrottleCount).where(ThrottleCount.window_start < at - older_than)).rowcount

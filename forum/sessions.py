"""Staff sessions that end: a record per sign-in, checked on every request.

The signed session cookie holds a random token (``sid``); the database keeps only its SHA-256
in a ``StaffSession`` row. A cookie proves nothing by itself: the row must exist, not have ended,
have been used within the idle limit and be younger than the absolute limit, and its user must
not be disabled. So logging out ends the session even for a copy of the cookie, and a password
change, disabling an account or making a device the shared tablet ends sessions everywhere.

Reading costs one indexed lookup; ``last_seen_at`` is written at most once a minute per session,
so browsing writes almost nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from starlette.requests import HTTPConnection

from forum.models import StaffSession, User, now
from forum.throttle import address_of

COOKIE_KEY = "sid"
# last_seen_at is good enough to the minute for idle expiry; finer would write on every click.
TOUCH_EVERY = timedelta(minutes=1)


def clock() -> datetime:
    """The time sessions and sign-in limits are judged by; tests replace it to stop the clock."""
    return now()


@dataclass(frozen=True)
class Expiry:
    idle: timedelta
    absolute: timedelta


def expiry_of(connection: HTTPConnection) -> Expiry:
    settings = connection.app.state.settings
    return Expiry(idle=timedelta(minutes=settings.session_idle_minutes),
                  absolute=timedelta(days=settings.session_max_days))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _token(cookie_session: MutableMapping[str, Any]) -> str | None:
    token = cookie_session.get(COOKIE_KEY)
    return token if isinstance(token, str) and 20 <= len(token) <= 100 else None


def start(db: Session, request: HTTPConnection, user: User, at: datetime | None = None) -> StaffSession:
    """Sign ``user`` in on this device: a fresh cookie session (nothing carried over) and its record.
    The caller commits."""
    at = at or clock()
    end(db, request, "signin", at)  # a sign-in on a signed-in device ends the session it had
    token = secrets.token_urlsafe(32)
    record = StaffSession(token_hash=_hash(token), user_id=user.id, created_at=at, last_seen_at=at,
                          address=address_of(request)[:60],
                          user_agent=request.headers.get("user-agent", "")[:120])
    db.add(record)
    request.session.clear()
    request.session[COOKIE_KEY] = token
    return record


def find(db: Session, cookie_session: MutableMapping[str, Any]) -> StaffSession | None:
    token = _token(cookie_session)
    if token is None:
        return None
    return db.exec(select(StaffSession).where(StaffSession.token_hash == _hash(token))).first()


def judge(created_at: datetime, last_seen_at: datetime, ended_at: datetime | None, disabled: bool,
          expiry: Expiry, at: datetime) -> str:
    """What a session record says at ``at``: "ended", "expired" or "idle" (it has ended, or ends
    now), "disabled" (its user's account is), "touch" (live, and last seen long enough ago to write
    it again) or "live"."""
    if ended_at is not None:
        return "ended"
    if at - created_at >= expiry.absolute:
        return "expired"
    if at - last_seen_at >= expiry.idle:
        return "idle"
    if disabled:
        return "disabled"
    return "touch" if at - last_seen_at >= TOUCH_EVERY else "live"


def token_hash(cookie_session: MutableMapping[str, Any]) -> str | None:
    """What the database keeps of the cookie's token, or None when the cookie holds none."""
    token = _token(cookie_session)
    return None if token is None else _hash(token)


def resolve(db: Session, cookie_session: MutableMapping[str, Any], expiry: Expiry,
            at: datetime | None = None) -> User | None:
    """The signed-in user of a cookie session, or None when it names no live session."""
    at = at or clock()
    hashed = token_hash(cookie_session)
    if hashed is None:
        return None
    # The record and its user in one query: every signed-in request asks this.
    found = db.exec(select(StaffSession, User).join(User, col(User.id) == StaffSession.user_id)
                    .where(StaffSession.token_hash == hashed)).first()
    if found is None:
        return None
    record, user = found
    verdict = judge(record.created_at, record.last_seen_at, record.ended_at, user.disabled_at is not None,
                    expiry, at)
    if verdict in ("expired", "idle"):
        _write(db, update(StaffSession).where(StaffSession.id == record.id, col(StaffSession.ended_at).is_(None))
               .values(ended_at=at, ended_why=verdict))
        return None
    if verdict == "touch":
        _write(db, update(StaffSession).where(StaffSession.id == record.id).values(last_seen_at=at))
    return user if verdict in ("live", "touch") else None


def _write(db: Session, statement: Any) -> None:
    """A bookkeeping write of its own, committed at once. Were the database busy (a large import
    holding SQLite's lock), the next request writes it instead: never fail a page for it."""
    try:
        db.execute(statement)
        db.commit()
    except OperationalError:
        db.rollback()


def end(db: Session, request: HTTPConnection, why: str, at: datetime | None = None) -> StaffSession | None:
    """End this device's session (log out) and forget the cookie's contents. The caller commits."""
    record = find(db, request.session)
    if record is not None and record.ended_at is None:
        record.ended_at, record.ended_why = at or clock(), why
        db.add(record)
    request.session.clear()
    return record


def end_all(db: Session, user_id: int, why: str, at: datetime | None = None) -> int:
    """End every live session of a user, on every device; returns how many. The caller commits."""
    result = db.execute(update(StaffSession).where(StaffSession.user_id == user_id,
                                                   col(StaffSession.ended_at).is_(None))
                        .values(ended_at=at or clock(), ended_why=why))
    return result.rowcount or 0


def disable(db: Session, user: User, at: datetime | None = None) -> int:
    """Disable an account: it signs in no more, and every session it has ends now."""
    at = at or clock()
    user.disabled_at = at
    db.add(user)
    return end_all(db, user.id, "disabled", at)


def enable(db: Session, user: User) -> None:
    user.disabled_at = None
    db.add(user)

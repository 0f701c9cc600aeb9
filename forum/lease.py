"""Run-once duties across worker processes and machines: a lease in the database.

Every worker runs the same background loops (closing due votes, writing the day's notices); a
duty is done only by the worker holding its lease. Taking and renewing are one statement, an
INSERT … ON CONFLICT DO UPDATE whose WHERE lets the row change hands only when it is ours or has
expired, so the database decides between two workers asking at once (SQLite and PostgreSQL
both). A worker that dies stops renewing; after ``ttl`` another takes the duty over. One that
stops cleanly releases it, so the next takes over at its next round.

A lease is about doing work once, not about correctness: a holder stalled past its ``ttl`` may
overlap with the next for a moment, so the duties themselves stay safe to run twice (closing a
vote is a conditional update, the day's notices are written at most once a day each).

Times are UTC from the caller's clock (a test passes its own). Across machines that assumes
clocks kept within a fraction of ``ttl`` of each other, as NTP does.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from forum.models import Lease as LeaseRow

LEASES = LeaseRow.__table__


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_holder() -> str:
    """This process, recognisably in a log or a ``select * from lease``, and unique per lease."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def take(engine: Engine, name: str, holder: str, until: datetime, at: datetime) -> bool:
    """``holder`` holds ``name`` until ``until`` if it was free, expired by ``at``, or already its own.
    True if it now holds it; the row is left as it was otherwise."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[engine.dialect.name]
    stmt = dialect.insert(LEASES).values(name=name, holder=holder, expires_at=until)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LEASES.c.name],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=(LEASES.c.holder == stmt.excluded.holder) | (LEASES.c.expires_at <= at),
    ).returning(LEASES.c.holder)
    with engine.begin() as connection:
        return connection.execute(stmt).first() is not None


def release(engine: Engine, name: str, holder: str) -> bool:
    """Give ``name`` up if ``holder`` holds it (a lease taken over since is left to its new holder)."""
    with engine.begin() as connection:
        return connection.execute(delete(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder)).rowcount > 0


def holder_of(engine: Engine, name: str, at: datetime | None = None) -> str | None:
    """Who holds ``name`` at ``at`` (default: now), if anyone."""
    at = at or utc_now()
    with engine.connect() as connection:
        return connection.execute(select(LEASES.c.holder).where(LEASES.c.name == name,
                                                                 LEASES.c.expires_at > at)).scalar()


@dataclass
class Lease:
    """One worker's claim on one duty: :meth:`hold` every round (it takes or renews), :meth:`release`
    at shutdown."""

    engine: Engine
    name: str
    ttl: timedelta
    holder: str = field(default_factory=new_holder)
    clock: Callable[[], datetime] = utc_now

    def hold(self, ttl: timedelta | None = None) -> bool:
        """Take or renew, for ``ttl`` (default: the lease's own) from now; whether this worker holds it."""
        at = self.clock()
        return take(self.engine, self.name, self.holder, at + (ttl or self.ttl), at)

    def release(self) -> bool:
        return release(self.engine, self.name, self.holder)

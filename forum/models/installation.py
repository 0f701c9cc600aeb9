"""The installation: sign-in throttling, the instance secret, staff sessions and their audit log,
and the journal of household register imports."""

from __future__ import annotations

from decimal import Decimal

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, Index, Numeric, Text
from sqlmodel import Field, SQLModel

from forum.models.base import now


class ThrottleCount(SQLModel, table=True):
    """Failed attempts of one key (an address, an account, a meeting) in its current window."""

    key: str = Field(primary_key=True, max_length=200)
    window_start: NaiveDatetime = Field(index=True)
    failures: int = 0


class InstanceSecret(SQLModel, table=True):
    """A key generated once per installation and kept with its data (see ``db.instance_secret``)."""

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)


class FiguresVersion(SQLModel, table=True):
    """One row (id 1) whose version the database itself adds one to on every change to what the
    dashboards count: triggers on issue, meeting and attendance (migration 0013_page_indexes), so
    writes from any process, by the ORM or in bulk, are counted. ``forum.oversight`` keeps a
    dashboard's figures for as long as the version stays the same."""

    id: int = Field(primary_key=True)
    version: int = 0


class RecordVersion(SQLModel, table=True):
    """One row (id 1) whose version the database adds one to in every transaction that changes the
    record: triggers on every table but the installation's bookkeeping (migration
    0014_record_version). ``forum.page_cache`` serves a page rendered once for as long as it stays."""

    id: int = Field(primary_key=True)
    version: int = Field(default=0, sa_type=BigInteger)


# ---------------------------------------------------------------- sessions and the staff audit log


class StaffSession(SQLModel, table=True):
    """One staff sign-in on one device. The cookie holds a random token; only its SHA-256 is kept,
    so a copy of the database opens no session. Ending it here ends it whatever the cookie says."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: NaiveDatetime
    last_seen_at: NaiveDatetime
    ended_at: NaiveDatetime | None = None
    ended_why: str = Field(default="", max_length=20)  # logout, signin, password, disabled, tablet, idle, expired
    address: str = Field(default="", max_length=60)
    user_agent: str = Field(default="", max_length=120)


class AuditEntry(SQLModel, table=True):
    """One change of state by staff (or a sign-in attempt): who, what, when, from where.

    Append-only: the app writes rows with ``forum.audit.record`` and has no path that changes
    or deletes one."""

    __table_args__ = (Index("ix_auditentry_target", "target_type", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    actor: str = Field(max_length=60)  # the user's username, or the name a refused sign-in gave
    address: str = Field(default="", max_length=60)
    action: str = Field(max_length=40, index=True)
    target_type: str = Field(default="", max_length=20)
    target_id: int | None = None
    community_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class ImportJob(SQLModel, table=True):
    """A register import written in chunks (``forum.household_register.journal``): its journal.

    ``status``: ``staging`` while its plan is copied into ``ImportStage`` (the register untouched),
    ``pending`` once the whole plan is staged and chunks are being applied (``applied`` counts the
    staged steps written), ``applied`` when done. ``active`` is 1 while staging or pending and NULL
    after, so its unique constraint lets one import run at a time, across workers.
    """

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    digest: str = Field(max_length=64)
    status: str = Field(default="staging", max_length=16)
    active: int | None = Field(default=1, unique=True)
    total: int = 0
    applied: int = 0
    created: int = 0
    updated: int = 0
    actor: str = Field(default="", max_length=60)  # "" for the command line, which keeps no audit entry
    started_at: NaiveDatetime = Field(default_factory=now)
    # Moved by every chunk: an active job whose mark stands still is one a crash left behind.
    progress_at: NaiveDatetime = Field(default_factory=now)
    finished_at: NaiveDatetime | None = None


class ImportStage(SQLModel, table=True):
    """One step of a staged import, applied in ``seq`` order. New people and units are named by
    ``person_ref`` / ``household_ref`` (their place in the plan) until written; ``result_id`` then
    keeps the id they got, so a resumed import links owners to the same rows."""

    job_id: int = Field(foreign_key="importjob.id", primary_key=True)
    seq: int = Field(primary_key=True)
    kind: str = Field(max_length=16)
    household_id: int | None = None
    household_ref: int | None = None
    person_id: int | None = None
    person_ref: int | None = None
    name: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, max_length=40)
    building: str | None = Field(default=None, max_length=20)
    unit: str | None = Field(default=None, max_length=20)
    room: str | None = Field(default=None, max_length=20)
    floor_area: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 2), nullable=True))
    developer_held: bool | None = None
    result_id: int | None = None

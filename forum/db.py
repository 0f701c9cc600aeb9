"""The database: one engine per app, one session per request, schema by Alembic migrations."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from forum import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from forum.models import InstanceSecret
from forum.paths import MIGRATIONS
from forum.settings import DATABASE_CONNECTIONS


def make_engine(url: str, connections: int = DATABASE_CONNECTIONS) -> Engine:
    """The engine for ``url``; on PostgreSQL one that opens at most ``connections`` at once."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # An in-memory database lives only as long as its one connection.
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - exercised by every test
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not memory:
                # WAL lets tablets read while a ballot or a decision is being written.
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kept = min(10, connections)
    return create_engine(url, pool_pre_ping=True, pool_size=kept, max_overflow=connections - kept)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to run on every start."""
    command.upgrade(alembic_config(engine), revision)


def instance_secret(engine: Engine, name: str = "session") -> str:
    """The installation's key called ``name``: made on first use, then read back on every start.

    Kept in the database rather than in memory so that a restart (or a second worker) signs
    nobody out; ``FORUM_SECRET_KEY`` overrides it where keys are managed elsewhere.
    """
    with Session(engine) as session:
        found = session.get(InstanceSecret, name)
        if found is not None:
            return found.value
        session.add(InstanceSecret(name=name, value=secrets.token_urlsafe(32)))
        try:
            session.commit()
        except IntegrityError:  # another worker made it first: theirs counts
            session.rollback()
        return session.get(InstanceSecret, name).value


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session

"""The tests' databases: SQLite files (the default) or PostgreSQL databases, chosen by
``FORUM_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).

Either way a test gets a database of its own, empty or a copy of one built once per worker (the
migrated schema, the demo): a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL,
which copies files too (tens of milliseconds) instead of running migrations and the demo again.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TEST_DATABASE_URL = os.environ.get("FORUM_TEST_DATABASE_URL", "").strip()
ON_POSTGRES = bool(TEST_DATABASE_URL) and make_url(TEST_DATABASE_URL).get_backend_name() == "postgresql"
if TEST_DATABASE_URL and not ON_POSTGRES and not TEST_DATABASE_URL.startswith("sqlite"):
    raise RuntimeError(f"FORUM_TEST_DATABASE_URL must name PostgreSQL or SQLite, not {TEST_DATABASE_URL!r}")


def sqlite_only(why: str):
    """For a test of something SQLite-only by design (its files, its write-ahead log, its backup
    API): run on SQLite, skipped with ``why`` where the tests run on PostgreSQL."""
    import pytest

    return pytest.mark.skipif(ON_POSTGRES, reason=f"SQLite only: {why}")


class SQLiteFiles:
    """Databases as files in one directory; a copy is a file copy (the source's engine disposed,
    so its write-ahead log is folded into the file)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def fresh(self, name: str = "forum") -> str:
        path = self.directory / f"{name}-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}"

    def copy(self, url: str, name: str = "copy", *, spare: bool = False) -> str:  # noqa: ARG002 - as PostgreSQL's
        copied = self.fresh(name)
        shutil.copy(make_url(url).database, make_url(copied).database)
        return copied

    def drop(self, url: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{make_url(url).database}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresDatabases:
    """Databases named ``forumtest_<this run>_<n>`` on the server of ``url``, each dropped after
    use and all at the end: other sessions use the same server, so only these are ever dropped.

    Copying and dropping take the server tens of milliseconds when idle but a second or more on a
    busy machine, so both happen beside the tests: a copy of a template asked for with ``spare``
    is made ahead for the next test, and drops are left to a background thread."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=2)
        self.run = uuid.uuid4().hex[:8]
        self.made: set[str] = set()
        self.count = itertools.count(1)
        self.lock = threading.Lock()
        # Apart, so that a copy the next test waits for never queues behind drops.
        self.copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-database-copies")
        self.dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-database-drops")
        self.spares: dict[tuple[str, str], Future[str]] = {}

    def _name(self, name: str) -> str:
        return f"forumtest_{self.run}_{name}_{next(self.count)}"[:63]

    def _url(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def _terminate(self, database: str) -> None:
        # With a timeout (PostgreSQL 14 and later) it waits for each to end, not only signals it.
        with self.admin.connect() as connection:
            connection.execute(text("select pg_terminate_backend(pid, 5000) from pg_stat_activity "
                                    "where datname = :database and pid <> pg_backend_pid()"), {"database": database})

    def connected(self, url: str) -> int:
        """How many connections the database at ``url`` has now."""
        with self.admin.connect() as connection:
            return connection.execute(text("select count(*) from pg_stat_activity where datname = :name"),
                                      {"name": make_url(url).database}).scalar_one()

    def _create(self, database: str, template: str | None = None) -> str:
        with self.lock:
            self.made.add(database)
        if template is not None:
            # A template must have no other connection: the source is one of ours, its engines
            # disposed, but a finished test's pool may still be closing.
            self._terminate(template)
        with self.admin.connect() as connection:
            if template is None:
                connection.execute(text(f'create database "{database}"'))
            else:
                connection.execute(text(f'create database "{database}" template "{template}"'))
        return self._url(database)

    def fresh(self, name: str = "forum") -> str:
        return self._create(self._name(name))

    def copy(self, url: str, name: str = "copy", *, spare: bool = False) -> str:
        """A new database holding what the one at ``url`` holds (which nobody may be connected to)."""
        source = make_url(url).database
        made = self.spares.pop((source, name), None)
        copied = made.result() if made is not None else self._create(self._name(name), source)
        if spare:
            self.spares[source, name] = self.copier.submit(self._create, self._name(name), source)
        return copied

    def _drop(self, database: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{database}" with (force)'))
        with self.lock:
            self.made.discard(database)

    def drop(self, url: str) -> None:
        database = make_url(url).database
        with self.lock:
            if database not in self.made:
                raise ValueError(f"{database} was not made by these tests; not dropping it")
        # Its connections end now, not when the drop's turn comes: on a busy machine the drops fall
        # behind by dozens, and a connection returned to a pool after that pool was disposed (a
        # thread finishing as the app stopped) stays open until the garbage collector finds the
        # pool, so two workers' leftovers reached the server's hundred connections.
        self._terminate(database)
        self.dropper.submit(self._drop, database)

    def close(self) -> None:
        self.copier.shutdown(wait=True)
        self.dropper.shutdown(wait=True)
        for database in sorted(self.made):
            self._drop(database)
        self.admin.dispose()


def reachable(url: str) -> str:
    """'' if PostgreSQL at ``url`` answers, else why not."""
    try:
        import psycopg

        psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                        connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return str(error)
    return ""

"""`forum backup` and `forum restore`: a consistent copy while a writer is busy, and a restore that
refuses what it should and leaves a database in today's schema."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import Session, func, select

from forum import backup
from forum import db as database
from forum.cli import main
from forum.models import Issue, Meeting
from tests.databases import sqlite_only

# These back up the demo database as a SQLite file (SQLite's online backup API); on PostgreSQL the
# same commands go through pg_dump, tested at the end of this file in either run.
SQLITE_DEMO = sqlite_only("`forum backup` of the demo as a SQLite file; pg_dump's path is tested below")


def run(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"FORUM_DATABASE_URL": url}, catch_exceptions=False)


def counts(url: str) -> dict[str, int]:
    engine = database.make_engine(url)
    try:
        with Session(engine) as db:
            return {"meetings": db.exec(select(func.count()).select_from(Meeting)).one(),
                    "issues": db.exec(select(func.count()).select_from(Issue)).one()}
    finally:
        engine.dispose()


def head_revision(url: str) -> str:
    engine = database.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("select version_num from alembic_version")).scalar_one()
    finally:
        engine.dispose()


class Writer(threading.Thread):
    """Commits two rows per transaction into the live database until told to stop, so a copy
    taken mid-way is consistent only if it holds whole transactions (an even number of rows)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.busy = threading.Event()  # set once it has committed a good few transactions
        self.stop = threading.Event()
        self.committed = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            while not self.stop.is_set():
                conn.execute("begin immediate")
                conn.execute("insert into instancesecret (name, value) values (?, 'a')", (f"w{self.committed}a",))
                conn.execute("insert into instancesecret (name, value) values (?, 'b')", (f"w{self.committed}b",))
                conn.execute("commit")
                self.committed += 1
                if self.committed >= 20:
                    self.busy.set()
            conn.close()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
            self.busy.set()


def written_pairs(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("select count(*) from instancesecret where name like 'w%'").fetchone()[0]
    conn.close()
    assert rows % 2 == 0, f"the copy holds half a transaction ({rows} rows)"
    return rows // 2


@SQLITE_DEMO
def test_a_sqlite_database_round_trips_while_a_writer_is_busy(demo_engine, tmp_path):
    source_url = str(demo_engine.url)
    source = Path(demo_engine.url.database)
    before = counts(source_url)
    writer = Writer(source)
    writer.start()
    try:
        assert writer.busy.wait(30) and writer.error is None
        copy = tmp_path / "backup.forum"
        done = run(source_url, "backup", str(copy))
        assert done.exit_code == 0, done.output
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None
    pairs = written_pairs(copy)
    assert 20 <= pairs <= writer.committed
    target_url = f"sqlite:///{tmp_path / 'restored' / 'forum.db'}"
    restored = run(target_url, "restore", str(copy))
    assert restored.exit_code == 0, restored.output
    assert counts(target_url) == before
    assert written_pairs(tmp_path / "restored" / "forum.db") == pairs
    assert head_revision(target_url) == head_revision(source_url)
    with sqlite3.connect(tmp_path / "restored" / "forum.db") as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()


@SQLITE_DEMO
def test_restore_refuses_a_database_that_holds_data(demo_engine, tmp_path):
    copy = tmp_path / "backup.forum"
    assert run(str(demo_engine.url), "backup", str(copy)).exit_code == 0
    other = tmp_path / "other.db"
    other_url = f"sqlite:///{other}"
    engine = database.make_engine(other_url)
    database.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("insert into area (name, slug, kind) values ('别的社区', 'other', 'community')"))
    engine.dispose()
    refused = run(other_url, "restore", str(copy))
    assert refused.exit_code != 0 and "already holds data" in refused.output and "--force" in refused.output
    assert counts(other_url) == {"meetings": 0, "issues": 0}  # untouched
    forced = run(other_url, "restore", "--force", str(copy))
    assert forced.exit_code == 0, forced.output
    assert counts(other_url) == counts(str(demo_engine.url))


@SQLITE_DEMO
def test_an_empty_fresh_database_may_be_restored_into(demo_engine, tmp_path):
    copy = tmp_path / "backup.forum"
    assert run(str(demo_engine.url), "backup", str(copy)).exit_code == 0
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = database.make_engine(fresh_url)
    database.upgrade(engine)
    database.instance_secret(engine)  # a server started once: its key is no data
    engine.dispose()
    assert run(fresh_url, "restore", str(copy)).exit_code == 0
    assert counts(fresh_url) == counts(str(demo_engine.url))


@pytest.mark.parametrize("content", [b"", b"hello, not a database", b"SQLite format 3\x00" + b"\x00" * 200])
def test_restore_refuses_a_file_that_is_not_a_forum_backup(tmp_path, content):
    bogus = tmp_path / "bogus.forum"
    bogus.write_bytes(content)
    target = tmp_path / "target.db"
    done = run(f"sqlite:///{target}", "restore", str(bogus))
    assert done.exit_code != 0 and "Error:" in done.output
    assert not target.exists()


def test_restore_refuses_a_sqlite_database_of_something_else(tmp_path):
    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table notes (body text)")
    conn.close()
    done = run(f"sqlite:///{tmp_path / 'target.db'}", "restore", str(other))
    assert done.exit_code != 0 and "not forum's" in done.output
    assert not (tmp_path / "target.db").exists()


@SQLITE_DEMO
def test_backup_does_not_overwrite_a_file_unless_forced(demo_engine, tmp_path):
    copy = tmp_path / "backup.forum"
    copy.write_text("an older backup")
    refused = run(str(demo_engine.url), "backup", str(copy))
    assert refused.exit_code != 0 and "exists" in refused.output
    assert copy.read_text() == "an older backup"
    assert run(str(demo_engine.url), "backup", "--force", str(copy)).exit_code == 0
    assert copy.read_bytes().startswith(b"SQLite format 3")


def test_a_backup_of_an_older_schema_is_upgraded_on_restore(tmp_path):
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = database.make_engine(old_url)
    database.upgrade(engine, "0002")
    engine.dispose()
    copy = tmp_path / "old.forum"
    assert run(old_url, "backup", str(copy)).exit_code == 0
    new_url = f"sqlite:///{tmp_path / 'new.db'}"
    assert run(new_url, "restore", str(copy)).exit_code == 0
    head = database.make_engine("sqlite://")
    database.upgrade(head)
    with head.connect() as conn:
        expected = conn.execute(text("select version_num from alembic_version")).scalar_one()
    head.dispose()
    assert head_revision(new_url) == expected != "0002"


def test_nothing_to_back_up(tmp_path):
    done = run(f"sqlite:///{tmp_path / 'missing.db'}", "backup", str(tmp_path / "x.forum"))
    assert done.exit_code != 0 and "no database" in done.output
    assert not (tmp_path / "x.forum").exists()


def test_postgresql_without_pg_dump_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(backup.BackupError, match="pg_dump is not on PATH"):
        backup.backup("postgresql+psycopg://postgres@127.0.0.1:5432/test", tmp_path / "x.dump")
    assert not (tmp_path / "x.dump").exists()


# ---------------------------------------------------------------- PostgreSQL

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_databases():
    """Two fresh databases of their own (pg_dump works on whole databases), dropped afterwards."""
    import os
    import shutil

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if os.environ.get("CI"):
            pytest.fail("pg_dump and pg_restore are required in CI")
        pytest.skip("pg_dump/pg_restore not on PATH")
    from sqlalchemy import create_engine

    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        admin.connect().close()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    names = [f"forum_bk_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'create database "{name}"'))
    try:
        yield [PG_ADMIN.rsplit("/", 1)[0] + f"/{name}" for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def test_a_postgresql_database_round_trips(pg_databases, tmp_path):
    from forum import demo

    source_url, target_url = pg_databases
    engine = database.make_engine(source_url)
    database.upgrade(engine)
    with Session(engine) as session:
        demo.seed(session)
        session.commit()
    engine.dispose()
    copy = tmp_path / "forum.dump"
    done = run(source_url, "backup", str(copy))
    assert done.exit_code == 0, done.output
    assert copy.read_bytes().startswith(b"PGDMP")
    restored = run(target_url, "restore", str(copy))
    assert restored.exit_code == 0, restored.output
    assert counts(target_url) == counts(source_url) and counts(source_url)["meetings"] > 0
    assert head_revision(target_url) == head_revision(source_url)
    # Now the target holds data: a second restore needs --force.
    again = run(target_url, "restore", str(copy))
    assert again.exit_code != 0 and "already holds data" in again.output
    assert run(target_url, "restore", "--force", str(copy)).exit_code == 0
    assert counts(target_url) == counts(source_url)


@SQLITE_DEMO
def test_a_sqlite_backup_is_not_restored_into_postgresql(pg_databases, demo_engine, tmp_path):
    copy = tmp_path / "backup.forum"
    assert run(str(demo_engine.url), "backup", str(copy)).exit_code == 0
    done = run(pg_databases[0], "restore", str(copy))
    assert done.exit_code != 0 and "not a pg_dump archive" in done.output

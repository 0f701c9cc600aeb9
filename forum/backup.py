"""Backups of a forum database that can be taken while the server runs, and restoring them.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database in one step
under a read lock, so the copy is one consistent moment even while tablets are voting; the
copy is written beside the target and renamed into place, so a half-written file never bears
the backup's name. PostgreSQL: ``pg_dump`` (custom format), which reads one snapshot; restored
with ``pg_restore``. Either way a restore refuses a file that is not a forum database, refuses
to overwrite one that holds data unless forced, and runs the migrations afterwards, so a backup
from an older forum comes back in today's schema.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlmodel import SQLModel

from forum import db as database

# Tables whose rows do not make a database "hold data": the schema's version, the installation
# key a first start writes, the dashboards' figures version the migrations start, and the run-once
# leases a running server takes.
BOOKKEEPING = {"alembic_version", "instancesecret", "figuresversion", "recordversion", "lease"}
# What marks a forum database, beside Alembic's version table.
FORUM_TABLES = {"alembic_version", "area", "meeting", "issue"}
PG_DUMP_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore refused or failed, with a message for the person at the terminal."""


# ---------------------------------------------------------------- which database


def _url(database_url: str) -> URL:
    return make_url(database_url)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up or restore into")
    return Path(url.database)


def _pg_command(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH; install the PostgreSQL client tools "
                          f"(apt-get install postgresql-client) to back up or restore a PostgreSQL database")
    return found


def _pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it
    (a password on the command line would show in every process listing)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _write_beside(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(Path(temporary))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- backup


def backup(database_url: str, file: Path, *, force: bool = False) -> str:
    """Write a consistent copy of the database to ``file``; returns what was done, in words."""
    if file.exists() and not force:
        raise BackupError(f"{file} exists; choose another name or pass --force to replace it")
    url = _url(database_url)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"there is no database at {source}")
        _check_sqlite(source, what="the database")

        def copy(temporary: Path) -> None:
            # Read-write, not mode=ro: a database in WAL mode needs its -shm file to be readable.
            with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(temporary) as dst:
                src.backup(dst)  # pages=-1: one step, one consistent moment
                # A plain rollback-journal file: one self-contained file, whatever the server's WAL.
                dst.execute("PRAGMA journal_mode=DELETE")
            src.close()
            dst.close()

        _write_beside(file, copy)
        return f"backed up {source} to {file}"
    if url.get_backend_name() == "postgresql":
        pg_dump = _pg_command("pg_dump")
        dsn, env = _pg_connection(url)

        def dump(temporary: Path) -> None:
            done = subprocess.run([pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                                   f"--file={temporary}", f"--dbname={dsn}"],
                                  env=env, capture_output=True, text=True, timeout=3600)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[-800:]}")

        _write_beside(file, dump)
        return f"backed up the PostgreSQL database {url.database} to {file}"
    raise BackupError(f"forum backs up SQLite and PostgreSQL databases, not {url.get_backend_name()}")


# ---------------------------------------------------------------- checks


def _check_sqlite(path: Path, what: str) -> None:
    with open(path, "rb") as f:
        if f.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{what} at {path} is not a SQLite database")
    try:
        with sqlite3.connect(path, timeout=30) as conn:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
            if not FORUM_TABLES <= tables:
                raise BackupError(f"{what} at {path} is a SQLite database but not forum's")
            version = conn.execute("select version_num from alembic_version").fetchone()
            if version is None:
                raise BackupError(f"{what} at {path} has no schema version")
            if conn.execute("pragma quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{what} at {path} is damaged (SQLite's quick_check fails)")
        conn.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{what} at {path} cannot be read: {error}") from None


def _check_pg_dump(file: Path) -> None:
    with open(file, "rb") as f:
        if f.read(5) != PG_DUMP_MAGIC:
            raise BackupError(f"{file} is not a pg_dump archive (forum backup of a PostgreSQL database)")
    listing = subprocess.run([_pg_command("pg_restore"), "--list", str(file)], capture_output=True, text=True,
                             timeout=600)
    if listing.returncode != 0:
        raise BackupError(f"{file} cannot be read: {listing.stderr.strip()[-400:]}")
    found = set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+)", listing.stdout, flags=re.M))
    if not FORUM_TABLES <= found:
        raise BackupError(f"{file} is a PostgreSQL backup but not of a forum database")


def holds_data(database_url: str) -> bool:
    """Whether any forum table in the database has a row (its version and key aside)."""
    url = _url(database_url)
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return False
    engine = database.make_engine(database_url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for table in SQLModel.metadata.sorted_tables:
                if table.name in present and table.name not in BOOKKEEPING:
                    if conn.execute(text(f'select 1 from "{table.name}" limit 1')).first() is not None:
                        return True
        return False
    finally:
        engine.dispose()


# ---------------------------------------------------------------- restore


def restore(database_url: str, file: Path, *, force: bool = False) -> str:
    """Put the backup in ``file`` in place of the database, then bring its schema up to date."""
    if not file.is_file():
        raise BackupError(f"there is no backup file at {file}")
    url = _url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        _check_sqlite(file, what="the backup")
    elif backend == "postgresql":
        _check_pg_dump(file)
    else:
        raise BackupError(f"forum restores SQLite and PostgreSQL databases, not {backend}")
    if not force and holds_data(database_url):
        raise BackupError("the database already holds data; restoring would replace all of it. "
                          "Pass --force if that is what you want (stop the server first)")
    if backend == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(file, timeout=30) as src, sqlite3.connect(target, timeout=30) as dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        pg_restore = _pg_command("pg_restore")
        dsn, env = _pg_connection(url)
        done = subprocess.run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
                               "--single-transaction", "--exit-on-error", f"--dbname={dsn}", str(file)],
                              env=env, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed, nothing was changed: {done.stderr.strip()[-800:]}")
    engine = database.make_engine(database_url)
    try:
        database.upgrade(engine)
    finally:
        engine.dispose()
    return f"restored {file} into {url.render_as_string(hide_password=True)} and brought its schema up to date"

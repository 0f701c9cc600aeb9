"""How many connections a forum process opens to PostgreSQL (FORUM_DATABASE_CONNECTIONS), and
`forum serve`'s warning when its workers could ask the server for more than it takes."""

from __future__ import annotations

import os
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from forum import db as database
from forum import server
from forum.app import create_app
from forum.settings import DATABASE_CONNECTIONS, Settings


def test_the_setting_is_read_and_checked():
    assert Settings.from_env({}).database_connections == DATABASE_CONNECTIONS == 30
    assert Settings.from_env({"FORUM_DATABASE_CONNECTIONS": "12"}).database_connections == 12
    for wrong in ("3", "1001", "ten", "-5", "１２"):
        with pytest.raises(ValueError, match="FORUM_DATABASE_CONNECTIONS .* from 4 to 1000"):
            Settings.from_env({"FORUM_DATABASE_CONNECTIONS": wrong})


def test_a_process_opens_at_most_its_connections(postgres_databases):
    url = postgres_databases.fresh("connections")
    engine = database.make_engine(url, 12)
    try:
        held = [engine.connect() for _ in range(12)]
        for connection in held:
            connection.execute(text("select 1"))
        assert postgres_databases.connected(url) == 12
        assert engine.pool.size() == 10  # kept open between uses; the other two closed after
        for connection in held:
            connection.close()
        # Ten kept for the next use, the other two closed (their server ends exit a moment later).
        assert engine.pool.checkedin() == 10 and engine.pool.overflow() == 0
    finally:
        engine.dispose()
    small = database.make_engine(url, 4)
    try:
        assert small.pool.size() == 4 and small.pool.overflow() == -4  # none beyond the four
    finally:
        small.dispose()


def test_the_app_takes_the_setting(postgres_databases):
    url = postgres_databases.fresh("app")
    engine = database.make_engine(url)
    database.upgrade(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, secret_key="k", language="en", database_connections=6))
    try:
        assert app.state.engine.pool.size() == 6
    finally:
        app.state.engine.dispose()


def test_the_warning_counts_every_worker():
    assert server.connections_warning(3, 30, 97) is None  # 90 fit
    assert server.connections_warning(1, 30, None) is None  # SQLite, or unreadable: nothing to say
    said = server.connections_warning(4, 30, 97)
    assert said is not None and "120" in said and "97" in said and "FORUM_DATABASE_CONNECTIONS" in said


def test_serve_warns_when_the_workers_would_not_fit(postgres_databases, monkeypatch):
    from forum import cli

    url = postgres_databases.fresh("serve")
    engine = database.make_engine(url)
    available = server.postgres_connections_available(engine)
    engine.dispose()
    assert available is not None and available > 4
    started = []
    monkeypatch.setattr(server, "serve_workers", lambda *a, **k: started.append(a))
    env = {**os.environ, "FORUM_DATABASE_URL": url, "FORUM_BROADCAST_URL": "redis://127.0.0.1:6379/0",
           "FORUM_BROADCAST_CHANNEL": f"test-{uuid.uuid4().hex[:8]}"}
    per = available // 2 + 1  # two of them would not fit
    result = CliRunner().invoke(cli.main, ["serve", "--workers", "2"],
                                env={**env, "FORUM_DATABASE_CONNECTIONS": str(per)})
    assert result.exit_code == 0, result.output
    assert f"may open up to {2 * per} connections" in result.output and len(started) == 1
    result = CliRunner().invoke(cli.main, ["serve", "--workers", "2"],
                                env={**env, "FORUM_DATABASE_CONNECTIONS": str(available // 2)})
    assert result.exit_code == 0, result.output
    assert "connections to PostgreSQL" not in result.output and len(started) == 2

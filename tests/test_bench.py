"""The benchmarks run end to end with a handful of tablets and print their figures: on SQLite in
one process, and on PostgreSQL with two workers sharing Redis."""

from __future__ import annotations

import os
import re
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from forum.bench import harness
from forum.cli import main

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
TWO_WORKERS = ["--database", POSTGRES, "--broadcast", REDIS, "--workers", "2"]


def invoke(args: list[str], timeout: float = 180):
    # In a thread of its own: the browser tests' Playwright may hold this thread's event loop.
    results = []
    thread = threading.Thread(target=lambda: results.append(CliRunner().invoke(main, args)))
    thread.start()
    thread.join(timeout)
    assert results, f"forum {' '.join(args)} did not finish within {timeout} s"
    return results[0]


@pytest.fixture
def postgres_and_redis() -> None:
    """PostgreSQL and Redis on this machine, as on the project's; skips where absent, fails in CI."""
    try:
        import psycopg
        import redis

        psycopg.connect(POSTGRES.replace("+psycopg", ""), connect_timeout=3).close()
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL and Redis are required in CI: {error}")
        pytest.skip(f"PostgreSQL or Redis not reachable: {error}")


def bench_databases() -> set[str]:
    engine = create_engine(POSTGRES)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("select datname from pg_database where datname like 'forum_bench_%'"))
                       .scalars())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_bench_live_smoke():
    # In a thread of its own: the browser tests' Playwright may hold this thread's event loop.
    results = []
    thread = threading.Thread(target=lambda: results.append(
        CliRunner().invoke(main, ["bench", "live", "--tablets", "5", "--actions", "4"])))
    thread.start()
    thread.join(120)
    result = results[0]
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "5 tablets" in out
    assert re.search(r"forum: action → last tablet\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"bare websockets broadcast\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"ratio p50 forum/bare: [\d.]+", out)
    assert re.search(r"server memory per tablet: -?[\d.]+ KB", out)


@pytest.mark.slow
def test_bench_vote_smoke():
    results = []
    thread = threading.Thread(target=lambda: results.append(
        CliRunner().invoke(main, ["bench", "vote", "--voters", "12", "--spread", "0.5", "--rounds", "2"])))
    thread.start()
    thread.join(180)
    result = results[0]
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert out.count("totals exact: yes") == 2
    assert re.search(r"ballots 12 / 12 eligible", out)
    assert re.search(r"cast latency ms: p50 [\d.]+ · p99 [\d.]+", out)
    assert re.search(r"median of 2 rounds: cast latency ms p50 [\d.]+ · p99 [\d.]+ \(bare p50 [\d.]+", out)
    assert re.search(r"bare HTTP server, same schedule and \d+-byte replies: p50 [\d.]+ · p99 [\d.]+ ms · "
                     r"ratio p50 forum/bare [\d.]+", out)


def test_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert harness.percentile(values, 50) in (50.0, 51.0)
    assert harness.percentile(values, 95) in (95.0, 96.0)
    assert harness.percentile(values, 100) == 100.0


@pytest.mark.slow
def test_bench_meetings_smoke():
    result = invoke(["bench", "meetings", "--meetings", "3", "--tablets", "4", "--actions", "2", "--every", "0.5"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "3 meetings × 4 tablets (12 tablets), 2 actions each · SQLite, 1 worker" in out
    assert re.search(r"forum: action → its last tablet\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"bare websockets broadcast, same load\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"ratio forum/bare: p50 [\d.]+ · p95 [\d.]+", out)
    assert "actions timed: 6 of 6 (every push arrived)" in out


@pytest.mark.slow
@pytest.mark.parametrize("rooms", ["meeting", "spread"])
def test_bench_live_on_postgres_with_two_workers(postgres_and_redis, rooms):
    # Against one process on the same PostgreSQL server, each action timed on both in turn (each
    # in a database of its own, made and dropped by harness.database_for, tested below).
    result = invoke(["bench", "live", "--tablets", "6", "--actions", "4", *TWO_WORKERS, "--rooms", rooms,
                     "--against-one-process", "same-database"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    where = "PostgreSQL \\+ Redis, 2 workers" + (", rooms spread" if rooms == "spread" else "")
    assert re.search(f"6 tablets, 4 actions · {where} ·", result.output)
    assert re.search(r"forum: action → last tablet\s+[\d.]+\s+[\d.]+\s+[\d.]+", result.output)
    assert re.search(r"forum, PostgreSQL, 1 worker\s+[\d.]+\s+[\d.]+\s+[\d.]+", result.output)
    assert re.search(f"ratio p50 {where} / PostgreSQL, 1 worker: [\\d.]+ ", result.output)


@pytest.mark.slow
def test_bench_live_against_one_process_on_sqlite():
    result = invoke(["bench", "live", "--tablets", "5", "--actions", "4", "--against-one-process", "sqlite"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert re.search(r"forum: action → last tablet\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"forum, SQLite, 1 worker\s+[\d.]+\s+[\d.]+\s+[\d.]+", out)
    assert re.search(r"ratio p50 SQLite, 1 worker / SQLite, 1 worker: [\d.]+ \(each action timed on both in turn\)",
                     out)
    assert re.search(r"^forum: server CPU per action [\d.]+ ms .*; the bench's tablets taking it in: [\d.]+ ms$",
                     out, re.M)
    assert re.search(r"^one process \(SQLite, 1 worker\): server CPU per action [\d.]+ ms", out, re.M)


def test_bench_live_refuses_an_unknown_comparison():
    result = CliRunner().invoke(main, ["bench", "live", "--against-one-process", "mysql"])
    assert result.exit_code == 2 and "mysql" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("rooms", ["meeting", "spread"])
def test_bench_meetings_on_postgres_with_two_workers(postgres_and_redis, rooms):
    result = invoke(["bench", "meetings", "--meetings", "2", "--tablets", "4", "--actions", "2", "--every", "0.5",
                     *TWO_WORKERS, "--rooms", rooms])
    assert result.exit_code == 0, result.output + repr(result.exception)
    where = "PostgreSQL + Redis, 2 workers" + (", rooms spread" if rooms == "spread" else "")
    assert f"2 meetings × 4 tablets (8 tablets), 2 actions each · {where} ·" in result.output
    assert "actions timed: 4 of 4 (every push arrived)" in result.output


@pytest.mark.slow
def test_bench_vote_open_ballot_on_postgres_with_two_workers_is_exact(postgres_and_redis):
    result = invoke(["bench", "vote", "--voters", "8", "--spread", "0.5", "--open", *TWO_WORKERS])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "8 voters on tablets, open ballot" in result.output and "PostgreSQL + Redis, 2 workers" in result.output
    assert "totals exact: yes" in result.output
    assert re.search(r"ballots 8 / 8 eligible", result.output)


@pytest.mark.slow
def test_bench_vote_on_postgres_with_two_workers_is_exact(postgres_and_redis):
    result = invoke(["bench", "vote", "--voters", "8", "--spread", "0.5", *TWO_WORKERS])
    assert "8 voters on tablets, secret ballot" in result.output
    assert "PostgreSQL + Redis, 2 workers" in result.output
    assert "totals exact: yes" in result.output, result.output
    assert result.exit_code == 0


@pytest.mark.parametrize(("args", "refusal"), [
    (["--workers", "2"], "--workers 2 needs --broadcast"),
    (["--database", "sqlite:///x.db"], "it must be a PostgreSQL URL"),
    (["--broadcast", "http://127.0.0.1:6379"], "--broadcast is 'http://127.0.0.1:6379'; it must be a Redis address"),
])
def test_where_a_benchmark_cannot_run_is_said_before_it_starts(args, refusal):
    for bench in ("live", "vote", "meetings"):
        result = CliRunner().invoke(main, ["bench", bench, *args])
        assert result.exit_code == 2, result.output
        assert refusal in result.output


def test_setups_describe_themselves():
    assert harness.Setup().describe() == "SQLite, 1 worker"
    assert harness.Setup(POSTGRES, REDIS, 2).describe() == "PostgreSQL + Redis, 2 workers"
    assert harness.Setup(POSTGRES, REDIS, 2, "spread").describe() == "PostgreSQL + Redis, 2 workers, rooms spread"
    assert harness.Setup(POSTGRES, REDIS, 2).refusal() is None
    assert "--rooms is 'sticky'" in harness.Setup(POSTGRES, REDIS, 2, "sticky").refusal()


def test_a_run_on_postgres_has_a_database_of_its_own_dropped_after(postgres_and_redis):
    with harness.database_for(harness.Setup(database=POSTGRES)) as url:
        assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:5432/forum_bench_")
        name = url.rsplit("/", 1)[1]
        assert name in bench_databases()
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("select current_database()")).scalar() == name
        engine.dispose()
    assert name not in bench_databases()


def test_a_run_on_sqlite_has_a_file_of_its_own_removed_after():
    with harness.database_for(harness.Setup()) as url:
        path = url.removeprefix("sqlite:///")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("create table t (x int)"))
        engine.dispose()
        assert os.path.exists(path)
    assert not os.path.exists(os.path.dirname(path))


def test_devices_spread_over_the_workers():
    servers = harness.Servers.__new__(harness.Servers)  # the addresses only, no process
    servers.ports = [8001, 8002]
    assert [servers.port(i) for i in range(4)] == [8001, 8002, 8001, 8002]
    assert servers.ws("/meetings/1/ws") == ["ws://127.0.0.1:8001/meetings/1/ws", "ws://127.0.0.1:8002/meetings/1/ws"]


def test_a_meetings_pages_go_to_its_worker_or_spread_over_all():
    servers = harness.Servers.__new__(harness.Servers)  # the addresses only, no process
    servers.ports = [8001, 8002, 8003]
    servers.rooms = "meeting"
    # As docs/deploy/nginx.conf routes them: every page of a meeting to one worker, meetings spread.
    assert servers.room(7) == ["ws://127.0.0.1:8002/meetings/7/ws?audience=tablet"]
    assert servers.room(7, first=2) == servers.room(7)
    workers = {f"127.0.0.1:{port}" for port in servers.ports}
    assert {servers.room(m)[0].split("/")[2] for m in range(3)} == workers
    servers.rooms = "spread"
    assert [u.split("/")[2] for u in servers.room(7, "screen", first=1)] == ["127.0.0.1:8002", "127.0.0.1:8003",
                                                                              "127.0.0.1:8001"]
    assert servers.room(7, "screen")[0] == "ws://127.0.0.1:8001/meetings/7/ws?audience=screen"


def test_bench_pages_smoke():
    results = []
    thread = threading.Thread(target=lambda: results.append(
        CliRunner().invoke(main, ["bench", "pages", "--requests", "5", "--seconds", "0.3", "--clients", "2"])))
    thread.start()
    thread.join(300)
    result = results[0]
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "the small demo" in out
    number = r"\s+[\d.]+"
    for label in ("community home", "community home, signed in", "issue page", "minutes", "dashboard: committee",
                  "dashboard: community", "dashboard: street", "dashboard: district", "issues: community, open",
                  "issues: district, open", "API: issues"):
        assert re.search(rf"^{re.escape(label)}{number * 9}", out, re.MULTILINE), label
    assert re.search(r"dashboard: district.*<300 (ok|MISSED)", out)
    assert re.search(r"throughput ratio to the bare page: lowest [\d.]+, target at least 0.50", out)


def test_bench_pages_fresh_renders_every_request(monkeypatch):
    from forum.bench import pages

    seen = {}

    def start(code, *args, env=None):  # the servers' environment, as the bench gives it
        seen.setdefault("forum", env)
        raise RuntimeError("stop here")

    monkeypatch.setattr(pages, "start", start)
    for flags, expected in ((["--fresh"], "0"), ([], "64")):
        seen.clear()
        result = CliRunner().invoke(main, ["bench", "pages", "--requests", "5", "--only", "minutes", *flags])
        assert seen["forum"]["FORUM_PAGE_CACHE_MB"] == expected, result.output


def test_bench_pages_refuses_a_database_that_is_not_there():
    result = CliRunner().invoke(main, ["bench", "pages", "--db", "/nonexistent/forum.db"])
    assert result.exit_code == 2
    assert "no such file" in result.output

"""``forum bench``: the benchmarks' commands (live, vote, meetings, pages), run on this machine on
loopback only; what they run lives in forum/bench/, which the server never imports."""

from __future__ import annotations

from pathlib import Path

import click

from forum.bench.harness import ROOMS  # the standard library only: no start-up cost for other commands


@click.group("bench")
def bench_group() -> None:
    """Benchmarks, on this machine, on loopback only."""


def _where(function):
    """The options saying where forum runs in a benchmark (forum.bench.harness.Setup)."""
    options = [
        click.option("--database", "database", metavar="URL",
                     help="A PostgreSQL server (postgresql+psycopg://user@host:port/db): the run makes a database "
                          "of its own there and drops it after. Default: a fresh SQLite file."),
        click.option("--broadcast", "broadcast", metavar="URL",
                     help="The Redis carrying live changes between workers (redis://127.0.0.1:6379/0)."),
        click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 16),
                     help="Forum processes sharing the database; requests spread over them (more than 1 needs "
                          "--broadcast)."),
        click.option("--rooms", default="meeting", show_default=True, type=click.Choice(ROOMS),
                     help="With several workers, where a meeting's pages connect: all to one worker, as "
                          "docs/deploy/nginx.conf routes them, or spread over every worker (as forum serve "
                          "--workers N takes connections)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _setup(database: str | None, broadcast: str | None, workers: int, rooms: str):
    from forum.bench.harness import Setup

    setup = Setup(database=database, broadcast=broadcast, workers=workers, rooms=rooms)
    refusal = setup.refusal()
    if refusal:
        raise click.UsageError(refusal)
    return setup


@bench_group.command("live")
@click.option("--tablets", default=100, show_default=True, type=click.IntRange(1, 20000),
              help="How many tablets to connect.")
@click.option("--actions", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="How many facilitator actions to time.")
@click.option("--against-one-process", "against_one", type=click.Choice(["sqlite", "same-database"]),
              help="Also time each action on forum in one process (on a fresh SQLite file, or on a fresh "
                   "database of the same server as --database), with as many tablets, in turn with the setup "
                   "under test, and print the ratio of their p50s.")
@_where
def bench_live(tablets: int, actions: int, against_one: str | None, database: str | None, broadcast: str | None,
               workers: int, rooms: str) -> None:
    """Time live pushes to N tablets against a bare websockets broadcast; memory per tablet."""
    from forum.bench import live as live_bench

    setup = _setup(database, broadcast, workers, rooms)
    live_bench.run_live(tablets, actions, echo=click.echo, setup=setup, against_one=against_one)


@bench_group.command("vote")
@click.option("--voters", default=200, show_default=True, type=click.IntRange(1, 20000),
              help="How many voters (each with a tablet) cast.")
@click.option("--spread", default=10.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds over which the ballots arrive.")
@click.option("--rounds", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Run this many times and also print the medians (shared machines are noisy).")
@click.option("--secret/--open", default=True, show_default=True,
              help="A secret ballot (ballots written in batches of K voters) or an open one.")
@_where
def bench_vote(voters: int, spread: float, rounds: int, secret: bool, database: str | None, broadcast: str | None,
               workers: int, rooms: str) -> None:
    """Every tablet casts within SPREAD seconds: exact totals, cast latency, result on every tablet."""
    from forum.bench import vote as vote_bench

    setup = _setup(database, broadcast, workers, rooms)
    results = [vote_bench.run_vote(voters, spread, echo=click.echo, setup=setup, secret=secret)
               for _ in range(rounds)]
    if rounds > 1:
        vote_bench.echo_medians(results, echo=click.echo)
    if not all(r["exact"] for r in results):
        raise click.ClickException("the final totals do not match what was cast")


@bench_group.command("meetings")
@click.option("--meetings", default=100, show_default=True, type=click.IntRange(1, 1000),
              help="How many meetings run live at once.")
@click.option("--tablets", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="How many tablets each meeting has.")
@click.option("--actions", default=5, show_default=True, type=click.IntRange(1, 100),
              help="How many facilitator actions each meeting's facilitator takes (timed).")
@click.option("--every", default=5.0, show_default=True, type=click.FloatRange(0.3, 60),
              help="Seconds between one facilitator's actions, on average (meetings are out of step).")
@_where
def bench_meetings(meetings: int, tablets: int, actions: int, every: float, database: str | None,
                   broadcast: str | None, workers: int, rooms: str) -> None:
    """Many meetings live at once, each facilitator acting: update latency against a bare broadcast."""
    from forum.bench import meetings as meetings_bench

    setup = _setup(database, broadcast, workers, rooms)
    result = meetings_bench.run_meetings(meetings, tablets, actions, every, echo=click.echo, setup=setup)
    if result["missed"]:
        raise click.ClickException("some pushes did not reach every tablet of their meeting")


@bench_group.command("pages")
@click.option("--db", "db", default=None, metavar="PATH",
              help="The SQLite file (or database URL) to serve, e.g. one `forum demo --size district` built; "
                   "by default a fresh small demo.")
@click.option("--requests", default=40, show_default=True, type=click.IntRange(5, 10000),
              help="Requests one after another for each page's p50 and p95.")
@click.option("--seconds", default=3.0, show_default=True, type=click.FloatRange(0.2, 600),
              help="How long the clients at once ask for each page (throughput).")
@click.option("--clients", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Clients at once for the throughput.")
@click.option("--only", default="", help="Only the pages whose label holds this text (e.g. dashboard).")
@click.option("--fresh", is_flag=True,
              help="Keep no page (FORUM_PAGE_CACHE_MB=0): every request rendered, as for the first reader "
                   "after a change.")
def bench_pages(db: str | None, requests: int, seconds: float, clients: int, only: str, fresh: bool) -> None:
    """Time forum's pages (p50, p95, requests a second) against a bare Starlette + Jinja page."""
    from forum.bench import pages as pages_bench

    if db and "://" not in db and not Path(db).is_file():
        raise click.BadParameter(f"no such file: {db}", param_hint="--db")
    pages_bench.run_pages(db, requests, seconds, clients, only, echo=click.echo, fresh=fresh)

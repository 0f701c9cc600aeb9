"""Benchmark of voting: N tablets cast at once; nothing may be lost or doubled.

``forum bench vote --voters N`` serves forum in another process on a fresh SQLite database
(127.0.0.1 only), checks N distinct people in to the demo's next meeting, connects each one's
tablet to the live room by websocket, opens a vote with its count shown while open, and has every
tablet cast over HTTP within about ten seconds (a share of them tapping twice). It then closes the
vote and reports:

* that the final totals equal what was cast (nothing lost, nothing doubled);
* cast latency (request → response) p50/p99;
* the time from the last ballot until every tablet has the final result pushed to it.

The tablets and the casting client share this process, so on a small machine the client's own
work is part of the figures (they err on the slow side).

``--database`` runs it on a fresh PostgreSQL database, ``--workers N --broadcast redis://…`` on N
processes sharing it and Redis: casting connections spread over the workers, so each worker's
ballot box takes ballots of the same vote at once, and the totals and result, counted through every
worker, must reach the tablets on the meeting's worker (``--rooms spread``: on every worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator

from forum.bench.harness import (
    HOST,
    Servers,
    Setup,
    Tablets,
    cpu_model,
    cpu_seconds,
    database_for,
    free_port,
    percentile,
    raise_fd_limit,
    seed,
    settle,
    start,
    wait_for_port,
)

# The floor: a bare ASGI app under the same uvicorn, answering each ballot with a page of the
# same size as forum's reply and doing nothing else. The same tablets cast at it on the same
# schedule, so the ratio says what forum's own work (checks, the write, the reply) costs.
BARE_HTTP_SERVER = """
import sys, uvicorn
body = b"x" * int(sys.argv[2])
head = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
async def app(scope, receive, send):
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": head})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off", backlog=4096)
"""

CHOICES = ("for", "against", "abstain")
CONNECTIONS = 64  # keep-alive connections the casting tablets share
SPREAD_SECONDS = 10.0
DOUBLE_TAP_EVERY = 10  # every tenth voter taps twice


def check_in(url: str, meeting_id: int, n: int) -> list[tuple[int, str]]:
    """N people checked in, each with a tablet token: (attendance id, token)."""
    from sqlmodel import Session

    from forum import db as database
    from forum.models import Attendance

    engine = database.make_engine(url)
    with Session(engine) as db:
        rows = [Attendance(meeting_id=meeting_id, name=f"居民{i:05d}", device_token=secrets.token_hex(16),
                           admitted=True) for i in range(n)]
        db.add_all(rows)
        db.commit()
        out = [(a.id, a.device_token) for a in rows]
    engine.dispose()
    return out


def create_vote(url: str, meeting_id: int, secret: bool = True) -> int:
    from sqlmodel import Session

    from forum import agenda, votes
    from forum import db as database
    from forum.models import Meeting

    engine = database.make_engine(url)
    with Session(engine, expire_on_commit=False) as db:
        meeting = db.get(Meeting, meeting_id)
        entry = agenda.entries_of(db, meeting_id)[0]  # the first item, as the meeting takes them
        values = {"question": "基准测试表决", "kind": "for_against", "scope": "attendance", "counting_unit": "person",
                  "weighting": "head", "rule": "simple", "closing": "facilitator", "agenda_entry": str(entry.id),
                  "results_while_open": "on"} | ({"secret": "on"} if secret else {})
        vote, errors = votes.create_vote(db, values, community_id=meeting.community_id, meeting=meeting, issue=None,
                                         actor="bench")
        if vote is None:
            raise RuntimeError(f"could not create the vote: {errors}")
        db.commit()
        vote_id = vote.id
    engine.dispose()
    return vote_id


async def caster(port: int, vote_id: int, queue: asyncio.Queue, latencies: list[float],
                 statuses: Counter[int], sizes: list[int] | None = None) -> float:
    """One keep-alive HTTP/1.1 connection casting ballots as they fall due.

    A hand-rolled client: httpx's pool costs more CPU per request than the server spends on a
    ballot, and the client shares this small machine with the server. Latency is counted from
    the moment a ballot was due, so time queued on the client side counts against us too.
    """
    reader, writer = await asyncio.open_connection(HOST, port)
    last = 0.0
    try:
        while not queue.empty():
            due, token, choice = queue.get_nowait()
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = f"choice={choice}".encode()
            writer.write((f"POST /votes/{vote_id}/cast HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                          f"Cookie: forum_device={token}\r\nHX-Request: true\r\n"
                          "Content-Type: application/x-www-form-urlencoded\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length:"))
            await reader.readexactly(length)
            last = time.perf_counter()
            if sizes is not None:
                sizes.append(length)
            statuses[int(lines[0].split()[1])] += 1
            latencies.append((last - due) * 1000)
    finally:
        writer.close()
    return last


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """No garbage collection in this (the measuring) process while ballots are timed.

    This process also holds every tablet's websocket; a full collection over them stalls the
    casting clients for a few hundred milliseconds, which would be counted as the server's.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def schedule(people: list[tuple[int, str]], spread: float) -> tuple[asyncio.Queue, Counter[str], float]:
    """Each voter's ballot(s), due evenly over ``spread`` seconds from now: (due, token, choice);
    with what was cast and when the first is due."""
    cast: Counter[str] = Counter()
    t0 = time.perf_counter() + 0.2
    step = spread / max(len(people), 1)
    queue: asyncio.Queue = asyncio.Queue()
    for i, (_aid, token) in enumerate(people):
        choice = CHOICES[i % 3] if i % 7 else "for"
        cast[choice] += 1
        for _tap in range(2 if i % DOUBLE_TAP_EVERY == 0 else 1):
            queue.put_nowait((t0 + i * step, token, choice))
    return queue, cast, t0


async def bare(people: list[tuple[int, str]], spread: float, size: int) -> tuple[list[float], float]:
    """The same schedule against the bare server: its cast latencies and the CPU seconds it used."""
    port = free_port()
    server = start(BARE_HTTP_SERVER, str(port), str(size))
    try:
        await wait_for_port(port, server)
        latencies: list[float] = []
        with quiet_collector():
            cpu_before = cpu_seconds(server.pid)
            queue, _cast, _t0 = schedule(people, spread)
            await asyncio.gather(*(caster(port, 0, queue, latencies, Counter()) for _ in range(CONNECTIONS)))
            cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(10)
    return latencies, cpu


async def bench(voters: int, spread: float, setup: Setup, secret: bool = True) -> dict:
    with database_for(setup) as url:
        return await bench_on(url, voters, spread, setup, secret)


async def bench_on(url: str, voters: int, spread: float, setup: Setup, secret: bool) -> dict:
    import httpx

    meeting_id = seed(url)
    people = check_in(url, meeting_id, voters)
    vote_id = create_vote(url, meeting_id, secret)
    servers = Servers(setup, url)
    pad = Tablets()
    try:
        await servers.ready()
        async with httpx.AsyncClient(base_url=servers.base(0), timeout=60) as staff:
            login = await staff.post("/login", data={"username": "facilitator", "password": "demo1234"})
            if login.status_code != 303:
                raise RuntimeError(f"sign-in failed: {login.status_code}")
            await pad.connect(servers.room(meeting_id), voters, first_message=True)
            await asyncio.sleep(settle(voters))
            r = await staff.post(f"/votes/{vote_id}/open")
            if r.status_code not in (200, 303):
                raise RuntimeError(f"opening failed: {r.status_code}")
            await asyncio.sleep(0.5)

            latencies: list[float] = []
            statuses: Counter[int] = Counter()
            sizes: list[int] = []
            with quiet_collector():  # before the schedule: its first collection takes a while
                cpu_before = servers.cpu_seconds()
                queue, cast, t0 = schedule(people, spread)
                ends = await asyncio.gather(*(caster(servers.port(k), vote_id, queue, latencies, statuses, sizes)
                                              for k in range(CONNECTIONS)))
            last_ballot = max(ends)
            casting_seconds = last_ballot - t0
            server_cpu = servers.cpu_seconds() - cpu_before

            # Close at once and time until every tablet has the verdict pushed to it.
            pad.round.pending = 0
            closing = asyncio.create_task(pad.timed("verdict-", lambda: staff.post(f"/votes/{vote_id}/close")))
            close_ms = await closing
            result_after_last_ballot_ms = (pad.round.last - last_ballot) * 1000
            final = (await staff.get(f"/votes/{vote_id}/result.json")).json()
    finally:
        await pad.close()
        servers.stop()
    floor, floor_cpu = await bare(people, spread, int(percentile(sizes, 50))) if sizes else ([0.0], 0.0)
    requests = sum(statuses.values())
    totals = {t["key"]: t["heads"] for t in final["result"]["totals"]}
    return {
        "setup": setup.describe(), "secret": secret, "voters": voters, "requests": requests,
        "cpu_ms": 1000 * server_cpu / max(requests, 1), "bare_cpu_ms": 1000 * floor_cpu / max(requests, 1),
        "statuses": dict(statuses), "cast": dict(cast),
        "totals": totals, "ballots": final["ballots"], "eligible": final["eligible"],
        "exact": totals == {k: cast.get(k, 0) for k in CHOICES} and final["ballots"] == voters,
        "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": max(latencies),
        "bare_p50": percentile(floor, 50), "bare_p99": percentile(floor, 99), "reply_bytes": int(percentile(sizes, 50)),
        "casting_seconds": casting_seconds, "close_ms": close_ms,
        "result_after_last_ballot_ms": result_after_last_ballot_ms,
    }


def run_vote(voters: int, spread: float = SPREAD_SECONDS, echo: Callable[[str], None] = print,
             setup: Setup = Setup(), secret: bool = True) -> dict:
    raise_fd_limit(voters * 3 + 512)
    r = asyncio.run(bench(voters, spread, setup, secret))
    echo(f"forum bench vote: {voters} voters on tablets, {'secret' if secret else 'open'} ballot · "
         f"{os.cpu_count()} CPUs ({cpu_model()}) · {r['setup']}")
    echo(f"requests: {r['requests']} (every {DOUBLE_TAP_EVERY}th voter tapped twice) · statuses {r['statuses']}")
    echo(f"cast {r['cast']} · counted {r['totals']} · ballots {r['ballots']} / {r['eligible']} eligible")
    echo("totals exact: " + ("yes — nothing lost, nothing doubled" if r["exact"] else "NO — MISMATCH"))
    echo(f"casting took {r['casting_seconds']:.1f} s · server CPU per request {r['cpu_ms']:.2f} ms "
         f"(bare {r['bare_cpu_ms']:.2f} ms)")
    echo(f"cast latency ms: p50 {r['p50']:.1f} · p99 {r['p99']:.1f} · max {r['max']:.1f}")
    echo(f"bare HTTP server, same schedule and {r['reply_bytes']}-byte replies: p50 {r['bare_p50']:.1f} · "
         f"p99 {r['bare_p99']:.1f} ms · ratio p50 forum/bare {r['p50'] / max(r['bare_p50'], 0.01):.2f}")
    echo(f"close → result on every tablet: {r['close_ms']:.0f} ms; "
         f"last ballot → result on every tablet: {r['result_after_last_ballot_ms']:.0f} ms")
    return r


def echo_medians(results: list[dict], echo: Callable[[str], None] = print) -> None:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    echo(f"median of {len(results)} rounds: cast latency ms p50 {median('p50'):.1f} · p99 {median('p99'):.1f} "
         f"(bare p50 {median('bare_p50'):.1f} · p99 {median('bare_p99'):.1f}); "
         f"last ballot → result on every tablet {median('result_after_last_ballot_ms'):.0f} ms")

"""Benchmark of a district's evening: many meetings live at once, each with its tablets.

``forum bench meetings --meetings 100 --tablets 20`` serves forum (as ``forum bench live`` does,
with the same ``--database``, ``--broadcast``, ``--workers`` and ``--rooms``), makes that many live meetings of
the demo community, each with an issue of its own on its agenda, connects that many websocket
tablets to each, and has every meeting's facilitator record ``--actions`` decisions, about one
every ``--every`` seconds (default 5: with 100 meetings, 20 actions a second across the
district, well above a real evening's pace), all meetings at once and out of step. Each action is timed from the
facilitator's request to the moment the last tablet of its meeting shows it (update latency).

Then, in the same run, a bare ``websockets`` server holds as many clients in as many groups and
sends a message of forum's push size to one group at a time on the same schedule: the floor any
Python server reaches on this machine with this load, for the ratio.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

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
    rss_kb,
    seed,
    settle,
    start,
    wait_for_port,
)

# The floor: clients join a group ("join:K"); the control socket's "K marker" goes to group K.
BARE_GROUPS_SERVER = """
import asyncio, resource, sys
from websockets.asyncio.server import broadcast, serve
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
groups = {}
async def handler(ws):
    first = await ws.recv()
    if first.startswith("go:"):
        payload = "x" * int(first[3:])
        await ws.send("ready")
        async for message in ws:
            group, marker = message.split(" ", 1)
            broadcast(groups.get(group, ()), payload + marker)
        return
    group = groups.setdefault(first[5:], set())
    group.add(ws)
    try:
        await ws.wait_closed()
    finally:
        group.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), backlog=4096, max_size=None, compression=None):
        await asyncio.Future()
asyncio.run(main())
"""

CONNECT_AT_ONCE = 5  # meetings whose tablets connect together


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    responses: list[float] = field(default_factory=list)
    missed: int = 0  # actions whose push did not reach every tablet of the meeting within 30 s
    sizes: list[int] = field(default_factory=list)
    rss_kb: int = 0
    cpu_seconds: float = 0.0  # the server's (every worker's) while the actions ran


def make_meetings(url: str, template_id: int, n: int) -> list[int]:
    """N planned meetings like the demo's, in its community, each with an issue of its own on its
    agenda (no two meetings write the same rows, as in real life)."""
    from sqlmodel import Session

    from forum import db as database
    from forum.models import AgendaEntry, Issue, Meeting

    engine = database.make_engine(url)
    with Session(engine) as db:
        template = db.get(Meeting, template_id)
        issue = db.get(Issue, template_entry_issue(db, template_id))
        meetings = []
        for k in range(n):
            meeting = Meeting(community_id=template.community_id, title=f"基准会议 {k + 1}", cadence=template.cadence,
                              starts_at=template.starts_at, place=f"{template.place} {k + 1}",
                              facilitator_id=template.facilitator_id)
            own = Issue(community_id=issue.community_id, committee_id=issue.committee_id,
                        title=f"{issue.title[:100]} {k + 1}", description=issue.description,
                        category=issue.category, place=issue.place, source=issue.source, raised_by=issue.raised_by,
                        status=issue.status)
            db.add_all([meeting, own])
            db.flush()
            db.add(AgendaEntry(meeting_id=meeting.id, issue_id=own.id, position=0))
            meetings.append(meeting.id)
        db.commit()
    engine.dispose()
    return meetings


def template_entry_issue(db, meeting_id: int) -> int:
    from forum import agenda

    return agenda.entries_of(db, meeting_id)[0].issue_id


def schedule(meetings: int, actions: int, every: float) -> list[list[float]]:
    """When each meeting's actions fall due, in seconds from the start: out of step between
    meetings, about ``every`` apart within one (never closer than the hub's merge interval)."""
    rng = random.Random(14)
    out = []
    for _k in range(meetings):
        t, times = rng.uniform(0, every), []
        for _i in range(actions):
            times.append(t)
            t += max(0.25, rng.uniform(0.5 * every, 1.5 * every))
        out.append(times)
    return out


async def run_schedule(pads: list[Tablets], times: list[list[float]], act: Callable[[int, int], tuple],
                       result: Result) -> None:
    """Each meeting's actions at their times; ``act(k, i)`` gives (text awaited, coroutine function)."""
    import httpx

    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2

    async def meeting(k: int) -> None:
        for i, due in enumerate(times[k]):
            await asyncio.sleep(max(0.0, t0 + due - loop.time()))
            expect, action = act(k, i)
            try:
                result.latencies.append(await pads[k].timed(expect, action))
            except (TimeoutError, OSError, httpx.TransportError):  # counted and said, not the run's end
                result.missed += 1

    await asyncio.gather(*(meeting(k) for k in range(len(pads))))
    for pad in pads:
        result.responses += pad.responses
        result.sizes += pad.sizes


async def connect_all(pads: list[Tablets], urls: list[list[str] | str], tablets: int, first_message: bool) -> None:
    for at in range(0, len(pads), CONNECT_AT_ONCE):
        await asyncio.gather(*(pads[k].connect(urls[k], tablets, first_message=first_message)
                               for k in range(at, min(len(pads), at + CONNECT_AT_ONCE))))


async def forum_run(url: str, servers: Servers, meeting_ids: list[int], tablets: int,
                    times: list[list[float]]) -> Result:
    import httpx

    n = len(servers.ports)
    # Idle connections let go before the server's keep-alive (5 s) does, so that no action is sent
    # on a connection the server is closing at that moment.
    limits = httpx.Limits(max_connections=len(meeting_ids) + 10, keepalive_expiry=2.0)
    clients = [httpx.AsyncClient(base_url=servers.base(i), timeout=60, limits=limits) for i in range(n)]
    pads = [Tablets() for _ in meeting_ids]
    try:
        login = await clients[0].post("/login", data={"username": "facilitator", "password": "demo1234"})
        if login.status_code != 303:
            raise RuntimeError(f"sign-in failed: {login.status_code}")
        for client in clients[1:]:
            client.cookies = clients[0].cookies  # one sign-in, good on every worker (its session is in the database)
        for k, meeting_id in enumerate(meeting_ids):
            r = await clients[k % n].post(f"/meetings/{meeting_id}/run/start")
            if r.status_code not in (200, 303):
                raise RuntimeError(f"starting meeting {meeting_id} failed: {r.status_code}")
        # Each meeting's tablets on its worker, or spread over the workers starting at a different one each meeting.
        urls = [servers.room(m, first=k) for k, m in enumerate(meeting_ids)]
        await connect_all(pads, urls, tablets, first_message=True)
        await asyncio.sleep(settle(tablets * len(pads)))
        result = Result(rss_kb=servers.rss_kb())

        def act(k: int, i: int) -> tuple:
            text = f"决议 {k + 1}-{i + 1}: 物业两周内报价"  # the facilitator of meeting k acts through worker k
            return text, lambda: clients[k % n].post(f"/meetings/{meeting_ids[k]}/run/decision",
                                                     data={"decision": text})

        cpu_before = servers.cpu_seconds()
        await run_schedule(pads, times, act, result)
        result.cpu_seconds = servers.cpu_seconds() - cpu_before
        return result
    finally:
        await asyncio.gather(*(pad.close() for pad in pads))
        await asyncio.gather(*(client.aclose() for client in clients))


async def bare_run(meetings: int, tablets: int, times: list[list[float]], size: int) -> Result:
    from websockets.asyncio.client import connect

    port = free_port()
    server = start(BARE_GROUPS_SERVER, str(port))
    pads = [Tablets() for _ in range(meetings)]
    try:
        await wait_for_port(port, server)
        url = f"ws://{HOST}:{port}/"
        control = await connect(url, max_size=None)
        await control.send(f"go:{max(0, size - 12)}")
        await control.recv()
        await connect_all(pads, [url] * meetings, tablets, first_message=False)
        for k, pad in enumerate(pads):
            await asyncio.gather(*(ws.send(f"join:{k}") for ws in pad.sockets))
        await asyncio.sleep(settle(tablets * meetings))
        result = Result(rss_kb=rss_kb(server.pid))

        def act(k: int, i: int) -> tuple:
            marker = f"#{k:04d}-{i:04d}"
            return marker, lambda: control.send(f"{k} {marker}")

        cpu_before = cpu_seconds(server.pid)
        await run_schedule(pads, times, act, result)
        result.cpu_seconds = cpu_seconds(server.pid) - cpu_before
        await control.close()
        return result
    finally:
        await asyncio.gather(*(pad.close() for pad in pads))
        server.terminate()
        server.wait(10)


async def bench(meetings: int, tablets: int, actions: int, every: float, setup: Setup) -> tuple[Result, Result]:
    times = schedule(meetings, actions, every)
    with database_for(setup) as url:
        meeting_ids = make_meetings(url, seed(url), meetings)
        servers = Servers(setup, url)
        try:
            await servers.ready()
            forum = await forum_run(url, servers, meeting_ids, tablets, times)
        finally:
            servers.stop()
    size = int(statistics.median(forum.sizes)) if forum.sizes else 1500
    return forum, await bare_run(meetings, tablets, times, size)


def report(meetings: int, tablets: int, actions: int, setup: Setup, forum: Result, bare: Result,
           echo: Callable[[str], None]) -> dict:
    f50, f95, fmax = (percentile(forum.latencies, q) for q in (50, 95, 100))
    b50, b95, bmax = (percentile(bare.latencies, q) for q in (50, 95, 100))
    r50, r95, rmax = (percentile(forum.responses, q) for q in (50, 95, 100))
    echo(f"forum bench meetings: {meetings} meetings × {tablets} tablets ({meetings * tablets} tablets), "
         f"{actions} actions each · {setup.describe()} · {os.cpu_count()} CPUs ({cpu_model()})")
    echo(f"{'':38}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    echo(f"{'forum: action → its last tablet':38}{f50:>10.1f}{f95:>10.1f}{fmax:>10.1f}")
    echo(f"{'bare websockets broadcast, same load':38}{b50:>10.1f}{b95:>10.1f}{bmax:>10.1f}")
    echo(f"{'(forum: the action HTTP response)':38}{r50:>10.1f}{r95:>10.1f}{rmax:>10.1f}")
    ratio50 = f50 / b50 if b50 else float("nan")
    ratio95 = f95 / b95 if b95 else float("nan")
    echo(f"ratio forum/bare: p50 {ratio50:.2f} · p95 {ratio95:.2f}")
    timed = len(forum.latencies)
    echo(f"actions timed: {timed} of {timed + forum.missed}" +
         (f" — {forum.missed} failed or did not reach every tablet within 30 s" if forum.missed
          else " (every push arrived)"))
    per_action = 1000 * forum.cpu_seconds / max(timed + forum.missed, 1)
    echo(f"server CPU per action (every worker, its pushes included): {per_action:.1f} ms "
         f"(bare {1000 * bare.cpu_seconds / max(len(bare.latencies), 1):.2f} ms)")
    echo(f"fragment size (median push): {statistics.median(forum.sizes) / 1024 if forum.sizes else 0:.1f} KB · "
         f"server memory {forum.rss_kb / 1024:.0f} MB (bare {bare.rss_kb / 1024:.0f} MB)")
    return {"p50": f50, "p95": f95, "max": fmax, "bare_p50": b50, "bare_p95": b95, "ratio": ratio50,
            "missed": forum.missed, "timed": timed,
            "cpu_ms": per_action}


def run_meetings(meetings: int, tablets: int, actions: int = 5, every: float = 5.0,
                 echo: Callable[[str], None] = print, setup: Setup = Setup()) -> dict:
    raise_fd_limit(meetings * tablets * 2 + 512)
    forum, bare = asyncio.run(bench(meetings, tablets, actions, every, setup))
    return report(meetings, tablets, actions, setup, forum, bare, echo)

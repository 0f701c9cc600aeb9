"""Benchmark of the live room: how long until the last of N tablets shows a facilitator's action.

``forum bench live --tablets N`` serves forum (uvicorn, as ``forum serve`` does) on a fresh SQLite
database in another process on 127.0.0.1, seeds the demo meeting, connects N websocket tablets,
and times ~20 facilitator actions over HTTP (advance the agenda, raise a hand, record a
decision) from the request to the moment the last tablet has the push. Alongside, in turns, it
times a bare ``websockets`` server broadcasting a message of the same size to as many clients,
the floor any Python server can reach on this machine, and reports both with the server's
memory per connected tablet.

``--database`` runs it on a fresh PostgreSQL database, ``--workers N --broadcast redis://…`` on N
processes sharing it and Redis: the tablets spread over the workers, the facilitator's actions go
through the first and the resident's hand through the second, so each push crosses processes.
"""

from __future__ import annotations

import asyncio
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from forum.bench.harness import (
    HOST,
    Servers,
    Setup,
    Tablets,
    cpu_model,
    database_for,
    free_port,
    join_code_of,
    percentile,
    raise_fd_limit,
    rss_kb,
    seed,
    settle,
    start,
    wait_for_port,
)

BARE_SERVER = """
import asyncio, resource, sys
from websockets.asyncio.server import broadcast, serve
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
clients = set()
async def handler(ws):
    first = await ws.recv()
    if first.startswith("go:"):
        size = int(first[3:])
        payload = "x" * size
        await ws.send("ready")
        async for message in ws:
            broadcast(clients, payload + message)
        return
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), backlog=4096, max_size=None, compression=None):
        await asyncio.Future()
asyncio.run(main())
"""


@dataclass
class Result:
    latencies: list[float]
    responses: list[float] = field(default_factory=list)
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    size: int = 0

    def per_tablet_kb(self, n: int) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / n


async def bench(tablets: int, actions: int, pause: float, setup: Setup) -> tuple[Result, Result]:
    with database_for(setup) as url:
        return await bench_on(url, tablets, actions, pause, setup)


async def bench_on(url: str, tablets: int, actions: int, pause: float, setup: Setup) -> tuple[Result, Result]:
    """Both servers at once, their rounds interleaved, so whatever else loads the machine
    weighs on forum and on the bare broadcast alike."""
    import httpx
    from websockets.asyncio.client import connect

    meeting_id = seed(url)
    servers = Servers(setup, url)
    bare_port = free_port()
    bare_server = start(BARE_SERVER, str(bare_port))
    pad, bare_pad = Tablets(), Tablets()
    try:
        await servers.ready()
        await wait_for_port(bare_port, bare_server)
        async with httpx.AsyncClient(base_url=servers.base(0)) as staff, \
                httpx.AsyncClient(base_url=servers.base(1)) as resident:
            login = await staff.post("/login", data={"username": "facilitator", "password": "demo1234"})
            if login.status_code != 303:
                raise RuntimeError(f"sign-in failed: {login.status_code}")
            await staff.post(f"/meetings/{meeting_id}/run/start")
            code = join_code_of(url, meeting_id)
            await resident.post(f"/meetings/{meeting_id}/tablet/join", data={"name": "测试居民", "code": code})
            ws_urls = servers.ws(f"/meetings/{meeting_id}/ws?audience=tablet")
            # Warm up (imports, template compilation, caches) before the baseline: a tablet on each worker.
            warm = Tablets()
            await warm.connect(ws_urls, len(ws_urls), first_message=True)
            await warm.close()
            await asyncio.sleep(settle(tablets))
            forum = Result(latencies=[], rss_before_kb=servers.rss_kb())
            await pad.connect(ws_urls, tablets, first_message=True)
            await asyncio.sleep(settle(tablets))
            forum.rss_after_kb = servers.rss_kb()

            run = f"/meetings/{meeting_id}/run"
            hand = f"/meetings/{meeting_id}/tablet/hand"
            steps: list[tuple[str, Callable]] = []
            for i in range(actions + 1):
                kind = i % 4
                if kind == 0:
                    steps.append(('aria-current="step"', lambda: staff.post(f"{run}/next")))
                elif kind == 1:
                    steps.append(("测试居民", lambda: resident.post(hand, data={"up": "1"})))
                elif kind == 2:
                    text = f"决议 {i}: 物业两周内报价"
                    steps.append((text, lambda text=text: staff.post(f"{run}/decision", data={"decision": text})))
                else:
                    steps.append(('id="room-queue"', lambda: resident.post(hand, data={"up": "0"})))
            # The first action is not timed: it tells the size of a push, for the bare server to send.
            expect, action = steps.pop(0)
            await pad.timed(expect, action)
            pad.responses.clear()
            size = pad.sizes[0] if pad.sizes else 1500

            bare_url = f"ws://{HOST}:{bare_port}/"
            control = await connect(bare_url, max_size=None)
            await control.send(f"go:{max(0, size - 8)}")
            await control.recv()
            bare = Result(latencies=[], rss_before_kb=rss_kb(bare_server.pid), size=size)
            await bare_pad.connect(bare_url, tablets, first_message=False)
            # Each client says hello so the server has registered every one before timing starts.
            await asyncio.gather(*(ws.send("hi") for ws in bare_pad.sockets))
            await asyncio.sleep(settle(tablets))
            bare.rss_after_kb = rss_kb(bare_server.pid)

            for i, (expect, action) in enumerate(steps):
                # Apart by more than the hub's merge interval, so each action is timed on its own.
                await asyncio.sleep(pause)
                forum.latencies.append(await pad.timed(expect, action))
                await asyncio.sleep(pause)
                marker = f"#{i:06d}"
                bare.latencies.append(await bare_pad.timed(marker, lambda marker=marker: control.send(marker)))
            await control.close()
            forum.size = int(statistics.median(pad.sizes)) if pad.sizes else 0
            forum.responses = pad.responses
            return forum, bare
    finally:
        await pad.close()
        await bare_pad.close()
        servers.stop()
        bare_server.terminate()
        bare_server.wait(10)


def report(tablets: int, actions: int, forum: Result, bare: Result, echo: Callable[[str], None],
           setup: Setup = Setup()) -> dict:
    f50, f95, fmax = (percentile(forum.latencies, q) for q in (50, 95, 100))
    b50, b95, bmax = (percentile(bare.latencies, q) for q in (50, 95, 100))
    ratio = f50 / b50 if b50 else float("nan")
    per = forum.per_tablet_kb(tablets)
    echo(f"forum bench live: {tablets} tablets, {actions} actions · {setup.describe()} · "
         f"{os.cpu_count()} CPUs ({cpu_model()})")
    echo(f"{'':34}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    echo(f"{'forum: action → last tablet':34}{f50:>10.1f}{f95:>10.1f}{fmax:>10.1f}")
    echo(f"{'bare websockets broadcast':34}{b50:>10.1f}{b95:>10.1f}{bmax:>10.1f}")
    r50, r95, rmax = (percentile(forum.responses, q) for q in (50, 95, 100))
    echo(f"{'(forum: the action HTTP response)':34}{r50:>10.1f}{r95:>10.1f}{rmax:>10.1f}")
    echo(f"ratio p50 forum/bare: {ratio:.2f}")
    echo(f"fragment size (median push): {forum.size / 1024:.1f} KB")
    echo(f"server memory per tablet: {per:.1f} KB (RSS {forum.rss_before_kb / 1024:.1f} MB → "
         f"{forum.rss_after_kb / 1024:.1f} MB); bare server: {bare.per_tablet_kb(tablets):.1f} KB")
    return {"p50": f50, "p95": f95, "max": fmax, "bare_p50": b50, "ratio": ratio, "kb_per_tablet": per}


def run_live(tablets: int, actions: int = 20, pause: float = 0.3, echo: Callable[[str], None] = print,
             setup: Setup = Setup()) -> dict:
    raise_fd_limit(tablets * 3 + 256)  # two sets of clients here, plus slack
    forum, bare = asyncio.run(bench(tablets, actions, pause, setup))
    return report(tablets, actions, forum, bare, echo, setup)

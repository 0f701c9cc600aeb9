"""Benchmark of the live room: how long until the last of N tablets shows a facilitator's action.

``forum bench live --tablets N`` serves forum (uvicorn, as ``forum serve`` does) on a fresh SQLite
database in another process on 127.0.0.1, seeds the demo meeting, connects N websocket tablets,
and times ~20 facilitator actions over HTTP (advance the agenda, raise a hand, record a
decision) from the request to the moment the last tablet has the push. Alongside, in turns, it
times a bare ``websockets`` server broadcasting a message of the same size to as many clients,
the floor any Python server can reach on this machine, and reports both with the server's
memory per connected tablet.

``--database`` runs it on a fresh PostgreSQL database, ``--workers N --broadcast redis://…`` on N
processes sharing it and Redis: the tablets on the meeting's worker, as docs/deploy/nginx.conf
routes them (``--rooms spread``: spread over the workers), the facilitator's actions through the
first worker and the resident's hand through the second, so half the pushes cross processes
(every push, to half the tablets, with the rooms spread).
``--against-one-process sqlite`` (or ``same-database``) also serves forum as one process on a
fresh SQLite file (or a fresh database of the same server), with as many
tablets of its own, and times each action there right after the same action on the setup under
test: on a shared machine whose load drifts from minute to minute, runs taken minutes apart
compare the load as much as the setups; actions taken in turn compare the setups.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
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
    server_cpu: float = 0.0  # seconds, every worker, over the timed actions
    client_cpu: float = 0.0  # seconds of this process (the tablets taking the pushes in), the same

    def per_tablet_kb(self, n: int) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / n


class Hall:
    """A meeting live on forum as ``setup`` serves it, with N tablets connected: the facilitator's
    actions through the first worker, the resident's hand through the second (so pushes cross
    processes when there are several), each timed until the last tablet has it."""

    def __init__(self, setup: Setup, url: str) -> None:
        self.setup = setup
        self.url = url
        self.meeting_id = seed(url)
        self.servers = Servers(setup, url)
        self.pad = Tablets()
        self.result = Result(latencies=[])
        self._clients: list = []

    async def open(self, tablets: int) -> None:
        import httpx

        await self.servers.ready()
        staff, resident = (httpx.AsyncClient(base_url=self.servers.base(i)) for i in (0, 1))
        self._clients = [staff, resident]
        login = await staff.post("/login", data={"username": "facilitator", "password": "demo1234"})
        if login.status_code != 303:
            raise RuntimeError(f"sign-in failed: {login.status_code}")
        await staff.post(f"/meetings/{self.meeting_id}/run/start")
        code = join_code_of(self.url, self.meeting_id)
        await resident.post(f"/meetings/{self.meeting_id}/tablet/join", data={"name": "测试居民", "code": code})
        ws_urls = self.servers.room(self.meeting_id)
        # Warm up (imports, template compilation, caches) before timing: a tablet on each worker of the room.
        warm = Tablets()
        await warm.connect(ws_urls, len(ws_urls), first_message=True)
        await warm.close()
        await asyncio.sleep(settle(tablets))
        self.result.rss_before_kb = self.servers.rss_kb()
        await self.pad.connect(ws_urls, tablets, first_message=True)
        await asyncio.sleep(settle(tablets))
        self.result.rss_after_kb = self.servers.rss_kb()

    def steps(self, actions: int) -> list[tuple[str, Callable]]:
        """Advance the agenda, raise a hand, record a decision, lower the hand, in turn; each with
        the text that tells its push has arrived."""
        staff, resident = self._clients
        run = f"/meetings/{self.meeting_id}/run"
        hand = f"/meetings/{self.meeting_id}/tablet/hand"
        steps: list[tuple[str, Callable]] = []
        for i in range(actions):
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
        return steps

    async def timed(self, step: tuple[str, Callable]) -> None:
        server, client = self.servers.cpu_seconds(), time.process_time()
        self.result.latencies.append(await self.pad.timed(*step))
        self.result.server_cpu += self.servers.cpu_seconds() - server
        self.result.client_cpu += time.process_time() - client

    def finish(self) -> Result:
        self.result.size = int(statistics.median(self.pad.sizes)) if self.pad.sizes else 0
        self.result.responses = self.pad.responses
        return self.result

    async def close(self) -> None:
        await self.pad.close()
        for client in self._clients:
            await client.aclose()
        self.servers.stop()


async def bench(tablets: int, actions: int, pause: float, setup: Setup,
                one: Setup | None = None) -> tuple[Result, Result, Result | None]:
    """``one``: the one process to time each action on as well, in turn with ``setup``."""
    with database_for(setup) as url:
        if one is None:
            forum, bare = await bench_on(url, tablets, actions, pause, setup)
            return forum, bare, None
        with database_for(one) as one_url:
            return await bench_on(url, tablets, actions, pause, setup, (one, one_url))


async def bench_on(url: str, tablets: int, actions: int, pause: float, setup: Setup,
                   one: tuple[Setup, str] | None = None):
    """Forum and the bare broadcast at once, their rounds interleaved, so whatever else loads the
    machine weighs on both alike; with ``one`` (a setup of one process and its database), forum
    served so too, each of its rounds right after the same action on ``setup``."""
    from websockets.asyncio.client import connect

    hall = Hall(setup, url)
    try:
        one = Hall(*one) if one else None
    except BaseException:
        hall.servers.stop()  # its processes are running already
        raise
    bare_port = free_port()
    bare_server = start(BARE_SERVER, str(bare_port))
    bare_pad = Tablets()
    try:
        await hall.open(tablets)
        if one is not None:
            await one.open(tablets)
        await wait_for_port(bare_port, bare_server)
        steps = hall.steps(actions + 1)
        one_steps = one.steps(actions + 1) if one is not None else []
        # The first action is not timed: it tells the size of a push, for the bare server to send.
        await hall.pad.timed(*steps.pop(0))
        hall.pad.responses.clear()
        if one is not None:
            await one.pad.timed(*one_steps.pop(0))
            one.pad.responses.clear()
        size = hall.pad.sizes[0] if hall.pad.sizes else 1500

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

        for i, step in enumerate(steps):
            # Apart by more than the hub's merge interval, so each action is timed on its own.
            await asyncio.sleep(pause)
            await hall.timed(step)
            if one is not None:
                await asyncio.sleep(pause)
                await one.timed(one_steps[i])
            await asyncio.sleep(pause)
            marker = f"#{i:06d}"
            bare.latencies.append(await bare_pad.timed(marker, lambda marker=marker: control.send(marker)))
        await control.close()
        if one is None:
            return hall.finish(), bare
        return hall.finish(), bare, one.finish()
    finally:
        await hall.close()
        if one is not None:
            await one.close()
        await bare_pad.close()
        bare_server.terminate()
        bare_server.wait(10)


def report(tablets: int, actions: int, forum: Result, bare: Result, echo: Callable[[str], None],
           setup: Setup = Setup(), one: Result | None = None, one_setup: Setup = Setup()) -> dict:
    f50, f95, fmax = (percentile(forum.latencies, q) for q in (50, 95, 100))
    b50, b95, bmax = (percentile(bare.latencies, q) for q in (50, 95, 100))
    ratio = f50 / b50 if b50 else float("nan")
    per = forum.per_tablet_kb(tablets)
    echo(f"forum bench live: {tablets} tablets, {actions} actions · {setup.describe()} · "
         f"{os.cpu_count()} CPUs ({cpu_model()})")
    echo(f"{'':34}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    echo(f"{'forum: action → last tablet':34}{f50:>10.1f}{f95:>10.1f}{fmax:>10.1f}")
    if one is not None:
        o50, o95, omax = (percentile(one.latencies, q) for q in (50, 95, 100))
        echo(f"{'forum, ' + one_setup.describe():34}{o50:>10.1f}{o95:>10.1f}{omax:>10.1f}")
    echo(f"{'bare websockets broadcast':34}{b50:>10.1f}{b95:>10.1f}{bmax:>10.1f}")
    r50, r95, rmax = (percentile(forum.responses, q) for q in (50, 95, 100))
    echo(f"{'(forum: the action HTTP response)':34}{r50:>10.1f}{r95:>10.1f}{rmax:>10.1f}")
    echo(f"ratio p50 forum/bare: {ratio:.2f}")
    figures = {"p50": f50, "p95": f95, "max": fmax, "bare_p50": b50, "ratio": ratio, "kb_per_tablet": per}
    if one is not None:
        figures |= {"one_p50": o50, "against_one": f50 / o50 if o50 else float("nan")}
        echo(f"ratio p50 {setup.describe()} / {one_setup.describe()}: {figures['against_one']:.2f} "
             "(each action timed on both in turn)")
    for label, result in [("forum", forum)] + ([(f"one process ({one_setup.describe()})", one)] if one else []):
        n = len(result.latencies) or 1
        echo(f"{label}: server CPU per action {result.server_cpu / n * 1000:.1f} ms (every worker, its pushes "
             f"included); the bench's tablets taking it in: {result.client_cpu / n * 1000:.1f} ms")
    echo(f"fragment size (median push): {forum.size / 1024:.1f} KB")
    echo(f"server memory per tablet: {per:.1f} KB (RSS {forum.rss_before_kb / 1024:.1f} MB → "
         f"{forum.rss_after_kb / 1024:.1f} MB); bare server: {bare.per_tablet_kb(tablets):.1f} KB")
    return figures


def run_live(tablets: int, actions: int = 20, pause: float = 0.3, echo: Callable[[str], None] = print,
             setup: Setup = Setup(), against_one: str | None = None) -> dict:
    """``against_one``: "sqlite" or "same-database": also time each action on forum in one process
    (on a fresh SQLite file, or on a fresh database of ``setup``'s server), right after the same
    action on ``setup``, so the two are compared under the same load."""
    one_setup = None
    if against_one is not None:
        one_setup = Setup(database=setup.database if against_one == "same-database" else None)
    raise_fd_limit(tablets * (4 if one_setup else 3) + 256)  # each set of clients, plus slack
    forum, bare, one = asyncio.run(bench(tablets, actions, pause, setup, one_setup))
    return report(tablets, actions, forum, bare, echo, setup, one, one_setup or Setup())

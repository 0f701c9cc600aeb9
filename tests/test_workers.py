"""Past one process: real `forum serve` processes on loopback, sharing PostgreSQL and Redis, each
with a websocket tablet of its own (issue #14).

Each test makes a PostgreSQL database of its own (dropped at the end) and a Redis channel of its
own, so tests running beside each other neither see nor harm each other. Outside CI they skip
when PostgreSQL, Redis (or nginx, redis-server) are missing; in CI they fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from forum.bench.harness import free_port, seed, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"
WAIT = 20.0  # seconds any one expected push may take on a loaded two-core machine


def unavailable(what: str, error: object) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI but not available: {error}")
    pytest.skip(f"{what} not available: {error}")


# ---------------------------------------------------------------- what the processes share


@pytest.fixture
def database_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, with the demo community in it."""
    try:
        import psycopg

        admin = psycopg.connect(f"{POSTGRES.replace('+psycopg', '')}/test", connect_timeout=3, autocommit=True)
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        unavailable("PostgreSQL at 127.0.0.1:5432", error)
    name = f"forum_workers_{uuid.uuid4().hex[:12]}"
    admin.execute(f'create database "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture
def redis_url() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001
        unavailable("Redis at 127.0.0.1:6379", error)
    return REDIS


@pytest.fixture
def meeting(database_url) -> int:
    return seed(database_url)


class Worker:
    """One `forum serve` process on a loopback port of its own."""

    def __init__(self, database: str, broadcast: str, channel: str, port: int | None = None) -> None:
        self.port = port or free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FORUM_DATABASE_URL": database,
               "FORUM_BROADCAST_URL": broadcast, "FORUM_BROADCAST_CHANNEL": channel,
               "FORUM_HEARTBEAT_SECONDS": "2"}
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-m", "forum", "serve", "--port", str(self.port)],
                                        env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        await wait_for_port(self.port, self.process, timeout=60)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


@pytest.fixture
def workers(database_url) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(broadcast: str, channel: str, port: int | None = None) -> Worker:
        worker = Worker(database_url, broadcast, channel, port)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def channel() -> str:
    return f"forum-test-{uuid.uuid4().hex[:12]}"


class Tablet:
    """A room page's websocket: every message it gets, and a way to wait for one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.messages: list[str] = []
        self.connections = 0
        self.closed = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._task: asyncio.Task | None = None

    async def connect(self, reconnect: bool = False) -> Tablet:
        """Connect (its first message is the whole room); with ``reconnect``, connect again
        whenever the connection drops, as hx-ws does."""
        from websockets.asyncio.client import connect

        ws = await connect(self.url, open_timeout=WAIT, ping_interval=None)
        self.connections += 1
        self._task = asyncio.create_task(self._listen(ws, reconnect))
        return self

    async def _listen(self, ws, reconnect: bool) -> None:
        from websockets.asyncio.client import connect

        while True:
            with contextlib.suppress(Exception):
                async for message in ws:
                    async with self._arrived:
                        self.messages.append(message)
                        self._arrived.notify_all()
            self.closed.set()
            if not reconnect:
                return
            for attempt in range(100):
                try:
                    ws = await connect(self.url, open_timeout=WAIT, ping_interval=None)
                    break
                except OSError:
                    await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))
            else:
                return
            self.connections += 1

    async def wait_for(self, test: Callable[[str], bool], since: int = 0, timeout: float = WAIT) -> str:
        """The first message from index ``since`` on that passes ``test``."""

        def found() -> str | None:
            return next((m for m in self.messages[since:] if test(m)), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout)
        return found()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def ws_url(base: str, meeting: int, audience: str = "tablet") -> str:
    return base.replace("http://", "ws://") + f"/meetings/{meeting}/ws?audience={audience}"


async def signed_in(base: str):
    import httpx

    staff = httpx.AsyncClient(base_url=base, timeout=WAIT)
    login = await staff.post("/login", data={"username": "facilitator", "password": "demo1234"})
    assert login.status_code == 303, login.text
    return staff


def run(coro) -> None:
    """On a loop of its own in a thread of its own: a browser test before this one on the same
    worker leaves Playwright's event loop running on the main thread, where asyncio.run refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


# ---------------------------------------------------------------- an action through one, on both


def test_a_console_action_through_one_worker_reaches_the_tablets_of_both(workers, redis_url, meeting):
    topic = channel()
    a, b = workers(redis_url, topic), workers(redis_url, topic)

    async def scenario() -> None:
        await a.ready()
        await b.ready()
        staff = await signed_in(a.base)
        on_a = await Tablet(ws_url(a.base, meeting)).connect()
        on_b = await Tablet(ws_url(b.base, meeting)).connect()
        try:
            await on_a.wait_for(lambda m: 'id="room-queue"' in m)  # the whole room, on connect
            await on_b.wait_for(lambda m: 'id="room-queue"' in m)
            start = await staff.post(f"/meetings/{meeting}/run/start")
            assert start.status_code in (200, 303), start.text
            decision = f"决议 {uuid.uuid4().hex[:6]}: 物业两周内报价"
            answer = await staff.post(f"/meetings/{meeting}/run/decision", data={"decision": decision})
            assert answer.status_code in (200, 303), answer.text
            await on_a.wait_for(lambda m: decision in m)
            await on_b.wait_for(lambda m: decision in m)  # made in A, pushed by B
        finally:
            await on_a.close()
            await on_b.close()
            await staff.aclose()

    run(scenario())


def test_a_page_one_worker_keeps_shows_what_was_done_through_the_other(workers, redis_url, meeting):
    """Pages of the record are kept in each worker (forum.page_cache) until the database's record
    version moves, whichever worker moved it."""
    topic = channel()
    a, b = workers(redis_url, topic), workers(redis_url, topic)

    async def scenario() -> None:
        import httpx

        await a.ready()
        await b.ready()
        staff = await signed_in(a.base)
        async with httpx.AsyncClient(base_url=b.base, timeout=WAIT) as visitor:
            kept = (await visitor.get(f"/meetings/{meeting}/minutes")).text
            assert (await visitor.get(f"/meetings/{meeting}/minutes")).text == kept
            try:
                assert (await staff.post(f"/meetings/{meeting}/run/start")).status_code in (200, 303)
                decision = f"决议 {uuid.uuid4().hex[:6]}: 楼道灯本周修好"
                answer = await staff.post(f"/meetings/{meeting}/run/decision", data={"decision": decision})
                assert answer.status_code in (200, 303), answer.text
            finally:
                await staff.aclose()
            assert decision not in kept
            assert decision in (await visitor.get(f"/meetings/{meeting}/minutes")).text

    run(scenario())


# ---------------------------------------------------------------- ballots through both


def named_vote(url: str, meeting: int) -> int:
    """A named vote on the meeting's first item, its count shown while open."""
    from sqlmodel import Session

    from forum import agenda, votes
    from forum import db as database
    from forum.models import Meeting

    engine = database.make_engine(url)
    with Session(engine, expire_on_commit=False) as db:
        room = db.get(Meeting, meeting)
        entry = agenda.entries_of(db, meeting)[0]
        values = {"question": "两个进程的表决", "kind": "for_against", "scope": "attendance", "counting_unit": "person",
                  "weighting": "head", "rule": "simple", "closing": "facilitator", "agenda_entry": str(entry.id),
                  "results_while_open": "on"}
        vote, errors = votes.create_vote(db, values, community_id=room.community_id, meeting=room, issue=None,
                                         actor="test")
        assert vote is not None, errors
        db.commit()
        vote_id = vote.id
    engine.dispose()
    return vote_id


def counted(url: str, vote_id: int) -> tuple[int, int, int]:
    """Receipts, ballots and the heads in the tallies of a vote, as the database has them."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from forum import db as database
    from forum.models import Ballot, VoteReceipt, VoteTally

    engine = database.make_engine(url)
    with Session(engine) as db:
        receipts = db.exec(select(func.count()).select_from(VoteReceipt).where(VoteReceipt.vote_id == vote_id)).one()
        ballots = db.exec(select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)).one()
        heads = db.exec(select(func.coalesce(func.sum(VoteTally.heads), 0)).where(VoteTally.vote_id == vote_id)).one()
    engine.dispose()
    return receipts, ballots, heads


HAVE_VOTED = re.compile(r"(\d+) / (\d+)</strong>")


def turnout_shown(message: str) -> tuple[int, int] | None:
    if 'id="room-votecount"' not in message:
        return None
    found = HAVE_VOTED.search(message)
    return (int(found[1]), int(found[2])) if found else None


def test_ballots_of_the_same_voters_through_both_workers_count_each_once(workers, redis_url, meeting, database_url):
    from forum.bench.vote import check_in

    voters = 24
    people = check_in(database_url, meeting, voters)
    vote_id = named_vote(database_url, meeting)
    topic = channel()
    a, b = workers(redis_url, topic), workers(redis_url, topic)

    async def cast(client, token: str, choice: str) -> int:
        r = await client.post(f"/votes/{vote_id}/cast", data={"choice": choice},
                              headers={"HX-Request": "true", "Cookie": f"forum_device={token}"})
        return r.status_code

    async def scenario() -> None:
        import httpx

        await a.ready()
        await b.ready()
        staff = await signed_in(a.base)
        screen_a = await Tablet(ws_url(a.base, meeting, "screen")).connect()
        screen_b = await Tablet(ws_url(b.base, meeting, "screen")).connect()
        try:
            await screen_b.wait_for(lambda m: 'id="room-votecount"' in m)
            opened = await staff.post(f"/votes/{vote_id}/open")
            assert opened.status_code in (200, 303), opened.text
            await screen_b.wait_for(lambda m: turnout_shown(m) == (0, voters))  # opened in A, shown by B
            async with httpx.AsyncClient(base_url=a.base, timeout=WAIT) as to_a, \
                    httpx.AsyncClient(base_url=b.base, timeout=WAIT) as to_b:
                # Every voter taps on two tablets at once, one on each worker, choosing differently.
                statuses = await asyncio.gather(*(
                    cast(client, token, choice) for _aid, token in people
                    for client, choice in ((to_a, "for"), (to_b, "against"))))
            # One tap of each counted (200), the other refused as a second ballot (409), by the database.
            assert [sorted(statuses[i:i + 2]) for i in range(0, len(statuses), 2)] == [[200, 409]] * voters, statuses
            # Every screen shows all of them, whichever worker took the last ballot.
            await screen_a.wait_for(lambda m: turnout_shown(m) == (voters, voters))
            await screen_b.wait_for(lambda m: turnout_shown(m) == (voters, voters))
        finally:
            await screen_a.close()
            await screen_b.close()
            await staff.aclose()

    run(scenario())
    assert counted(database_url, vote_id) == (voters, voters, voters)  # each voter once, never twice


# ---------------------------------------------------------------- Redis restarted mid-meeting


class RedisServer:
    """A Redis of this test's own, to stop and start again (the shared one is not ours to restart)."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            unavailable("redis-server", "not on PATH")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


async def decide(staff, meeting: int) -> str:
    """A decision recorded through the console: text no page can have shown before."""
    text = f"决议 {uuid.uuid4().hex[:8]}"
    answer = await staff.post(f"/meetings/{meeting}/run/decision", data={"decision": text})
    assert answer.status_code in (200, 303), answer.text
    return text


def test_after_redis_restarts_the_tablets_of_both_workers_are_in_step_without_reconnecting(
        workers, own_redis, meeting):
    async def scenario() -> None:
        await own_redis.start()
        topic = channel()
        a, b = workers(own_redis.url, topic), workers(own_redis.url, topic)
        await a.ready()
        await b.ready()
        staff = await signed_in(a.base)
        on_a = await Tablet(ws_url(a.base, meeting)).connect()
        on_b = await Tablet(ws_url(b.base, meeting)).connect()
        try:
            assert (await staff.post(f"/meetings/{meeting}/run/start")).status_code in (200, 303)
            before = await decide(staff, meeting)
            await on_b.wait_for(lambda m: before in m)

            own_redis.stop()
            during = await decide(staff, meeting)  # made in A while Redis is away
            await on_a.wait_for(lambda m: during in m)  # A's own pages do not need Redis
            seen = len(on_b.messages)
            await own_redis.start()  # an empty Redis on the same port: nothing was kept
            await on_b.wait_for(lambda m: during in m, since=seen)  # B resubscribed and resynced

            after = await decide(staff, meeting)
            await on_a.wait_for(lambda m: after in m)
            await on_b.wait_for(lambda m: after in m)
            # The same connections throughout: no tablet reconnected or reloaded.
            assert (on_a.connections, on_b.connections) == (1, 1)
            assert not on_a.closed.is_set() and not on_b.closed.is_set()
        finally:
            await on_a.close()
            await on_b.close()
            await staff.aclose()

    run(scenario())


# ---------------------------------------------------------------- a worker dies behind nginx


def nginx_config(work: Path, listen: int, upstreams: tuple[int, int]) -> Path:
    """docs/deploy/nginx.conf as shipped, on loopback ports, with its files in ``work``."""
    site = (ROOT / "docs" / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("127.0.0.1:8001", f"127.0.0.1:{upstreams[0]}")
    site = site.replace("127.0.0.1:8002", f"127.0.0.1:{upstreams[1]}")
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{listen};", site)
    assert f"127.0.0.1:{listen}" in site and f"127.0.0.1:{upstreams[1]}" in site  # the shipped file's shape
    temp = " ".join(f"{kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = work / "nginx.conf"
    conf.write_text(f"pid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} warn;\nworker_processes 1;\n"
                    f"events {{ worker_connections 256; }}\n"
                    f"http {{\naccess_log off;\n{temp}\n{site}\n}}\n", encoding="utf-8")
    return conf


@pytest.fixture
def nginx(tmp_path) -> Iterator[Callable[[int, tuple[int, int]], subprocess.Popen]]:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        unavailable("nginx", "not on PATH")
    started: list[subprocess.Popen] = []

    def start(listen: int, upstreams: tuple[int, int]) -> subprocess.Popen:
        conf = nginx_config(tmp_path, listen, upstreams)
        process = subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
        process.wait(10)


def test_a_meetings_tablets_share_a_worker_and_reconnect_together_through_nginx_when_it_is_killed(
        workers, redis_url, meeting, nginx):
    async def scenario() -> None:
        topic = channel()
        a, b = workers(redis_url, topic), workers(redis_url, topic)
        await a.ready()
        await b.ready()
        port = free_port()
        proxy = nginx(port, (a.port, b.port))
        await wait_for_port(port, proxy)
        front = f"http://127.0.0.1:{port}"
        staff = await signed_in(front)
        assert (await staff.post(f"/meetings/{meeting}/run/start")).status_code in (200, 303)
        # nginx keeps connections to the workers for pages and actions: only what the tablets add counts.
        before = {w: open_connections(w.process.pid, w.port) for w in (a, b)}
        tablets = [await Tablet(ws_url(front, meeting)).connect() for _ in range(4)]
        try:
            for tablet in tablets:
                await tablet.wait_for(lambda m: 'id="room-queue"' in m)
            added = {w: open_connections(w.process.pid, w.port) - before[w] for w in (a, b)}
            # Every page of the meeting on one worker (nginx hashes the meeting's number), so each
            # change of it is rendered once, in one place.
            assert sorted(added.values()) == [0, 4], added
            holder, other = (a, b) if added[a] == 4 else (b, a)
            first = await decide(staff, meeting)
            for tablet in tablets:
                await tablet.wait_for(lambda m: first in m)

            holder.process.send_signal(signal.SIGKILL)  # no goodbye: its sockets just end
            holder.process.wait(10)
            for tablet in tablets:
                await asyncio.wait_for(tablet.closed.wait(), WAIT)

            missed = await decide(staff, meeting)  # through nginx, to the worker still alive
            for tablet in tablets:
                assert not any(missed in m for m in tablet.messages)
                seen = len(tablet.messages)
                await tablet.connect()  # as hx-ws does: the same address, so nginx, so the other worker
                # The first thing the new connection brings is the whole room, as it now stands.
                assert missed in await tablet.wait_for(lambda m: 'id="room-queue"' in m, since=seen)
            assert open_connections(other.process.pid, other.port) - before[other] >= 4  # together again
            after = await decide(staff, meeting)
            for tablet in tablets:
                await tablet.wait_for(lambda m: after in m)
        finally:
            for tablet in tablets:
                await tablet.close()
            await staff.aclose()

    run(scenario())


# ---------------------------------------------------------------- forum serve --workers N


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def open_connections(pid: int, port: int) -> int:
    """Established TCP connections process ``pid`` holds on its side of ``port``."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "01" and int(local.split(":")[1], 16) == port and inode in inodes:
            count += 1
    return count


def test_serve_with_two_workers_keeps_the_tablets_of_both_in_step(redis_url, meeting, database_url):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORUM_DATABASE_URL": database_url,
           "FORUM_BROADCAST_URL": redis_url, "FORUM_BROADCAST_CHANNEL": channel()}
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([sys.executable, "-m", "forum", "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    async def scenario() -> None:
        await wait_for_port(port, server, timeout=60)
        base = f"http://127.0.0.1:{port}"
        staff = await signed_in(base)
        tablets: list[Tablet] = []
        try:
            # Tablets until each of the two workers holds at least one (the kernel chooses).
            while True:
                tablets.append(await Tablet(ws_url(base, meeting)).connect())
                await tablets[-1].wait_for(lambda m: 'id="room-queue"' in m)
                workers = [pid for pid in children(server.pid) if open_connections(pid, port)]
                if len(workers) == 2:
                    break
                assert len(tablets) < 40, "every tablet went to the same worker"
            assert (await staff.post(f"/meetings/{meeting}/run/start")).status_code in (200, 303)
            made = await decide(staff, meeting)
            for tablet in tablets:
                await tablet.wait_for(lambda m: made in m)
        finally:
            for tablet in tablets:
                await tablet.close()
            await staff.aclose()

    try:
        run(scenario())
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()

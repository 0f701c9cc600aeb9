"""What the benchmarks share: forum servers (and a bare one) in other processes on loopback, on a
fresh SQLite file or a fresh PostgreSQL database, one process or N workers sharing it (and Redis);
websocket tablets in this process that time when a push reaches the last of them, the demo
meeting to run, and the machine's figures (CPU time, memory, percentiles)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # loopback only: a benchmark never listens on the network


def raise_fd_limit(wanted: int) -> None:
    """Each tablet is a socket at both ends; the default soft limit (often 1024) is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def settle(tablets: int) -> float:
    """Time for the server to finish taking connections in (and its memory to show them)."""
    return min(1.0, 0.1 + tablets / 1000)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


# ---------------------------------------------------------------- the servers under test

# One forum process, configured as ``forum serve`` is, by its environment (FORUM_DATABASE_URL, …).
FORUM_SERVER = """
import resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
from forum.server import app_factory, serve
serve(app_factory(), "127.0.0.1", int(sys.argv[1]), log_level="warning", backlog=4096)
"""


def start(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)


# How the pages of a meeting's room reach several workers: all on one (docs/deploy/nginx.conf
# routes a meeting's sockets by its id), or spread over all of them (``forum serve --workers N``,
# whose processes take connections in turn, or a proxy balancing each connection on its own).
ROOMS = ("meeting", "spread")


@dataclass(frozen=True)
class Setup:
    """Where forum runs in a benchmark: ``database`` a PostgreSQL server's URL (a database of its own
    is made there and dropped after) or None for a fresh SQLite file; ``broadcast`` the Redis that
    carries live changes between processes (FORUM_BROADCAST_URL), or None; ``workers`` processes;
    ``rooms`` how a meeting's pages go to them (ROOMS)."""

    database: str | None = None
    broadcast: str | None = None
    workers: int = 1
    rooms: str = "meeting"

    def refusal(self) -> str | None:
        """Why this cannot run, in the words of ``forum serve``'s refusals; None when it can."""
        from forum import server
        from forum.settings import broadcast_url

        if self.rooms not in ROOMS:
            return f"--rooms is {self.rooms!r}; it must be one of {', '.join(ROOMS)}"
        if self.database is not None and not self.database.startswith("postgresql"):
            return f"--database is {self.database!r}; it must be a PostgreSQL URL such as " \
                   "postgresql+psycopg://postgres@127.0.0.1:5432/postgres (without it: a fresh SQLite file)"
        try:
            broadcast_url(self.broadcast)
        except ValueError as problem:
            return str(problem).replace("FORUM_BROADCAST_URL", "--broadcast")
        refusal = server.workers_refusal(self.workers, self.broadcast or "")
        return refusal.replace("FORUM_BROADCAST_URL", "--broadcast") if refusal else None

    def describe(self) -> str:
        where = "PostgreSQL" if self.database else "SQLite"
        bus = " + Redis" if self.broadcast else ""
        rooms = ", rooms spread" if self.workers > 1 and self.rooms == "spread" else ""
        return f"{where}{bus}, {self.workers} worker{'s' if self.workers > 1 else ''}{rooms}"


@contextlib.contextmanager
def database_for(setup: Setup) -> Iterator[str]:
    """A fresh, empty database for one run, and its URL; removed after."""
    if setup.database is None:
        workdir = tempfile.mkdtemp(prefix="forum-bench-")
        try:
            yield f"sqlite:///{workdir}/bench.db"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    from sqlalchemy import create_engine, make_url, text

    server_url = make_url(setup.database)
    if server_url.drivername == "postgresql":
        server_url = server_url.set(drivername="postgresql+psycopg")
    name = f"forum_bench_{secrets.token_hex(6)}"  # a name no one else's run has
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'create database "{name}"'))
        try:
            yield server_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'drop database if exists "{name}" with (force)'))
    finally:
        admin.dispose()


class Servers:
    """``setup.workers`` forum processes sharing one database (and Redis), each on a port of its own,
    as behind a proxy: HTTP requests go where the bench sends them, and the pages of meeting ``m``
    to worker ``m % n`` (docs/deploy/nginx.conf keeps a meeting's pages together), or with
    ``rooms="spread"`` in turn over all of them, page ``i`` to worker ``i % n``."""

    def __init__(self, setup: Setup, url: str) -> None:
        self.rooms = setup.rooms
        self.ports = [free_port() for _ in range(setup.workers)]
        env = {**os.environ, "FORUM_DATABASE_URL": url, "FORUM_SECRET_KEY": "bench", "FORUM_LANGUAGE": "zh-Hans"}
        env.pop("FORUM_BROADCAST_URL", None)
        if setup.broadcast:
            # A channel of this run's own: other runs on the same Redis are not heard.
            env |= {"FORUM_BROADCAST_URL": setup.broadcast, "FORUM_BROADCAST_CHANNEL": f"bench-{secrets.token_hex(6)}"}
        self.processes = [start(FORUM_SERVER, str(port), env=env) for port in self.ports]

    async def ready(self) -> None:
        for port, process in zip(self.ports, self.processes, strict=True):
            await wait_for_port(port, process)

    def port(self, i: int) -> int:
        return self.ports[i % len(self.ports)]

    def base(self, i: int = 0) -> str:
        return f"http://{HOST}:{self.port(i)}"

    def ws(self, path: str) -> list[str]:
        """``path``'s websocket address on each worker, for :meth:`Tablets.connect` to spread over."""
        return [f"ws://{HOST}:{port}{path}" for port in self.ports]

    def room(self, meeting_id: int, audience: str = "tablet", first: int = 0) -> list[str]:
        """Where the pages of a meeting's room connect, for :meth:`Tablets.connect`: its one worker,
        or every worker in turn starting at ``first``."""
        urls = self.ws(f"/meetings/{meeting_id}/ws?audience={audience}")
        if self.rooms == "meeting":
            return [urls[meeting_id % len(urls)]]
        first %= len(urls)
        return urls[first:] + urls[:first]

    def rss_kb(self) -> int:
        return sum(rss_kb(p.pid) for p in self.processes)

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


async def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            _reader, writer = await asyncio.open_connection(HOST, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


# ---------------------------------------------------------------- tablets


@dataclass
class Round:
    expect: str = ""
    t0: float = 0.0
    pending: int = 0
    last: float = 0.0
    seen: set[int] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Tablets:
    """N websocket clients in this process; each notes when it first sees the awaited text."""

    def __init__(self) -> None:
        self.sockets: list = []
        self.tasks: list[asyncio.Task] = []
        self.round = Round()
        self.sizes: list[int] = []
        self.responses: list[float] = []  # ms until the action's own HTTP response

    async def connect(self, url: str | Sequence[str], n: int, first_message: bool, batch: int = 100) -> None:
        """N tablets; given several addresses (one per worker), tablet i connects to the i-th in turn."""
        from websockets.asyncio.client import connect

        urls = [url] if isinstance(url, str) else list(url)

        async def one(i: int) -> None:
            for attempt in range(20):
                try:
                    ws = await connect(urls[i % len(urls)], max_size=None, open_timeout=30, ping_interval=None)
                    break
                except OSError:
                    await asyncio.sleep(0.05 * (attempt + 1))
            else:
                raise RuntimeError(f"tablet {i} could not connect")
            if first_message:
                await ws.recv()  # the full state every page gets on connect
            self.sockets.append(ws)
            self.tasks.append(asyncio.create_task(self.listen(i, ws)))

        for start_at in range(0, n, batch):
            await asyncio.gather(*(one(i) for i in range(start_at, min(n, start_at + batch))))

    async def listen(self, i: int, ws) -> None:
        with contextlib.suppress(Exception):
            async for message in ws:
                r = self.round
                if r.pending and i not in r.seen and r.expect in message:
                    r.seen.add(i)
                    if i == 0:
                        self.sizes.append(len(message.encode()))
                    r.pending -= 1
                    if r.pending == 0:
                        r.last = time.perf_counter()
                        r.done.set()

    async def timed(self, expect: str, action: Callable, timeout: float = 30) -> float:
        """Milliseconds from starting ``action`` to the last tablet seeing ``expect``."""
        self.round = Round(expect=expect, pending=len(self.sockets))
        self.round.t0 = time.perf_counter()
        await action()
        self.responses.append((time.perf_counter() - self.round.t0) * 1000)
        await asyncio.wait_for(self.round.done.wait(), timeout)
        return (self.round.last - self.round.t0) * 1000

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


# ---------------------------------------------------------------- the demo meeting they run


def seed(url: str) -> int:
    from sqlmodel import Session, select

    from forum import db as database
    from forum import demo
    from forum.models import AgendaEntry, Meeting, MeetingStatus

    engine = database.make_engine(url)
    database.upgrade(engine)
    with Session(engine) as db:
        demo.seed(db)
        db.commit()
        for meeting in db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned)
                               .order_by(Meeting.starts_at)):
            if db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)).first():
                engine.dispose()
                return meeting.id
    raise RuntimeError("the demo data has no planned meeting with an agenda")


def join_code_of(url: str, meeting_id: int) -> str:
    """The code the hall shows, as a resident reads it off the wall."""
    from sqlmodel import Session

    from forum import db as database
    from forum.models import Meeting

    engine = database.make_engine(url)
    with Session(engine) as db:
        code = db.get(Meeting, meeting_id).join_code or ""
    engine.dispose()
    return code

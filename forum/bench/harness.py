"""What both benchmarks share: a forum server (and a bare one) in another process on loopback,
websocket tablets in this process that time when a push reaches the last of them, the demo
meeting to run, and the machine's figures (CPU time, memory, percentiles)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
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

FORUM_SERVER = """
import resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
from forum.app import create_app
from forum.server import serve
from forum.settings import Settings
app = create_app(Settings(database_url=sys.argv[1], secret_key="bench", language="zh-Hans"))
serve(app, "127.0.0.1", int(sys.argv[2]), log_level="warning", backlog=4096)
"""

# The floor: a websockets server that sends one message to every client when told to.


def start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


async def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
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

    async def connect(self, url: str, n: int, first_message: bool, batch: int = 100) -> None:
        from websockets.asyncio.client import connect

        async def one(i: int) -> None:
            for attempt in range(20):
                try:
                    ws = await connect(url, max_size=None, open_timeout=30, ping_interval=None)
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

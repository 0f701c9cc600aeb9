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
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
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
    asyncio.run(coro)


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

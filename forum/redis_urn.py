"""The urn of secret ballots shared by every forum process through Redis (forum.secrecy).

With several workers a ballot handed in through one must be seen by all: the closing (wherever
it runs) writes it, a second tap through another worker is "already", every screen's turnout
counts it. So when ``FORUM_BROADCAST_URL`` is set the waiting ballots live in Redis:

* per vote, a hash ``voter_key → slip`` and a list of voter keys in arrival order, under
  ``forum:{channel}:urn:{vote}:`` (the broadcast channel keeps two installations apart);
* a per-vote Redis lock (redis-py ``Lock``) is held exactly where the in-process urn holds its
  lock: across check, add, write and commit, and across a closing. It expires after
  ``LOCK_SECONDS`` so a worker that died holding it blocks nobody for long; while a live worker
  holds it, however long (a closing on a slow database), a watchdog thread extends it every third
  of that. Should it be lost all the same (Redis away for longer than that), the holder refuses to
  commit (:meth:`RedisUrn.ensure_held`, checked before each commit): a ballot another worker let in
  meanwhile is never shut out of a closing that had already counted. The receipts' unique key
  keeps a ballot counted once should two writers ever overlap;
* a slip leaves Redis only after the commit that wrote it: a worker dying mid-batch loses
  nothing (a slip already written is skipped by the next write, its receipt exists);
* the keys expire ``KEEP_SECONDS`` after the last ballot, so nothing lingers.

Waiting slips say who chose what: they must never reach disk. :func:`check_not_persisted`
refuses a Redis that saves snapshots or keeps an append-only file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forum.secrecy import Slip

log = logging.getLogger("forum.redis_urn")

LOCK_SECONDS = 60.0  # a holder that died frees the vote after this long
WAIT_SECONDS = 30.0  # how long a worker waits for another's batch or closing before giving up
# How often a worker waiting for another's lock asks Redis again. redis-py's default (0.1 s) put
# up to that much on a ballot each time two workers' ballot boxes met (``forum bench vote``).
RETRY_SECONDS = 0.005
KEEP_SECONDS = 7 * 24 * 3600  # waiting ballots of a vote nobody touches for a week are dropped

PERSISTENCE_HELP = (
    "the Redis at FORUM_BROADCAST_URL keeps data on disk ({what}); forum keeps secret ballots waiting "
    "there, linking voters to choices, and refuses to start. Turn persistence off: start redis-server "
    "with --save \"\" --appendonly no (or in redis.conf: save \"\" and appendonly no, or at run time: "
    "redis-cli CONFIG SET save \"\" and CONFIG SET appendonly no).")
MANAGED_HELP = (
    "cannot read the configuration of the Redis at FORUM_BROADCAST_URL ({error}), so forum cannot check "
    "that it keeps nothing on disk; secret ballots wait there. Turn its persistence (snapshots and "
    "append-only file) off, then set FORUM_REDIS_PERSISTENCE_OFF=1 to say so.")


class RedisPersistenceError(RuntimeError):
    """The Redis that would hold waiting secret ballots writes them to disk (or cannot say)."""


class LockLostError(RuntimeError):
    """This worker no longer holds a vote's lock in Redis: what it would commit is refused."""


def check_not_persisted(client, *, declared_off: bool = False) -> None:
    """Refuse a Redis that snapshots (``save`` set) or logs (``appendonly yes``) its data. When
    CONFIG is not permitted (managed Redis), refuse unless the operator declared persistence off."""
    import redis

    try:
        save = client.config_get("save").get("save", "")
        appendonly = client.config_get("appendonly").get("appendonly", "no")
    except redis.ResponseError as error:  # CONFIG renamed or forbidden
        if declared_off:
            return
        raise RedisPersistenceError(MANAGED_HELP.format(error=error)) from None
    what = []
    if save and save.strip():
        what.append(f"save {save!r}")
    if str(appendonly).strip().lower() == "yes":
        what.append("appendonly yes")
    if what:
        raise RedisPersistenceError(PERSISTENCE_HELP.format(what=", ".join(what)))


class RedisUrn:
    """Secret ballots waiting in Redis, by vote, in arrival order; see the module's docstring."""

    def __init__(self, client, prefix: str, batch: int, *, declared_off: bool = False) -> None:
        self.client = client
        self.prefix = prefix
        self.batch = batch
        self.declared_off = declared_off
        self.checked = False  # Redis said it keeps nothing on disk (checked before the first slip)
        self._held = threading.local()  # vote id → depth: a thread re-entering its own lock
        # The locks this process holds now (lock → when taken), kept alive by one watchdog thread.
        self._locks: dict[object, float] = {}
        self._lost: set[object] = set()  # held locks the watchdog could not extend
        self._watch = threading.Condition()
        self._watchdog: threading.Thread | None = None
        self._local: dict[int, threading.Lock] = {}  # by vote: this process's threads queue here first

    def check(self) -> None:
        """Refuse (RedisPersistenceError) a Redis that would write waiting ballots to disk."""
        if not self.checked:
            check_not_persisted(self.client, declared_off=self.declared_off)
            self.checked = True

    def _keys(self, vote_id: int) -> tuple[str, str]:
        base = f"{self.prefix}:urn:{vote_id}"
        return f"{base}:slips", f"{base}:order"

    @contextlib.contextmanager
    def locked(self, vote_id: int) -> Iterator[None]:
        held: dict[int, int] = self._held.__dict__.setdefault("votes", {})
        if held.get(vote_id):  # already ours, in this thread (a closing counts the turnout)
            held[vote_id] += 1
            try:
                yield
            finally:
                held[vote_id] -= 1
            return
        # The threads of this process (its ballot box, its renders of the turnout, its closer)
        # queue here; only the first asks Redis, so a worker polls Redis once whatever its load.
        local = self._local_lock(vote_id)
        if not local.acquire(timeout=WAIT_SECONDS):
            raise TimeoutError(f"vote {vote_id}: this process held the secret ballots for {WAIT_SECONDS:.0f} s")
        try:
            lock = self.client.lock(f"{self.prefix}:urn:{vote_id}:lock", timeout=LOCK_SECONDS,
                                    sleep=RETRY_SECONDS, blocking_timeout=WAIT_SECONDS, thread_local=False)
            if not lock.acquire():
                raise TimeoutError(f"vote {vote_id}: another forum process held the secret ballots for "
                                   f"{WAIT_SECONDS:.0f} s")
        except BaseException:
            local.release()
            raise
        held[vote_id] = 1
        locks = self._held.__dict__.setdefault("locks", {})
        locks[vote_id] = lock
        self._guard(lock)
        try:
            yield
        finally:
            held.pop(vote_id, None)
            locks.pop(vote_id, None)
            self._unguard(lock)
            with contextlib.suppress(Exception):  # lost meanwhile: ensure_held refused its commit
                lock.release()
            local.release()

    def _local_lock(self, vote_id: int) -> threading.Lock:
        with self._watch:
            return self._local.setdefault(vote_id, threading.Lock())

    def ensure_held(self, vote_id: int) -> None:
        """Raise LockLostError unless this thread holds the vote's lock in Redis now (before a commit)."""
        lock = self._lock_of(vote_id)
        if lock is None:
            return  # not taken through locked() (a test's own call): nothing to check
        try:
            owned = lock not in self._lost and lock.owned()
        except Exception as error:  # noqa: BLE001 - Redis away: ownership cannot be shown
            raise LockLostError(f"vote {vote_id}: cannot check the secret ballots' lock ({error})") from error
        if not owned:
            raise LockLostError(f"vote {vote_id}: the secret ballots' lock expired while held; not committing")

    def _lock_of(self, vote_id: int):
        return self._held.__dict__.get("locks", {}).get(vote_id)

    # ------------------------------------------------------------ keeping held locks alive

    def _guard(self, lock) -> None:
        with self._watch:
            self._locks[lock] = time.monotonic()
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(target=self._keep_alive, name="forum-urn-watchdog", daemon=True)
                self._watchdog.start()
            self._watch.notify()

    def _unguard(self, lock) -> None:
        with self._watch:
            self._locks.pop(lock, None)
            self._lost.discard(lock)

    def _keep_alive(self) -> None:
        """Every third of LOCK_SECONDS, extend each lock held for that long back to LOCK_SECONDS
        (short holds, a ballot's, never need it). Runs while the process lives; idles when none is held."""
        while True:
            with self._watch:
                while not self._locks:
                    self._watch.wait()
                period = LOCK_SECONDS / 3
                now = time.monotonic()
                due = [lock for lock, since in self._locks.items() if now - since >= period and lock not in self._lost]
            for lock in due:
                try:
                    lock.reacquire()  # back to the full LOCK_SECONDS; refused if no longer ours
                except Exception as error:  # noqa: BLE001 - lost, or Redis away: the holder will refuse
                    with self._watch:
                        if lock in self._locks:  # (not just released by its holder)
                            self._lost.add(lock)
                            log.error("cannot extend the secret ballots' lock %s (%s)", lock.name, error)
                    continue
                with self._watch:
                    if lock in self._locks:
                        self._locks[lock] = time.monotonic()
            with self._watch:
                self._watch.wait(period / 2)

    def waiting(self, vote_id: int) -> list[Slip]:
        from forum.secrecy import Slip

        slips, order = self._keys(vote_id)
        keys = [k.decode() for k in self.client.lrange(order, 0, -1)]
        if not keys:
            return []
        values = self.client.hmget(slips, keys)
        return [Slip(**json.loads(v)) for v in values if v is not None]

    def add(self, vote_id: int, slip: Slip) -> None:
        self.add_all(vote_id, [slip])

    def add_all(self, vote_id: int, slips_: Sequence[Slip]) -> None:
        """Slips in arrival order, in one round trip (a ballot box's batch)."""
        if not slips_:
            return
        self.check()  # at start already, unless Redis was away then
        slips, order = self._keys(vote_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(slips, mapping={s.voter_key: json.dumps(asdict(s)) for s in slips_})
            pipe.rpush(order, *[s.voter_key for s in slips_])
            pipe.expire(slips, KEEP_SECONDS)
            pipe.expire(order, KEEP_SECONDS)
            pipe.execute()

    def take(self, vote_id: int, slips_: Sequence[Slip]) -> None:
        if not slips_:
            return
        slips, order = self._keys(vote_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(slips, *[s.voter_key for s in slips_])
            for s in slips_:
                pipe.lrem(order, 1, s.voter_key)
            pipe.execute()


def make(url: str, channel: str, batch: int, *, declared_off: bool = False) -> RedisUrn:
    """The shared urn of an installation. Checks first that the Redis keeps nothing on disk, and
    refuses to start (RedisPersistenceError) if it does; a Redis away at start is checked before
    the first ballot waits in it instead."""
    import redis

    urn = RedisUrn(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10), f"forum:{channel}",
                   batch, declared_off=declared_off)
    try:
        urn.check()
    except redis.ConnectionError as error:
        log.warning("Redis at FORUM_BROADCAST_URL does not answer (%s); its persistence is checked later", error)
    return urn

"""The urn of secret ballots shared by several workers through Redis (forum.redis_urn): the
secrecy tests' scenarios on it, two workers (two engines on one database file, two urns on one
Redis prefix) counting every voter once, a worker dying mid-batch losing nothing, a closing that
holds the other worker's ballots off, and a Redis that keeps data on disk refused."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest
import redis
from sqlmodel import Session, select

from forum import db as database
from forum import redis_urn, secrecy, votes
from forum.app import create_app
from forum.models import Vote, VoteReceipt, VoteStatus
from forum.redis_urn import RedisPersistenceError, RedisUrn, check_not_persisted
from forum.settings import Settings
from tests import test_secrecy, test_votes
from tests.databases import sqlite_only
from tests.test_secrecy import hall, key_of
from tests.test_votes import count_batch, open_vote_in, outcomes

db = test_votes.db
room = test_votes.room
K = secrecy.DEFAULT_BATCH
URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def client():
    c = redis.Redis.from_url(URL, socket_connect_timeout=1)
    try:
        c.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis at 127.0.0.1:6379 does not answer (CI starts it: .ci/run)")
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield c
    c.close()


@pytest.fixture
def prefix(client):
    name = f"forum:test-{uuid.uuid4().hex}"
    yield name
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def shared_urn(engine, prefix: str) -> RedisUrn:
    """One worker's urn: its own Redis connection, the installation's prefix."""
    urn = RedisUrn(redis.Redis.from_url(URL), prefix, K)
    secrecy.configure(engine, K, urn)
    return urn


@pytest.fixture
def shared(demo_engine, prefix):
    return shared_urn(demo_engine, prefix)


@pytest.fixture
def other(demo_engine, prefix):
    """A second worker: its own engine on the same database file, its own urn on the same prefix."""
    engine = database.make_engine(str(demo_engine.url))
    shared_urn(engine, prefix)
    yield engine
    engine.dispose()


# ---------------------------------------------------------------- the secrecy tests, on the shared urn


@sqlite_only("reads SQLite's write-ahead log frame by frame; PostgreSQL's WAL has no such reader here")
def test_no_commit_in_the_write_ahead_log_links_a_voter_to_a_choice(shared, app, demo_engine, db, room, tmp_path):
    test_secrecy.test_no_commit_in_the_write_ahead_log_links_a_voter_to_a_choice(app, demo_engine, db, room, tmp_path)


def test_the_urn_writes_every_batch_with_at_least_k_voters(shared, demo_engine, db, room, monkeypatch):
    test_secrecy.test_the_urn_writes_every_batch_with_at_least_k_voters(demo_engine, db, room, monkeypatch)


def test_a_vote_that_closed_takes_no_more_and_loses_none(shared, demo_engine, db, room, monkeypatch):
    test_secrecy.test_a_vote_that_closed_takes_no_more_and_loses_none(demo_engine, db, room, monkeypatch)


def test_a_failed_closing_puts_the_waiting_ballots_back(shared, demo_engine, db, room, monkeypatch):
    test_secrecy.test_a_failed_closing_puts_the_waiting_ballots_back(demo_engine, db, room, monkeypatch)


# ---------------------------------------------------------------- two workers


def waiting(engine, vote_id: int) -> int:
    with Session(engine) as s:
        return secrecy.waiting_count(s, vote_id)


def test_two_workers_count_every_voter_once_in_batches_of_k(shared, other, demo_engine, db, room, monkeypatch):
    two_workers(demo_engine, other, db, room, monkeypatch)


def test_two_apps_on_one_database_and_one_redis_are_two_workers(client, demo_engine, db, room, monkeypatch):
    """The same, with the urns create_app makes from the settings (channel = the installation)."""
    channel = f"test-{uuid.uuid4().hex}"
    settings = Settings(database_url=str(demo_engine.url), secret_key="k", language="zh-Hans", broadcast_url=URL,
                        broadcast_channel=channel)
    second = database.make_engine(str(demo_engine.url))
    try:
        create_app(settings, engine=demo_engine)
        create_app(settings, engine=second)
        assert secrecy.urn_of(demo_engine) is not secrecy.urn_of(second)
        two_workers(demo_engine, second, db, room, monkeypatch)
    finally:
        second.dispose()
        for key in client.scan_iter(f"forum:{channel}:*"):
            client.delete(key)


def two_workers(demo_engine, other, db, room, monkeypatch) -> None:
    meeting, entry, _people, _guest = room
    voters = hall(db, room, 18)  # 23
    writes: list[int] = []
    real = secrecy._write

    def recording(db_, vote, slips, *, closing=False):
        writes.append(len(slips))
        return real(db_, vote, slips, closing=closing)

    monkeypatch.setattr(secrecy, "_write", recording)
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    choices = ["for", "against", "abstain"]
    plan = {key_of(a): choices[i % 3] for i, a in enumerate(voters)}
    workers = [demo_engine, other]
    for i, a in enumerate(voters):
        first = [votes.TabletCast(a, "", [plan[key_of(a)]])]
        count_batch(workers[i % 2], vote_id, first)
        assert outcomes(first)[0] in ("received", "counted")
        again = [votes.TabletCast(a, "", ["for"])]  # a second tap, through the other worker
        count_batch(workers[(i + 1) % 2], vote_id, again)
        assert outcomes(again) == ["already"]
        # Every screen sees the same turnout, whichever worker it is connected to.
        assert waiting(demo_engine, vote_id) == waiting(other, vote_id) > 0
    with Session(demo_engine) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
    assert waiting(other, vote_id) == 0
    assert all(n >= K for n in writes) and sum(writes) == len(voters), writes
    with Session(other) as s:
        vote = s.get(Vote, vote_id)
        totals = {t["key"]: t["heads"] for t in votes.tally_result(s, vote)["totals"]}
        assert totals == {c: list(plan.values()).count(c) for c in choices}
        assert set(s.exec(select(VoteReceipt.voter_key).where(VoteReceipt.vote_id == vote_id))) == set(plan)


def test_a_worker_dying_in_the_middle_of_a_batch_loses_no_ballot(shared, other, demo_engine, db, room, monkeypatch):
    meeting, entry, _people, _guest = room
    voters = hall(db, room, 5)  # 10 = 2K: the tenth ballot makes a batch
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    for a in voters[:-1]:
        count_batch(demo_engine, vote_id, [votes.TabletCast(a, "", ["for"])])
    real = secrecy._write

    def dies(db_, vote, slips, *, closing=False):
        real(db_, vote, slips, closing=closing)  # written, not committed
        raise ConnectionError("the worker is killed")

    monkeypatch.setattr(secrecy, "_write", dies)
    last = [votes.TabletCast(voters[-1], "", ["against"])]
    count_batch(other, vote_id, last)
    monkeypatch.undo()
    assert outcomes(last) == ["received"]
    assert waiting(demo_engine, vote_id) == waiting(other, vote_id) == len(voters)
    with Session(demo_engine) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
    with Session(other) as s:
        totals = {t["key"]: t["heads"] for t in votes.tally_result(s, s.get(Vote, vote_id))["totals"]}
    assert totals == {"for": len(voters) - 1, "against": 1, "abstain": 0}


def test_a_slip_written_by_a_worker_that_died_before_forgetting_it_counts_once(shared, other, demo_engine, db, room,
                                                                               monkeypatch):
    meeting, entry, _people, _guest = room
    voters = hall(db, room, 10)  # 15
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    monkeypatch.setattr(shared, "take", lambda *_: None)  # committed, then the worker died
    for a in voters[:2 * K]:
        count_batch(demo_engine, vote_id, [votes.TabletCast(a, "", ["for"])])
    monkeypatch.undo()
    # The next ballot, through the other worker: the K written are forgotten, not written again
    # with one new voter beside them (a commit adding one receipt and one choice).
    new: list[int] = []
    real = secrecy._write

    def recording(db_, vote, slips, *, closing=False):
        written = real(db_, vote, slips, closing=closing)
        new.append(len(written or []))
        return written

    monkeypatch.setattr(secrecy, "_write", recording)
    count_batch(other, vote_id, [votes.TabletCast(voters[2 * K], "", ["against"])])
    count_batch(other, vote_id, [votes.TabletCast(voters[0], "", ["against"])])  # "already", once
    assert all(n >= K for n in new), new
    assert waiting(demo_engine, vote_id) == K + 1
    with Session(other) as s:
        assert votes.turnout(s, s.get(Vote, vote_id))[0] == 2 * K + 1
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
        totals = {t["key"]: t["heads"] for t in votes.tally_result(s, s.get(Vote, vote_id))["totals"]}
    assert totals == {"for": 2 * K, "against": 1, "abstain": 0}


def _closing_races_the_other_worker(other, demo_engine, room, monkeypatch, closing_lasts: float) -> None:
    """A closing holds the vote while another worker tries to add a late ballot: the late ballot
    waits for the whole closing (which lasts ``closing_lasts`` seconds once it has written) and is
    then told the vote is closed; the count has every voter who voted before it, once."""
    meeting, entry, people, guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    count_batch(demo_engine, vote_id, [votes.TabletCast(a, "", ["for"]) for a in people])
    late = [votes.TabletCast(guest, "", ["against"])]
    racer = threading.Thread(target=count_batch, args=(other, vote_id, late))
    real = secrecy._write
    held_off: list[bool] = []

    def closing_write(db_, vote, slips, *, closing=False):
        written = real(db_, vote, slips, closing=closing)
        if closing:
            racer.start()
            racer.join(closing_lasts)  # with the lock held it cannot finish; without, it would in far less
            held_off.append(racer.is_alive())
        return written

    monkeypatch.setattr(secrecy, "_write", closing_write)
    with Session(demo_engine) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
    racer.join(30)
    assert held_off == [True]
    assert outcomes(late) == ["not_open"]  # told so, never "received" and then lost
    with Session(other) as s:
        totals = {t["key"]: t["heads"] for t in votes.tally_result(s, s.get(Vote, vote_id))["totals"]}
    assert totals == {"for": 4, "against": 0, "abstain": 0}
    assert waiting(other, vote_id) == 0


def test_a_closing_holds_off_the_other_workers_ballots_until_it_commits(shared, other, demo_engine, db, room,
                                                                        monkeypatch):
    _closing_races_the_other_worker(other, demo_engine, room, monkeypatch, closing_lasts=1.0)


def test_waiting_ballots_expire_in_redis(shared, client, prefix, demo_engine, db, room):
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    count_batch(demo_engine, vote_id, [votes.TabletCast(people[0], "", ["for"])])
    keys = list(client.scan_iter(f"{prefix}:urn:{vote_id}:*"))
    assert len(keys) == 2
    assert all(0 < client.ttl(k) <= redis_urn.KEEP_SECONDS for k in keys)


# ---------------------------------------------------------------- configured from settings


def test_create_app_shares_the_urn_through_the_broadcast_redis(client, demo_engine):
    channel = f"test-{uuid.uuid4().hex}"
    create_app(Settings(database_url="sqlite://", secret_key="k", language="zh-Hans", broadcast_url=URL,
                        broadcast_channel=channel), engine=demo_engine)
    urn = secrecy.urn_of(demo_engine)
    assert isinstance(urn, RedisUrn) and urn.prefix == f"forum:{channel}" and urn.checked
    assert not isinstance(secrecy.urn_of(database.make_engine("sqlite://")), RedisUrn)  # without it, memory


class FakeConfig:
    def __init__(self, config: dict[str, str] | None) -> None:
        self.config = config

    def config_get(self, name: str) -> dict[str, str]:
        if self.config is None:
            raise redis.ResponseError("unknown command 'CONFIG'")
        return {name: self.config[name]}


def test_a_redis_that_keeps_data_on_disk_is_refused():
    check_not_persisted(FakeConfig({"save": "", "appendonly": "no"}))
    with pytest.raises(RedisPersistenceError, match=r"--save \"\" --appendonly no"):
        check_not_persisted(FakeConfig({"save": "3600 1", "appendonly": "no"}))
    with pytest.raises(RedisPersistenceError, match="appendonly yes"):
        check_not_persisted(FakeConfig({"save": "", "appendonly": "yes"}))
    with pytest.raises(RedisPersistenceError, match="FORUM_REDIS_PERSISTENCE_OFF=1"):
        check_not_persisted(FakeConfig(None))  # managed Redis: CONFIG forbidden
    check_not_persisted(FakeConfig(None), declared_off=True)
    assert Settings.from_env({"FORUM_REDIS_PERSISTENCE_OFF": "1"}).redis_persistence_off
    assert not Settings.from_env({}).redis_persistence_off


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_forum_refuses_to_start_on_a_redis_that_snapshots(demo_engine, tmp_path):
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (the machines have it)")
        pytest.skip("no redis-server")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "60 1",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        probe = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private redis-server did not start"
                time.sleep(0.05)
        settings = Settings(database_url="sqlite://", secret_key="k", language="zh-Hans",
                            broadcast_url=f"redis://127.0.0.1:{port}/0", broadcast_channel="forum")
        with pytest.raises(RedisPersistenceError, match="save '60 1'"):
            create_app(settings, engine=demo_engine)
    finally:
        server.terminate()
        server.wait(10)


def test_a_closing_longer_than_the_lock_timeout_still_holds_off_the_other_workers_ballots(
        shared, other, demo_engine, db, room, monkeypatch):
    # The lock expires after LOCK_SECONDS unless its holder's watchdog extends it: a closing that
    # takes three times that long (a slow database) must still keep the other worker's ballot out.
    monkeypatch.setattr(redis_urn, "LOCK_SECONDS", 0.6)
    _closing_races_the_other_worker(other, demo_engine, room, monkeypatch, closing_lasts=3 * redis_urn.LOCK_SECONDS)


def test_a_closing_whose_lock_was_lost_refuses_to_commit(shared, client, prefix, demo_engine, db, room, monkeypatch):
    # Redis lost the lock while the closing held it (away longer than the timeout, or flushed):
    # another worker may have let a ballot in, so the closing must not commit a count without it.
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    count_batch(demo_engine, vote_id, [votes.TabletCast(a, "", ["for"]) for a in people])
    real = secrecy._write

    def closing_write_losing_the_lock(db_, vote, slips, *, closing=False):
        written = real(db_, vote, slips, closing=closing)
        if closing:
            client.delete(f"{prefix}:urn:{vote_id}:lock")
        return written

    monkeypatch.setattr(secrecy, "_write", closing_write_losing_the_lock)
    with Session(demo_engine) as s, pytest.raises(redis_urn.LockLostError):
        votes.close_vote(s, s.get(Vote, vote_id), actor="test")
    with Session(demo_engine) as s:
        assert s.get(Vote, vote_id).status == VoteStatus.open  # nothing committed
    assert waiting(demo_engine, vote_id) == len(people)  # the ballots still wait for a closing that holds the lock

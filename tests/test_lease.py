"""Run-once duties across workers: the lease in the database (forum.lease), the vote closer acting
only while it holds it, and the day's notices written by one worker.

Each "worker" here has an engine of its own on the same database (a SQLite file, or a schema of
PostgreSQL), as two processes would; time is a clock the test moves, never a sleep.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, func, select

from forum import db as database
from forum import lease, notify, votes
from forum.lease import Lease
from forum.models import Notice, VoteAudit, VoteStatus, now
from tests import test_votes
from tests.test_vote_closer import AT, set_closing, stored
from tests.test_votes import open_vote_in

db, room = test_votes.db, test_votes.room  # the fixtures: a session on the demo, the lift meeting checked in

TTL = timedelta(seconds=15)
T0 = datetime(2030, 1, 1, 2, 0)  # UTC, the leases' clock


class Clock:
    """The time every worker in a test reads, moved by the test."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_engines(request, tmp_path):
    """Two workers' engines on one migrated database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'lease.db'}"
        first = database.make_engine(url)
        database.upgrade(first)
        second = database.make_engine(url)
    else:
        first = request.getfixturevalue("postgres_engine")  # a fresh schema of its own
        database.upgrade(first)
        with first.connect() as connection:
            schema = connection.execute(text("show search_path")).scalar()
        second = create_engine(first.url, connect_args={"options": f"-csearch_path={schema}"})
    yield first, second
    second.dispose()


def leases(engines, clock: Clock, name: str = "duty") -> tuple[Lease, Lease]:
    a, b = engines
    return (Lease(a, name, TTL, holder="worker-a", clock=clock), Lease(b, name, TTL, holder="worker-b", clock=clock))


# ---------------------------------------------------------------- the lease


def test_one_holder_wins(two_engines, clock):
    a, b = leases(two_engines, clock)
    assert a.hold() is True
    assert b.hold() is False
    assert lease.holder_of(two_engines[1], "duty", clock()) == "worker-a"
    assert b.hold() is False  # asking again changes nothing


def test_leases_of_different_duties_are_apart(two_engines, clock):
    a, _b = leases(two_engines, clock, "closing")
    _a, b = leases(two_engines, clock, "notices")
    assert a.hold() and b.hold()


def test_holders_asking_at_once_one_wins(two_engines, clock):
    """Eight workers' rounds at the same instant, over two engines: the database picks one."""
    engines = two_engines
    holders = [Lease(engines[i % 2], "duty", TTL, holder=f"worker-{i}", clock=clock) for i in range(8)]
    barrier, won = threading.Barrier(len(holders)), []

    def ask(held: Lease) -> None:
        barrier.wait(10)
        if held.hold():
            won.append(held.holder)

    threads = [threading.Thread(target=ask, args=(h,)) for h in holders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    assert lease.holder_of(engines[0], "duty", clock()) == won[0]


def test_the_holder_renews_and_keeps_it(two_engines, clock):
    a, b = leases(two_engines, clock)
    assert a.hold()
    clock.advance(TTL - timedelta(seconds=1))
    assert a.hold()  # renewed: now held until TTL from here
    clock.advance(timedelta(seconds=2))  # past the first expiry, within the renewed one
    assert b.hold() is False
    assert lease.holder_of(two_engines[0], "duty", clock()) == "worker-a"


def test_a_holder_that_stops_renewing_is_taken_over_when_it_expires(two_engines, clock):
    a, b = leases(two_engines, clock)
    assert a.hold()
    clock.advance(TTL - timedelta(microseconds=1))
    assert b.hold() is False  # not yet
    clock.advance(timedelta(microseconds=1))
    assert b.hold() is True  # expired: taken over
    assert a.hold() is False  # the old holder, back, finds it gone
    assert lease.holder_of(two_engines[0], "duty", clock()) == "worker-b"


def test_released_it_is_taken_at_once(two_engines, clock):
    a, b = leases(two_engines, clock)
    assert a.hold()
    assert a.release() is True
    assert lease.holder_of(two_engines[0], "duty", clock()) is None
    assert b.hold() is True


def test_releasing_a_lease_taken_over_leaves_it_to_its_new_holder(two_engines, clock):
    a, b = leases(two_engines, clock)
    assert a.hold()
    clock.advance(TTL)
    assert b.hold()
    assert a.release() is False
    assert lease.holder_of(two_engines[0], "duty", clock()) == "worker-b"


def test_a_longer_hold_for_one_round(two_engines, clock):
    a, b = leases(two_engines, clock)
    assert a.hold(ttl=timedelta(hours=1))
    clock.advance(timedelta(minutes=59))
    assert b.hold() is False


def test_each_lease_has_a_holder_of_its_own(engine):
    first, second = Lease(engine, "duty", TTL), Lease(engine, "duty", TTL)
    assert first.holder != second.holder
    assert first.hold() and not second.hold()


# ---------------------------------------------------------------- the vote closer


def closings(engine, vote_id: int) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(VoteAudit).where(VoteAudit.vote_id == vote_id,
                                                                        VoteAudit.action == "close")).one()


@pytest.fixture
def two_closers(demo_engine, clock):
    """Two workers' closers on the demo database, each with its own engine, and what each told its room."""
    other = database.make_engine(str(demo_engine.url))
    told: dict[str, list[int]] = {"a": [], "b": []}
    closers = {name: votes.VoteCloser(engine, 60, "zh-Hans", changed=lambda v, name=name: told[name].append(v.id),
                                      lease=Lease(engine, "vote-closer", TTL, holder=f"worker-{name}", clock=clock))
               for name, engine in (("a", demo_engine), ("b", other))}
    yield closers, told
    other.dispose()


def test_two_closers_close_a_due_vote_once_and_only_the_holder_acts(demo_engine, db, room, two_closers, clock):
    closers, told = two_closers
    meeting, entry, _people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    set_closing(db, vote_id, AT)
    swept = closers["a"].round(AT)
    assert [v.id for v in swept.closed] == [vote_id]
    assert closers["b"].round(AT) is None  # not the holder: not even a query for due votes
    assert told == {"a": [vote_id], "b": []}
    assert stored(db, vote_id).status == VoteStatus.closed and closings(demo_engine, vote_id) == 1


def test_the_closers_rounds_at_once_close_it_once(demo_engine, db, room, two_closers):
    closers, told = two_closers
    meeting, entry, _people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    set_closing(db, vote_id, AT)
    barrier, rounds = threading.Barrier(2), {}

    def run(name: str) -> None:
        barrier.wait(10)
        rounds[name] = closers[name].round(AT)

    threads = [threading.Thread(target=run, args=(name,)) for name in closers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    acted = [name for name, swept in rounds.items() if swept is not None]
    assert len(acted) == 1
    assert told[acted[0]] == [vote_id] and sum(map(len, told.values())) == 1
    assert closings(demo_engine, vote_id) == 1


def test_a_closer_that_dies_is_taken_over_after_its_lease(demo_engine, db, room, two_closers, clock):
    closers, told = two_closers
    meeting, entry, _people, _guest = room
    assert closers["a"].round(AT) is not None  # a holds it, then stops renewing (dies)
    vote_id = open_vote_in(demo_engine, meeting, entry)
    set_closing(db, vote_id, AT)
    clock.advance(TTL - timedelta(seconds=1))
    assert closers["b"].round(AT) is None
    assert stored(db, vote_id).status == VoteStatus.open
    clock.advance(timedelta(seconds=1))
    assert [v.id for v in closers["b"].round(AT).closed] == [vote_id]
    assert told == {"a": [], "b": [vote_id]}


def test_a_closer_stopping_gives_its_lease_up(demo_engine, db, room, two_closers, clock):
    closers, _told = two_closers
    assert closers["a"].round(AT) is not None
    closers["a"].start()
    closers["a"].stop()  # its thread ends before its first round (every 60 s), releasing the lease
    assert lease.holder_of(demo_engine, "vote-closer", clock()) is None
    assert closers["b"].round(AT) is not None  # the other worker at its next round, not after TTL


# ---------------------------------------------------------------- the day's notices


@pytest.mark.parametrize(("local", "wait"), [
    (datetime(2030, 1, 1, 10, 0), timedelta(hours=1)),
    (datetime(2030, 1, 1, 23, 30), timedelta(minutes=30, seconds=1)),  # the new day's first sweep just after 0:00
    (datetime(2030, 1, 1, 23, 59, 59), timedelta(seconds=2)),
])
def test_the_next_sweep(local, wait):
    assert notify.until_next_sweep(local) == wait


def notices_of(engine, day) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Notice).where(Notice.day == day)).one()


@pytest.fixture
def two_noticers(demo_engine, clock):
    """Two workers' notice rounds on the demo database, on a day after the demo's (so there is
    something to write), at 10:00 local time."""
    other = database.make_engine(str(demo_engine.url))
    local = Clock(datetime.combine(now().date() + timedelta(days=1), datetime.min.time()) +
                  timedelta(hours=10))
    rounds = {name: notify.Notices(engine, Lease(engine, notify.LEASE_NAME, notify.EVERY, holder=f"worker-{name}",
                                                 clock=clock), local=local)
              for name, engine in (("a", demo_engine), ("b", other))}
    for started in rounds.values():
        assert started() is None  # the servers' first rounds: no sweep in the rush of starting
    yield rounds, local
    other.dispose()


def test_the_days_notices_are_written_once_across_workers(demo_engine, two_noticers, clock):
    rounds, local = two_noticers
    day = local().date()
    clock.advance(notify.FIRST - timedelta(seconds=1))
    assert rounds["a"]() is None and rounds["b"]() is None
    clock.advance(timedelta(seconds=1))
    written = rounds["a"]()
    assert written and written > 0
    assert rounds["b"]() is None  # a swept within the hour
    assert notices_of(demo_engine, day) == written
    clock.advance(notify.EVERY)  # a's hour is up: whichever worker asks first sweeps, writing nothing new
    assert rounds["b"]() == 0
    assert rounds["a"]() is None
    assert notices_of(demo_engine, day) == written


def test_a_worker_sweeps_again_after_its_hour(demo_engine, two_noticers, clock):
    rounds, _local = two_noticers
    clock.advance(notify.FIRST)
    assert rounds["a"]() > 0
    clock.advance(notify.EVERY - timedelta(seconds=1))
    assert rounds["a"]() is None  # its own hour is not up yet: no sweep every round
    clock.advance(timedelta(seconds=1))
    assert rounds["a"]() == 0


def test_the_command_does_not_sweep_while_a_server_has_swept_within_the_hour(demo_engine, two_noticers, clock):
    rounds, local = two_noticers
    clock.advance(notify.FIRST)
    assert rounds["a"]() > 0
    command = Lease(demo_engine, notify.LEASE_NAME, notify.EVERY, clock=clock)
    assert notify.sweep_held(demo_engine, command, local(), keep=False) is None
    clock.advance(notify.EVERY)
    assert notify.sweep_held(demo_engine, command, local(), keep=False) == 0
    assert lease.holder_of(demo_engine, notify.LEASE_NAME, clock()) is None  # the command lets go after


def test_a_failed_sweep_lets_the_lease_go(demo_engine, two_noticers, clock, monkeypatch):
    rounds, _local = two_noticers
    clock.advance(notify.FIRST)

    def broken(db, today):
        raise RuntimeError("database away")

    monkeypatch.setattr(notify, "sweep", broken)
    with pytest.raises(RuntimeError):
        rounds["a"]()
    assert lease.holder_of(demo_engine, notify.LEASE_NAME, clock()) is None


def test_the_app_closer_has_the_notices_round(app):
    assert isinstance(app.state.vote_closer.notices, notify.Notices)
    assert app.state.vote_closer.lease.name == "vote-closer"


"""Throttling: failures counted per key in a window, refused at the limit, cleared on success."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from forum import throttle
from forum.models import ThrottleCount

LIMIT = throttle.Limit(attempts=3, seconds=60)
T0 = datetime(2026, 11, 30, 9, 0, 0)


def _fail(db, keys, at, n=1):
    for _ in range(n):
        throttle.failed(db, keys, LIMIT, at=at)
    db.commit()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, engine):
    if request.param == "postgres":
        pg = request.getfixturevalue("postgres_engine")
        from forum import db as database

        database.upgrade(pg)
        with Session(pg) as session:
            yield session
        return
    with Session(engine) as session:
        yield session


def test_under_the_limit_may_try(db):
    _fail(db, ["k"], T0, n=2)
    assert throttle.retry_after(db, ["k"], LIMIT, at=T0) == 0


def test_at_the_limit_is_refused_until_the_window_ends(db):
    _fail(db, ["k"], T0, n=3)
    assert throttle.retry_after(db, ["k"], LIMIT, at=T0) == 60
    assert throttle.retry_after(db, ["k"], LIMIT, at=T0 + timedelta(seconds=45)) == 15
    assert throttle.retry_after(db, ["k"], LIMIT, at=T0 + timedelta(seconds=60)) == 0


def test_a_failure_after_the_window_starts_a_new_one(db):
    _fail(db, ["k"], T0, n=3)
    later = T0 + timedelta(seconds=61)
    _fail(db, ["k"], later)
    row = db.exec(select(ThrottleCount).where(ThrottleCount.key == "k")).one()
    db.refresh(row)
    assert (row.failures, row.window_start) == (1, later)
    assert throttle.retry_after(db, ["k"], LIMIT, at=later) == 0


def test_any_key_at_its_limit_refuses(db):
    _fail(db, ["addr:1", "user:a"], T0, n=2)
    _fail(db, ["addr:1", "user:b"], T0)  # the address has now failed 3 times
    assert throttle.retry_after(db, ["addr:2", "user:a"], LIMIT, at=T0) == 0
    assert throttle.retry_after(db, ["addr:1", "user:c"], LIMIT, at=T0) > 0


def test_clear_forgets(db):
    _fail(db, ["k", "other"], T0, n=3)
    throttle.clear(db, ["k"])
    db.commit()
    assert throttle.retry_after(db, ["k"], LIMIT, at=T0) == 0
    assert throttle.retry_after(db, ["other"], LIMIT, at=T0) > 0


def test_prune_drops_old_windows(db):
    _fail(db, ["old"], T0)
    _fail(db, ["new"], T0 + timedelta(hours=2))
    assert throttle.prune(db, timedelta(hours=1), at=T0 + timedelta(hours=2)) == 1
    db.commit()
    assert [r.key for r in db.exec(select(ThrottleCount))] == ["new"]


def test_long_keys_are_cut_to_the_column():
    assert len(throttle._keys(["x" * 500])[0]) == throttle.KEY_MAX

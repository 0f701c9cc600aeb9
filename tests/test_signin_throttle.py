"""Throttled sign-in: failures slowed, then refused per account and per address, the right password
included, with a message saying when to try again; refused before any hashing; hashing bounded."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from forum import auth, sessions
from forum.app import create_app
from forum.models import AuditEntry, StaffSession, User
from tests.conftest import _settings

T0 = datetime(2026, 11, 30, 9, 0, 0)
RIGHT, WRONG = "demo1234", "wrong-password"


class Clock:
    """A stopped clock that tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    stopped = Clock(T0)
    monkeypatch.setattr(sessions, "clock", stopped)
    return stopped


def make_app(demo_engine, **limits):
    return create_app(replace(_settings(), **limits), engine=demo_engine)


def attempt(client: TestClient, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=False)


def password_error(response) -> str:
    return BeautifulSoup(response.text, "html.parser").select_one("#password-error").get_text(strip=True)


def signed_in(client: TestClient) -> bool:
    return client.get("/account/password", follow_redirects=False).status_code == 200


def live_sessions(engine, username: str) -> int:
    with Session(engine) as db:
        user = db.exec(select(User).where(User.username == username)).one()
        return db.exec(select(func.count()).select_from(StaffSession)
                       .where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))).one()


def test_quick_failures_are_paused_then_allowed_again(demo_engine, clock):
    with TestClient(make_app(demo_engine)) as client:
        for _ in range(3):
            assert attempt(client, "facilitator", WRONG).status_code == 422
        paused = attempt(client, "facilitator", RIGHT)
        assert paused.status_code == 429 and paused.headers["Retry-After"] == "30"
        assert password_error(paused) == "登录失败次数过多。为保护账号安全，请在30 秒后再试。"
        assert live_sessions(demo_engine, "facilitator") == 0
        clock.advance(seconds=30)
        assert attempt(client, "facilitator", RIGHT).status_code == 303
        assert live_sessions(demo_engine, "facilitator") == 1


def test_an_account_at_its_limit_refuses_the_right_password_until_the_window_ends(demo_engine, clock):
    app = make_app(demo_engine, signin_limit=5, signin_window_minutes=15)
    # Each guess from an address of its own: the account's own limit is what stops them.
    for i in range(5):
        with TestClient(app, client=(f"198.51.100.{i}", 5000)) as guesser:
            assert attempt(guesser, "Facilitator", WRONG).status_code == 422
        clock.advance(seconds=11)  # slower than the short pause (3 in 30 s)
    with TestClient(app, client=("203.0.113.9", 5000)) as owner:
        refused = attempt(owner, "facilitator", RIGHT)
        assert refused.status_code == 429
        # 15 minutes from the first failure, less the 55 seconds gone since: "15 minutes" rounded up.
        assert int(refused.headers["Retry-After"]) == 15 * 60 - 55
        assert password_error(refused) == "登录失败次数过多。为保护账号安全，请在15 分钟后再试。"
        assert live_sessions(demo_engine, "facilitator") == 0 and "forum_session" not in owner.cookies
        clock.advance(minutes=14)
        assert attempt(owner, "facilitator", RIGHT).status_code == 429
        clock.advance(minutes=1)
        assert attempt(owner, "facilitator", RIGHT).status_code == 303
        assert live_sessions(demo_engine, "facilitator") == 1


def test_an_address_at_its_limit_is_refused_for_every_account(demo_engine, clock):
    app = make_app(demo_engine, signin_address_limit=6, signin_limit=100)
    with TestClient(app, client=("203.0.113.5", 5000)) as guesser, \
            TestClient(app, client=("203.0.113.6", 5000)) as elsewhere:
        for i in range(6):  # names that exist or not: each counts against the address
            assert attempt(guesser, f"user{i}", WRONG).status_code == 422
            clock.advance(seconds=11)  # slower than the short pause, which is not what is tested here
        refused = attempt(guesser, "admin", RIGHT)
        assert refused.status_code == 429 and "请在" in password_error(refused)
        assert not signed_in(guesser)
        # The accounts themselves are not blocked: the same password from another address works.
        assert attempt(elsewhere, "admin", RIGHT).status_code == 303


def test_english_message_says_when(demo_engine, clock):
    with TestClient(make_app(demo_engine, signin_limit=2), cookies={"forum_lang": "en"}) as client:
        attempt(client, "committee", WRONG)
        clock.advance(seconds=40)
        attempt(client, "committee", WRONG)
        clock.advance(seconds=60)
        refused = attempt(client, "committee", RIGHT)
        assert password_error(refused) == ("Too many failed sign-ins. For your account's safety, "
                                           "try again in 14 minutes.")


def test_a_good_sign_in_forgives_the_account_not_the_address(demo_engine, clock):
    app = make_app(demo_engine, signin_limit=3, signin_address_limit=4)
    with TestClient(app) as client:
        attempt(client, "facilitator", WRONG)
        attempt(client, "facilitator", WRONG)
        clock.advance(seconds=31)
        assert attempt(client, "facilitator", RIGHT).status_code == 303
        attempt(client, "facilitator", WRONG)
        attempt(client, "facilitator", WRONG)  # 2 for the account since the good one, 4 for the address
        clock.advance(seconds=31)
        assert attempt(client, "facilitator", RIGHT).status_code == 429
    with TestClient(app, client=("203.0.113.7", 5000)) as elsewhere:
        assert attempt(elsewhere, "facilitator", RIGHT).status_code == 303


def test_refused_attempts_cost_no_hashing(demo_engine, clock, monkeypatch):
    calls = []
    real = auth._hasher

    class Counting:
        def verify(self, hash_, password):
            calls.append(password)
            return real.verify(hash_, password)

    monkeypatch.setattr(auth, "_hasher", Counting())
    with TestClient(make_app(demo_engine, signin_limit=3)) as client:
        for _ in range(3):
            attempt(client, "liaison", WRONG)
        assert len(calls) == 3
        for _ in range(20):
            assert attempt(client, "liaison", RIGHT).status_code == 429
        assert len(calls) == 3
    with Session(demo_engine) as db:  # each failure is on record once; the refused flood writes nothing
        assert db.exec(select(func.count()).select_from(AuditEntry)
                       .where(AuditEntry.action == "signin_refused", AuditEntry.actor == "liaison")).one() == 3


def test_at_most_two_passwords_are_hashed_at_once(monkeypatch, demo_engine):
    inside, most, release = [0], [0], threading.Event()
    lock = threading.Lock()

    class SlowHasher:
        def verify(self, _hash, _password):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            release.wait(10)
            with lock:
                inside[0] -= 1
            return True

    monkeypatch.setattr(auth, "_hasher", SlowHasher())

    def sign_in() -> None:
        with Session(demo_engine) as db:
            auth.check_password(db, "facilitator", "pw")

    threads = [threading.Thread(target=sign_in) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while inside[0] < auth.HASHING_AT_ONCE and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # room for any thread the bound failed to hold back to get in
    release.set()
    for t in threads:
        t.join(10)
    assert most[0] == auth.HASHING_AT_ONCE


@pytest.mark.parametrize(("env", "field", "expected"), [
    ({}, "signin_limit", 10), ({"FORUM_SIGNIN_LIMIT": "5"}, "signin_limit", 5),
    ({"FORUM_SIGNIN_ADDRESS_LIMIT": "100"}, "signin_address_limit", 100),
    ({"FORUM_SIGNIN_WINDOW_MINUTES": "60"}, "signin_window_minutes", 60),
    ({"FORUM_SESSION_IDLE_MINUTES": "30"}, "session_idle_minutes", 30),
    ({"FORUM_SESSION_MAX_DAYS": "1"}, "session_max_days", 1),
])
def test_limits_come_from_settings(env, field, expected):
    from forum.settings import Settings

    assert getattr(Settings.from_env(env), field) == expected


@pytest.mark.parametrize(("key", "value"), [("FORUM_SIGNIN_LIMIT", "0"), ("FORUM_SIGNIN_LIMIT", "ten"),
                                            ("FORUM_SESSION_IDLE_MINUTES", "1"), ("FORUM_SESSION_MAX_DAYS", "٣"),
                                            ("FORUM_SIGNIN_WINDOW_MINUTES", "9" * 40)])
def test_a_wrong_limit_stops_the_start_naming_it(key, value):
    from forum.settings import Settings

    with pytest.raises(ValueError, match=f"{key} is .* whole number from"):
        Settings.from_env({key: value})


def test_an_address_pauses_after_ten_quick_failures_not_three(demo_engine, clock):
    """One person's typos do not hold up the other staff at the same address; a quick spray does."""
    with TestClient(make_app(demo_engine)) as hall:
        for _ in range(3):
            attempt(hall, "committee", WRONG)
        assert attempt(hall, "facilitator", RIGHT).status_code == 303
        for i in range(10):
            attempt(hall, f"guess{i}", WRONG)
        assert attempt(hall, "admin", RIGHT).status_code == 429
        clock.advance(seconds=30)
        assert attempt(hall, "admin", RIGHT).status_code == 303


def test_when_too_many_wait_to_be_hashed_sign_in_says_busy_and_counts_nothing(demo_engine, clock, monkeypatch):
    full = threading.BoundedSemaphore(1)
    full.acquire()  # every place in the queue taken
    monkeypatch.setattr(auth, "_queue", full)
    with TestClient(make_app(demo_engine, signin_limit=1)) as client:
        busy = attempt(client, "facilitator", RIGHT)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
        assert password_error(busy) == "此刻登录的人较多，请稍等几秒后再试。"
        assert live_sessions(demo_engine, "facilitator") == 0
        full.release()
        assert attempt(client, "facilitator", RIGHT).status_code == 303  # nothing counted against it


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_hostile_usernames_are_refused_by_the_field_and_store_nothing(request, engine_name, clock):
    if engine_name == "postgres":
        from forum import db as database

        target = request.getfixturevalue("postgres_engine")
        database.upgrade(target)
        from forum import demo

        with Session(target) as db:
            demo.seed(db)
            db.commit()
    else:
        target = request.getfixturevalue("demo_engine")
    with TestClient(make_app(target)) as client:
        for name, field in (("admin\x00", "username"), ("\x07bell", "username"), ("x" * 100_000, "password")):
            response = client.post("/login", data={"username": name, "password": "whatever-1"})
            assert response.status_code == 422
            assert BeautifulSoup(response.text, "html.parser").select_one(f"#{field}-error").get_text(strip=True)
        assert attempt(client, "admin", RIGHT).status_code == 303
        assert client.get("/admin/audit", params={"actor": "a\x00b"}).status_code == 200
    with Session(target) as db:
        from forum.models import ThrottleCount

        keys = [row.key for row in db.exec(select(ThrottleCount))]
        assert all("\x00" not in k and len(k) <= 200 for k in keys)

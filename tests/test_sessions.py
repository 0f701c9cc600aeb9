"""Staff sessions that end: logout, password change, disabling an account and the shared tablet end
them for every copy of the cookie; idle and absolute expiry; little writing while browsing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlmodel import Session, select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from forum import sessions
from forum.cli import main
from forum.models import StaffSession, User
from tests.conftest import sign_in
from tests.test_signin_throttle import T0, Clock


@pytest.fixture
def clock(monkeypatch) -> Clock:
    stopped = Clock(T0)
    monkeypatch.setattr(sessions, "clock", stopped)
    return stopped


def console(client: TestClient, meeting_id: int) -> int:
    return client.get(f"/meetings/{meeting_id}/run", follow_redirects=False).status_code


def replay(app, cookies) -> TestClient:
    """Another device holding a copy of a cookie taken earlier."""
    return TestClient(app, cookies=cookies)


def user_sessions(engine, username: str) -> list[StaffSession]:
    with Session(engine) as db:
        user = db.exec(select(User).where(User.username == username)).one()
        return list(db.exec(select(StaffSession).where(StaffSession.user_id == user.id).order_by(StaffSession.id)))


def test_the_cookie_names_a_session_not_a_user(app, demo_engine):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
        assert "forum_session" in client.cookies
        [record] = user_sessions(demo_engine, "facilitator")
        assert record.ended_at is None and record.address == "testclient" and len(record.token_hash) == 64
        # The database holds only the token's hash: the cookie's token is not in it.
        import base64
        import json

        payload = json.loads(base64.b64decode(client.cookies["forum_session"].split(".")[0] + "=="))
        assert set(payload) == {"sid"} and payload["sid"] != record.token_hash


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, demo_engine, meeting_id):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
        copied = dict(client.cookies)
        assert console(client, meeting_id) == 200
        client.post("/logout")
        with replay(app, copied) as thief:
            response = thief.get(f"/meetings/{meeting_id}/run", follow_redirects=False)
            assert response.status_code == 303 and "/login" in response.headers["location"]
            with pytest.raises(WebSocketDisconnect) as refused:  # nor the console's live socket
                with thief.websocket_connect(f"/meetings/{meeting_id}/ws?audience=console"):
                    pass
            assert refused.value.code == 1008
    [record] = user_sessions(demo_engine, "facilitator")
    assert record.ended_at is not None and record.ended_why == "logout"


def test_a_password_change_ends_every_session_of_that_user(app, demo_engine, meeting_id):
    with TestClient(app) as laptop, TestClient(app) as phone, TestClient(app) as other_user:
        sign_in(laptop, "facilitator")
        sign_in(phone, "facilitator")
        sign_in(other_user, "admin")
        old_laptop = dict(laptop.cookies)
        changed = laptop.post("/account/password", data={"current": "demo1234", "new": "new-pass-123",
                                                          "again": "new-pass-123"})
        assert changed.status_code == 200
        assert console(phone, meeting_id) == 303
        with replay(app, old_laptop) as thief:
            assert console(thief, meeting_id) == 303
        assert console(laptop, meeting_id) == 200  # the device that changed it has a fresh session
        assert console(other_user, meeting_id) == 200  # nobody else's ends
    records = user_sessions(demo_engine, "facilitator")
    assert [r.ended_why for r in records] == ["password", "password", ""]
    with TestClient(app) as again:
        assert again.post("/login", data={"username": "facilitator", "password": "demo1234"},
                          follow_redirects=False).status_code == 422
        sign_in(again, "facilitator", "new-pass-123")


@pytest.mark.parametrize(("data", "field"), [
    ({"current": "wrong-one", "new": "new-pass-123", "again": "new-pass-123"}, "current"),
    ({"current": "demo1234", "new": "short", "again": "short"}, "new"),
    ({"current": "demo1234", "new": "new-pass-123", "again": "new-pass-124"}, "again"),
])
def test_a_refused_password_change_changes_nothing(app, demo_engine, data, field):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
        with Session(demo_engine) as db:
            before = db.exec(select(User.password_hash).where(User.username == "facilitator")).one()
        response = client.post("/account/password", data=data)
        assert response.status_code == 422
        assert BeautifulSoup(response.text, "html.parser").select_one(f"#{field}-error").get_text(strip=True)
        with Session(demo_engine) as db:
            assert db.exec(select(User.password_hash).where(User.username == "facilitator")).one() == before
        assert [r.ended_at for r in user_sessions(demo_engine, "facilitator")] == [None]


def test_disabling_an_account_ends_its_sessions_and_refuses_sign_in(app, demo_engine, meeting_id, monkeypatch):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
        monkeypatch.setenv("FORUM_DATABASE_URL", str(demo_engine.url))
        result = CliRunner().invoke(main, ["user", "disable", "facilitator"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert console(client, meeting_id) == 303
        refused = client.post("/login", data={"username": "facilitator", "password": "demo1234"})
        assert refused.status_code == 422
        assert BeautifulSoup(refused.text, "html.parser").select_one("#password-error").get_text(strip=True) == \
            "此账号已停用，请联系管理员。"
        assert [r.ended_why for r in user_sessions(demo_engine, "facilitator")] == ["disabled"]
        CliRunner().invoke(main, ["user", "enable", "facilitator"], catch_exceptions=False)
        sign_in(client, "facilitator")
        assert console(client, meeting_id) == 200


def test_making_a_device_the_shared_tablet_ends_the_staff_session(app, demo_engine, meeting_id):
    with TestClient(app) as device:
        sign_in(device, "facilitator")
        copied = dict(device.cookies)
        made = device.post(f"/meetings/{meeting_id}/shared-tablet", follow_redirects=False)
        assert made.status_code == 303
        with replay(app, copied) as thief:
            assert console(thief, meeting_id) == 303
    [record] = user_sessions(demo_engine, "facilitator")
    assert record.ended_why == "tablet"


def test_idle_sessions_end(app, demo_engine, meeting_id, clock):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
        clock.advance(hours=7, minutes=59)
        assert console(client, meeting_id) == 200  # used within 8 hours: goes on, from now
        clock.advance(hours=7, minutes=59)
        assert console(client, meeting_id) == 200
        clock.advance(hours=8)
        assert console(client, meeting_id) == 303
        clock.advance(minutes=1)
        assert console(client, meeting_id) == 303  # ended for good, not only while idle
    [record] = user_sessions(demo_engine, "facilitator")
    assert record.ended_why == "idle" and record.ended_at == T0 + timedelta(hours=23, minutes=58)


def test_sessions_end_after_fourteen_days_however_busy(app, demo_engine, meeting_id, clock):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
        for _ in range(47):  # every 7 hours for 13 days and 17 hours
            clock.advance(hours=7)
            assert console(client, meeting_id) == 200
        clock.advance(hours=7)  # 14 days and 0 hours since sign-in
        assert console(client, meeting_id) == 303
    assert user_sessions(demo_engine, "facilitator")[0].ended_why == "expired"


def test_browsing_writes_last_seen_at_most_once_a_minute(app, demo_engine, meeting_id, clock):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
        for seconds in (10, 20, 59):
            clock.now = T0 + timedelta(seconds=seconds)
            console(client, meeting_id)
            assert user_sessions(demo_engine, "facilitator")[0].last_seen_at == T0
        clock.now = T0 + timedelta(seconds=61)
        console(client, meeting_id)
        assert user_sessions(demo_engine, "facilitator")[0].last_seen_at == T0 + timedelta(seconds=61)


def test_a_forged_or_foreign_cookie_signs_nobody_in(app, demo_engine, meeting_id):
    with TestClient(app) as client:
        sign_in(client, "facilitator")
    # A cookie signed with another key (or tampered with) is ignored, as is an old-style one.
    import base64
    import json

    from itsdangerous import TimestampSigner

    for payload in ({"user_id": 1}, {"sid": "x" * 43}, {"sid": 12345}):
        data = base64.b64encode(json.dumps(payload).encode())
        cookie = TimestampSigner("test-secret").sign(data).decode()
        with TestClient(app, cookies={"forum_session": cookie}) as forged:
            assert console(forged, meeting_id) == 303


def test_signing_in_again_on_a_device_ends_the_session_it_had(app, demo_engine, meeting_id):
    with TestClient(app) as device:
        sign_in(device, "facilitator")
        copied = dict(device.cookies)
        sign_in(device, "committee")
        with replay(app, copied) as thief:
            assert console(thief, meeting_id) == 303
    assert [r.ended_why for r in user_sessions(demo_engine, "facilitator")] == ["signin"]

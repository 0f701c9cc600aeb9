"""Entering a meeting: only with its current join code, throttled guesses, the facilitator's control
of the code and of devices, and who of those present counts in a vote of those present."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select
from starlette.requests import Request
from starlette.testclient import TestClient

from forum import auth, joining, throttle
from forum.models import Attendance, Meeting, ThrottleCount, VoteElector, VoteReceipt, VoteTally, now
from tests import test_room
from tests.test_votes import create, lift_meeting, open_

# A coming meeting of the demo, and the same meeting started by its facilitator.
html = test_room.html


def code_of(engine, meeting_id: int) -> str:
    with Session(engine) as db:
        return db.get(Meeting, meeting_id).join_code


def attendances(engine, meeting_id: int) -> list[Attendance]:
    with Session(engine) as db:
        return list(db.exec(select(Attendance).where(Attendance.meeting_id == meeting_id)))


def join(client: TestClient, meeting_id: int, name: str, **extra: str):
    return client.post(f"/meetings/{meeting_id}/tablet/join", data={"name": name, **extra}, follow_redirects=False)


# ---------------------------------------------------------------- the code


def test_codes_are_ten_digits_and_shown_grouped(facilitator, live_meeting, demo_engine):
    code = code_of(demo_engine, live_meeting)
    assert re.fullmatch(r"[1-9]\d{9}", code)
    shown = html(facilitator.get(f"/meetings/{live_meeting}/run")).select_one(".room-code").get_text(strip=True)
    assert shown == f"{code[:3]} {code[3:6]} {code[6:]}"
    assert joining.grouped(code) == shown


def test_no_code_is_refused_and_nothing_is_stored(client, live_meeting, demo_engine):
    before = attendances(demo_engine, live_meeting)
    response = join(client, live_meeting, "脚本", building="5", unit="2", room="101")
    assert response.status_code == 403
    assert html(response).select_one("#code-error").get_text(strip=True)
    assert attendances(demo_engine, live_meeting) == before
    assert client.cookies.get(auth.DEVICE_COOKIE) is None


@pytest.mark.parametrize("typed", ["0000000000", "123", "abc"])
def test_a_wrong_code_is_refused_and_nothing_is_stored(client, live_meeting, demo_engine, typed):
    response = join(client, live_meeting, "脚本", code=typed)
    assert response.status_code == 403
    assert attendances(demo_engine, live_meeting) == []


def test_the_code_typed_or_carried_from_join_checks_a_device_in(app, live_meeting, demo_engine):
    code = code_of(demo_engine, live_meeting)
    with TestClient(app) as typed:
        assert join(typed, live_meeting, "甲", code=f"{code[:3]} {code[3:6]} {code[6:]}").status_code == 303
    with TestClient(app) as scanned:
        assert scanned.get(f"/join?code={code}", follow_redirects=False).status_code == 303
        page = scanned.get(f"/meetings/{live_meeting}/tablet")
        assert html(page).select_one("#f-code") is None  # the pass carries the code: not asked again
        assert join(scanned, live_meeting, "乙").status_code == 303
    assert {a.name for a in attendances(demo_engine, live_meeting)} == {"甲", "乙"}


def test_a_meeting_not_open_for_joining_takes_nobody(client, facilitator, meeting_id, demo_engine):
    # Planned: no code yet, so nothing to join with.
    assert join(client, meeting_id, "甲", code="1234567890").status_code == 403
    facilitator.post(f"/meetings/{meeting_id}/run/start")
    code = code_of(demo_engine, meeting_id)
    client.get(f"/join?code={code}")
    facilitator.post(f"/meetings/{meeting_id}/run/end")
    assert client.post("/join", data={"code": code}).status_code == 404
    join(client, meeting_id, "甲", code=code)
    assert attendances(demo_engine, meeting_id) == []


def test_after_rotation_the_old_code_and_its_passes_stop_working(app, facilitator, live_meeting, demo_engine):
    old = code_of(demo_engine, live_meeting)
    holder = TestClient(app)
    holder.get(f"/join?code={old}")
    response = facilitator.post(f"/meetings/{live_meeting}/run/rotate-code", follow_redirects=False)
    assert response.status_code == 303
    new = code_of(demo_engine, live_meeting)
    assert new != old and re.fullmatch(r"\d{10}", new)
    assert join(holder, live_meeting, "拿着旧通行证").status_code == 403
    assert join(TestClient(app), live_meeting, "旧码", code=old).status_code == 403
    assert TestClient(app).post("/join", data={"code": old}).status_code == 404
    assert attendances(demo_engine, live_meeting) == []
    assert join(TestClient(app), live_meeting, "新码", code=new).status_code == 303
    assert [a.name for a in attendances(demo_engine, live_meeting)] == ["新码"]


def test_only_the_facilitator_rotates(client, committee_member, live_meeting, demo_engine):
    code = code_of(demo_engine, live_meeting)
    assert committee_member.post(f"/meetings/{live_meeting}/run/rotate-code").status_code == 403
    client.post(f"/meetings/{live_meeting}/run/rotate-code")
    assert code_of(demo_engine, live_meeting) == code


# ---------------------------------------------------------------- throttling guesses


def request_from(address: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": [], "client": (address, 1),
                    "session": {}})


def test_guesses_are_throttled_per_address(demo_engine, facilitator, live_meeting):
    t0 = now()
    with Session(demo_engine) as db:
        meeting = db.get(Meeting, live_meeting)
        guesser = request_from("203.0.113.5")
        for _ in range(joining.BY_ADDRESS.attempts):
            assert joining.check_entry(db, guesser, meeting, "1111111111", at=t0)[0] == 403
        db.commit()
        # Blocked: even the right code, until the window ends.
        status, message = joining.check_entry(db, guesser, meeting, meeting.join_code, at=t0 + timedelta(seconds=5))
        assert status == 429 and "10" in message
        # Another address at the same meeting is not held up.
        assert joining.check_entry(db, request_from("198.51.100.7"), meeting, meeting.join_code, at=t0) is None
        later = t0 + timedelta(seconds=joining.BY_ADDRESS.seconds + 1)
        assert joining.check_entry(db, guesser, meeting, meeting.join_code, at=later) is None


def test_guesses_are_throttled_per_meeting_across_addresses(demo_engine, facilitator, live_meeting):
    t0 = now()
    with Session(demo_engine) as db:
        meeting = db.get(Meeting, live_meeting)
        for i in range(joining.BY_MEETING.attempts):
            joining.check_entry(db, request_from(f"10.0.{i // 250}.{i % 250}"), meeting, "2222222222", at=t0)
        db.commit()
        fresh = request_from("192.0.2.1")
        assert joining.check_entry(db, fresh, meeting, meeting.join_code, at=t0)[0] == 429
        later = t0 + timedelta(seconds=joining.BY_MEETING.seconds + 1)
        assert joining.check_entry(db, fresh, meeting, meeting.join_code, at=later) is None


def test_a_blocked_address_is_refused_over_http_with_the_wait(client, live_meeting, demo_engine):
    for _ in range(joining.BY_ADDRESS.attempts):
        join(client, live_meeting, "猜", code="3333333333")
    response = join(client, live_meeting, "猜", code=code_of(demo_engine, live_meeting))
    assert response.status_code == 429
    assert "分钟" in html(response).select_one("#code-error").get_text()
    assert attendances(demo_engine, live_meeting) == []
    # And /join, which names no meeting, refuses this address too.
    blocked = client.post("/join", data={"code": code_of(demo_engine, live_meeting)})
    assert blocked.status_code == 429 and blocked.headers["retry-after"]


def test_wrong_codes_at_join_count_against_the_address(client, live_meeting, demo_engine):
    for _ in range(joining.BY_ADDRESS.attempts):
        assert client.post("/join", data={"code": "4444444444"}).status_code == 404
    assert client.get(f"/join?code={code_of(demo_engine, live_meeting)}", follow_redirects=False).status_code == 429


def test_rotating_forgives_the_meetings_guesses(app, facilitator, live_meeting, demo_engine):
    with Session(demo_engine) as db:
        throttle.failed(db, [f"join:meeting:{live_meeting}"], joining.BY_MEETING)
        db.commit()
    facilitator.post(f"/meetings/{live_meeting}/run/rotate-code")
    with Session(demo_engine) as db:
        assert db.get(ThrottleCount, f"join:meeting:{live_meeting}") is None


# ---------------------------------------------------------------- devices, seen and removed by the facilitator


def test_the_facilitator_sees_and_removes_a_device(app, facilitator, live_meeting, demo_engine):
    tablet = TestClient(app)
    join(tablet, live_meeting, "带平板的人", code=code_of(demo_engine, live_meeting))
    (me,) = attendances(demo_engine, live_meeting)
    console = html(facilitator.get(f"/meetings/{live_meeting}/run"))
    row = next(li for li in console.select("#room-attendance li") if "带平板的人" in li.get_text())
    assert row.select_one('form[action$="/run/remove-device"]') is not None
    facilitator.post(f"/meetings/{live_meeting}/run/remove-device", data={"attendance": me.id})
    (after,) = attendances(demo_engine, live_meeting)
    assert after.device_token is None  # still checked in, but the device is out
    page = tablet.get(f"/meetings/{live_meeting}/tablet")
    assert html(page).select_one('meta[name="room-attendance"]') is None
    assert tablet.post(f"/meetings/{live_meeting}/tablet/hand", data={"up": "1"}, follow_redirects=False
                       ).status_code == 303


def test_console_actions_on_another_meetings_attendance_are_refused(facilitator, live_meeting, demo_engine):
    with Session(demo_engine) as db:
        other = db.exec(select(Attendance).where(Attendance.meeting_id != live_meeting)).first()
    for action in ("remove-device", "admit", "verify", "revoke"):
        assert facilitator.post(f"/meetings/{live_meeting}/run/{action}", data={"attendance": other.id}
                                ).status_code == 404


# ---------------------------------------------------------------- votes of those present


def electorate(engine, vote_id: int) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(VoteElector).where(VoteElector.vote_id == vote_id)).one()


def counted(engine, vote_id: int) -> tuple[int, int]:
    with Session(engine) as db:
        receipts = db.exec(select(func.count()).select_from(VoteReceipt).where(VoteReceipt.vote_id == vote_id)).one()
        heads = sum(t.heads for t in db.exec(select(VoteTally).where(VoteTally.vote_id == vote_id)))
    return receipts, heads


@pytest.fixture
def lift_room(facilitator, demo_engine):
    """The lift meeting, live, with one resident checked in by staff (so a vote can open)."""
    with Session(demo_engine) as db:
        meeting, entry = lift_meeting(db)
    facilitator.post(f"/meetings/{meeting.id}/run/start")
    facilitator.post(f"/meetings/{meeting.id}/run/checkin", data={"name": "前台登记的居民"})
    return meeting, entry


def test_invented_names_do_not_grow_a_vote_of_those_present(app, facilitator, demo_engine, lift_room):
    meeting, entry = lift_room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    assert electorate(demo_engine, vote_id) == 1
    code = code_of(demo_engine, meeting.id)
    tablets = []
    for i in range(50):
        t = TestClient(app)
        assert join(t, meeting.id, f"虚构{i}", code=code).status_code == 303
        t.get(f"/votes/{vote_id}/ballot")  # the ballot page is where a late arrival would be added
        tablets.append(t)
    refused = [t.post(f"/votes/{vote_id}/cast", data={"choice": "for"}) for t in tablets]
    assert {r.status_code for r in refused} == {422}
    assert electorate(demo_engine, vote_id) == 1
    assert counted(demo_engine, vote_id) == (0, 0)
    # The console shows each of them as not counted and as arrived after the vote opened.
    console = html(facilitator.get(f"/meetings/{meeting.id}/run"))
    row = next(li for li in console.select("#room-attendance li") if "虚构7" in li.get_text())
    assert row.select_one('form[action$="/run/admit"]') is not None
    assert "投票开始后到场" in row.get_text() or "arrived after the vote opened" in row.get_text()
    # The facilitator admits one of them: that one, and only that one, votes.
    admitted = next(a for a in attendances(demo_engine, meeting.id) if a.name == "虚构7")
    facilitator.post(f"/meetings/{meeting.id}/run/admit", data={"attendance": admitted.id})
    assert electorate(demo_engine, vote_id) == 2
    assert tablets[7].post(f"/votes/{vote_id}/cast", data={"choice": "for"}).status_code == 200
    assert counted(demo_engine, vote_id) == (1, 1)
    # Every late addition is in the vote's audit trail.
    trail = html(facilitator.get(f"/votes/{vote_id}")).select_one("section[aria-labelledby=h-audit]").get_text()
    assert "虚构7" in trail


def test_a_vote_may_say_guests_count(app, facilitator, demo_engine, lift_room):
    meeting, entry = lift_room
    vote_id = create(facilitator, meeting, entry, guests_count="on")
    open_(facilitator, vote_id)
    guest = TestClient(app)
    join(guest, meeting.id, "来宾", code=code_of(demo_engine, meeting.id))
    assert guest.post(f"/votes/{vote_id}/cast", data={"choice": "against"}).status_code == 200
    assert counted(demo_engine, vote_id) == (1, 1) and electorate(demo_engine, vote_id) == 2


def test_guests_count_is_off_by_default_and_only_for_votes_of_those_present(facilitator, demo_engine, lift_room):
    from forum.models import Vote

    meeting, entry = lift_room
    plain = create(facilitator, meeting, entry)
    unit = create(facilitator, meeting, entry, scope="unit", scope_building="5", scope_unit="2",
                  counting_unit="household", guests_count="on")
    with Session(demo_engine) as db:
        assert not db.get(Vote, plain).guests_count and not db.get(Vote, unit).guests_count


def test_someone_checked_in_after_a_vote_opened_is_offered_the_shared_tablet(facilitator, demo_engine, lift_room):
    meeting, entry = lift_room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    facilitator.post(f"/meetings/{meeting.id}/run/checkin", data={"name": "晚到的赵大爷"})
    kiosk = html(facilitator.get(f"/votes/{vote_id}")).select_one("#f-shared-tablet-voter")
    assert "晚到的赵大爷" in kiosk.get_text()
    assert electorate(demo_engine, vote_id) == 2



# ---------------------------------------------------------------- a flood of check-ins with the right code


def test_self_check_ins_past_a_halls_rate_are_refused_and_the_console_is_told(app, facilitator, demo_engine,
                                                                             live_meeting, monkeypatch):
    """A script holding the code made 3,000 attendees in 35 s; past the rate further self check-ins
    wait, nothing of theirs is stored, and the console says how many were refused."""
    monkeypatch.setattr(joining, "SELF_CHECKINS", throttle.Limit(attempts=3, seconds=60))
    code = code_of(demo_engine, live_meeting)
    for i in range(3):
        assert join(TestClient(app), live_meeting, f"来宾{i}", code=code).status_code == 303
    flood = [join(TestClient(app), live_meeting, f"脚本{i}", code=code) for i in range(4)]
    assert {r.status_code for r in flood} == {429}
    assert "稍等一分钟" in html(flood[0]).select_one("#name-error").get_text()
    assert sorted(a.name for a in attendances(demo_engine, live_meeting)) == ["来宾0", "来宾1", "来宾2"]
    console = html(facilitator.get(f"/meetings/{live_meeting}/run"))
    assert "4 次设备签到被拒绝" in console.select_one("#room-attendance").get_text()
    # A minute later the hall may go on joining, and the warning is gone.
    with Session(demo_engine) as db:
        meeting = db.get(Meeting, live_meeting)
        later = now() + timedelta(seconds=61)
        assert joining.admit_self_check_in(db, meeting, at=later)
        assert joining.refused_check_ins(db, meeting, at=later) == 0
    # Staff check-ins at the desk are not counted against the hall.
    assert facilitator.post(f"/meetings/{live_meeting}/run/checkin", data={"name": "前台签到"},
                            follow_redirects=False).status_code == 303

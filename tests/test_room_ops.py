"""The live room's operations on a session alone, without HTTP: agenda steps, the speaking queue,
check-in and its reuse rules, the household search, and who a device is."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from forum import agenda, auth, room
from forum.models import (
    AgendaEntry,
    Area,
    AreaKind,
    Attendance,
    Household,
    Issue,
    IssueEvent,
    Meeting,
    MeetingStatus,
    Ownership,
    Person,
    SpeakerStatus,
    SpeakingRequest,
    now,
)

STAFF = "王主任"
TOKEN_A, TOKEN_B = "a" * 32, "b" * 32


@pytest.fixture
def db(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture
def meeting(db) -> Meeting:
    """A planned meeting of one community, with three entries whose positions and ids disagree,
    and two flats of building 5: 301 (its owner lives there) and 302 (a tenant; its owner lives
    elsewhere)."""
    community = Area(name="幸福社区", kind=AreaKind.community, slug="xingfu")
    db.add(community)
    db.flush()
    meeting = Meeting(community_id=community.id, title="恳谈会", cadence="weekly", starts_at=now(), place="活动室")
    db.add(meeting)
    db.flush()
    for title, position in (("油烟扰民", 3), ("加装电梯", 1), ("停车", 2)):
        issue = Issue(community_id=community.id, title=title, category="noise", source="meeting", raised_by="居民",
                      status="on_agenda")
        db.add(issue)
        db.flush()
        db.add(AgendaEntry(meeting_id=meeting.id, issue_id=issue.id, position=position))
    flats = {room_: Household(community_id=community.id, building="5", unit="2", room=room_, floor_area=Decimal("88"))
             for room_ in ("301", "302")}
    db.add_all(flats.values())
    db.flush()
    owner = Person(name="王芳", household_id=flats["301"].id)
    tenant = Person(name="李四", household_id=flats["302"].id)
    landlord = Person(name="赵六")
    db.add_all([owner, tenant, landlord])
    db.flush()
    db.add_all([Ownership(household_id=flats["301"].id, person_id=owner.id),
                Ownership(household_id=flats["302"].id, person_id=landlord.id)])
    db.flush()
    return meeting


def titles(db: Session, entries: list[AgendaEntry]) -> list[str]:
    return [db.get(Issue, e.issue_id).title for e in entries]


def current_title(db: Session, meeting: Meeting) -> str | None:
    entry = room.current_entry(db, meeting)
    return db.get(Issue, entry.issue_id).title if entry else None


def guest(db: Session, meeting: Meeting, name: str, token: str | None = None) -> Attendance:
    return room.check_in(db, meeting, name=name, device_token=token)


# ---------------------------------------------------------------- the agenda


def test_the_agenda_is_taken_by_position_then_id(db, meeting):
    assert titles(db, agenda.entries_of(db, meeting.id)) == ["加装电梯", "停车", "油烟扰民"]
    # Two entries at one position (added at once): the older one first, the same on every page.
    tied = agenda.entries_of(db, meeting.id)[1:]
    for entry in tied:
        entry.position = 2
        db.add(entry)
    db.flush()
    assert [e.id for e in agenda.entries_of(db, meeting.id)[1:]] == sorted(e.id for e in tied)


def test_starting_goes_live_at_the_first_entry(db, meeting):
    room.start(db, meeting, actor=STAFF)
    assert meeting.status == MeetingStatus.live and meeting.join_code and meeting.started_at
    assert current_title(db, meeting) == "加装电梯" and meeting.entry_started_at is not None
    code, entry_id = meeting.join_code, meeting.current_entry_id
    room.start(db, meeting, actor=STAFF)  # pressed twice: nothing moves
    assert (meeting.join_code, meeting.current_entry_id) == (code, entry_id)


def test_the_entry_under_discussion_is_never_another_meetings(db, meeting):
    room.start(db, meeting, actor=STAFF)
    other = Meeting(community_id=meeting.community_id, title="协调会", cadence="monthly", starts_at=now(),
                    place="会议室")
    db.add(other)
    db.flush()
    other.current_entry_id = meeting.current_entry_id  # a row gone wrong must not show this meeting's entry
    assert room.current_entry(db, other) is None and room.current_entry(db, meeting) is not None


def test_steps_move_through_the_agenda_and_stop_at_its_ends(db, meeting):
    room.start(db, meeting, actor=STAFF)
    first = room.current_entry(db, meeting)
    room.step(db, meeting, 1, actor=STAFF)
    assert current_title(db, meeting) == "停车"
    assert first.ended_at is not None  # the entry left is closed
    room.step(db, meeting, 1, actor=STAFF)
    room.step(db, meeting, 1, actor=STAFF)
    assert current_title(db, meeting) == "油烟扰民"  # no step past the last
    room.step(db, meeting, -5, actor=STAFF)
    assert current_title(db, meeting) == "加装电梯" and first.ended_at is None  # back under discussion


def test_going_to_an_entry_marks_its_issue_discussed_and_ends_the_speaker(db, meeting):
    room.start(db, meeting, actor=STAFF)
    speaker = room.raise_hand(db, meeting, guest(db, meeting, "甲"))
    room.give_floor(db, meeting, speaker)
    target = agenda.entries_of(db, meeting.id)[2]
    room.go_to(db, meeting, target, actor=STAFF)
    assert meeting.current_entry_id == target.id and target.started_at is not None
    assert db.get(Issue, target.issue_id).status == "discussed"
    assert db.exec(select(IssueEvent).where(IssueEvent.issue_id == target.issue_id,
                                            IssueEvent.meeting_id == meeting.id)).first() is not None
    assert speaker.status == SpeakerStatus.done and speaker.ended_at is not None


def test_a_decision_is_recorded_on_the_entry_and_decides_its_issue(db, meeting):
    room.start(db, meeting, actor=STAFF)
    entry = room.current_entry(db, meeting)
    room.record_decision(db, meeting, entry, "物业两周内提交方案", actor=STAFF)
    assert entry.decision == "物业两周内提交方案"
    assert db.get(Issue, entry.issue_id).status == "decided"
    room.record_decision(db, meeting, entry, "", actor=STAFF)
    assert entry.decision is None


def test_ending_closes_the_entry_withdraws_the_hands_and_ends_the_speaker(db, meeting):
    room.start(db, meeting, actor=STAFF)
    entry = room.current_entry(db, meeting)
    speaker = room.raise_hand(db, meeting, guest(db, meeting, "甲"))
    waiting = room.raise_hand(db, meeting, guest(db, meeting, "乙"))
    room.give_floor(db, meeting, speaker)
    room.end(db, meeting, actor=STAFF)
    assert meeting.status == MeetingStatus.ended and meeting.ended_at and meeting.current_entry_id is None
    assert entry.ended_at is not None
    assert (speaker.status, waiting.status) == (SpeakerStatus.done, SpeakerStatus.withdrawn)


# ---------------------------------------------------------------- the speaking queue


def hands(db: Session, meeting: Meeting, *names: str) -> list[SpeakingRequest]:
    """Hands raised one second apart, in the order given."""
    raised = []
    for i, name in enumerate(names):
        request = room.raise_hand(db, meeting, guest(db, meeting, name))
        request.raised_at = now() - timedelta(seconds=len(names) - i)
        raised.append(request)
    db.flush()
    return raised


def queue_names(db: Session, meeting: Meeting) -> list[tuple[str, str]]:
    return [(a.name, r.status) for r, a in room.queue_of(db, meeting)]


def test_the_queue_is_in_the_order_hands_went_up_with_the_speaker_first(db, meeting):
    room.start(db, meeting, actor=STAFF)
    _first, second, _third = hands(db, meeting, "甲", "乙", "丙")
    assert queue_names(db, meeting) == [("甲", "waiting"), ("乙", "waiting"), ("丙", "waiting")]
    room.step(db, meeting, 1, actor=STAFF)  # hands stay up from one entry to the next
    room.give_floor(db, meeting, second)
    assert queue_names(db, meeting) == [("乙", "speaking"), ("甲", "waiting"), ("丙", "waiting")]
    # What they say is on the entry under discussion when they speak (as the minutes list it).
    assert second.started_at is not None and second.agenda_entry_id == meeting.current_entry_id


def test_next_speaker_ends_the_speaker_and_gives_the_floor_to_the_longest_waiting(db, meeting):
    room.start(db, meeting, actor=STAFF)
    first, second, _third = hands(db, meeting, "甲", "乙", "丙")
    room.give_floor(db, meeting, second)
    room.next_speaker(db, meeting)
    assert second.status == SpeakerStatus.done
    assert queue_names(db, meeting) == [("甲", "speaking"), ("丙", "waiting")]
    room.next_speaker(db, meeting)
    room.next_speaker(db, meeting)  # nobody left waiting: the floor is simply free
    assert queue_names(db, meeting) == [] and first.status == SpeakerStatus.done


def test_clearing_the_queue_ends_the_speaker_and_removes_the_waiting(db, meeting):
    room.start(db, meeting, actor=STAFF)
    first, second, third = hands(db, meeting, "甲", "乙", "丙")
    room.give_floor(db, meeting, first)
    room.remove_request(db, third)
    room.clear_queue(db, meeting)
    assert [r.status for r in (first, second, third)] == [SpeakerStatus.done, SpeakerStatus.removed,
                                                           SpeakerStatus.removed]
    assert queue_names(db, meeting) == []


def test_raising_or_lowering_a_hand_twice_changes_it_once(db, meeting):
    room.start(db, meeting, actor=STAFF)
    me = guest(db, meeting, "甲")
    first = room.raise_hand(db, meeting, me)
    db.flush()
    assert room.raise_hand(db, meeting, me) is first
    assert db.exec(select(SpeakingRequest).where(SpeakingRequest.attendance_id == me.id)).all() == [first]
    room.lower_hand(db, me)
    room.lower_hand(db, me)
    assert first.status == SpeakerStatus.withdrawn and queue_names(db, meeting) == []
    again = room.raise_hand(db, meeting, me)  # up again later: a new hand, at the back of the queue
    db.flush()
    assert again is not first and queue_names(db, meeting) == [("甲", "waiting")]


def test_a_speaker_cannot_lower_their_hand(db, meeting):
    room.start(db, meeting, actor=STAFF)
    (speaker,) = hands(db, meeting, "甲")
    room.give_floor(db, meeting, speaker)
    room.lower_hand(db, db.get(Attendance, speaker.attendance_id))
    assert speaker.status == SpeakerStatus.speaking


# ---------------------------------------------------------------- check-in


def test_a_check_in_with_a_flat_is_matched_to_the_register(db, meeting):
    owner = room.check_in(db, meeting, name="王芳", building="5", unit="2", room="301")
    flat = db.get(Household, owner.household_id)
    assert (flat.building, flat.unit, flat.room) == ("5", "2", "301") and not owner.is_guest
    assert db.get(Person, owner.person_id).name == "王芳"
    # An owner who lives elsewhere is matched to the flat they own.
    landlord = room.check_in(db, meeting, name="赵六", building="5", unit="2", room="302")
    assert db.get(Person, landlord.person_id).name == "赵六"
    # A name the register does not know is the flat's, not a person's; no flat: a guest.
    visitor = room.check_in(db, meeting, name="访客", building="5", unit="2", room="302")
    assert visitor.household_id == flat.id + 1 and visitor.person_id is None and not visitor.is_guest
    walk_in = room.check_in(db, meeting, name="过路人", building="9", unit="9", room="909")
    assert walk_in.is_guest and walk_in.household_id is None and walk_in.room == "909"


def test_the_same_person_checking_in_again_is_one_attendance(db, meeting):
    first = room.check_in(db, meeting, name="王芳", building="5", unit="2", room="301", device_token=TOKEN_A)
    again = room.check_in(db, meeting, name="王芳", building="5", unit="2", room="301", device_token=TOKEN_A)
    assert again.id == first.id
    by_staff = room.check_in(db, meeting, name="刘奶奶", by=STAFF)
    assert room.check_in(db, meeting, name="刘奶奶", by=STAFF).id == by_staff.id
    assert by_staff.admitted and not first.admitted  # staff's word admits to votes of those present


def test_typing_someones_name_and_flat_does_not_make_a_device_theirs(db, meeting):
    theirs = room.check_in(db, meeting, name="王芳", building="5", unit="2", room="301", device_token=TOKEN_A)
    other_device = room.check_in(db, meeting, name="王芳", building="5", unit="2", room="301", device_token=TOKEN_B)
    assert other_device.id != theirs.id and theirs.device_token == TOKEN_A
    # Nor does it take over a check-in staff vouched for.
    by_staff = room.check_in(db, meeting, name="刘奶奶", by=STAFF)
    self_claimed = room.check_in(db, meeting, name="刘奶奶", device_token=TOKEN_B)
    assert self_claimed.id != by_staff.id and by_staff.device_token is None


def test_a_device_forgets_its_person_who_stays_checked_in(db, meeting):
    me = guest(db, meeting, "甲", TOKEN_A)
    room.forget_device(db, me)
    room.forget_device(db, None)  # a device that was nobody: nothing to forget
    db.flush()
    assert me.device_token is None and db.get(Attendance, me.id) is not None
    assert room.attendance_count(db, meeting) == 1


# ---------------------------------------------------------------- the household search


def found(db: Session, meeting: Meeting, query: str) -> list[tuple[str, list[str], int]]:
    return [(h.room, [p.name for p in people], len(owners))
            for h, people, owners in room.search_households(db, meeting.community_id, query)]


@pytest.mark.parametrize("query, expected", [
    ("5-2-301", [("301", ["王芳"], 1)]),
    ("5栋2单元302室", [("302", ["李四", "赵六"], 1)]),  # its tenant, and its owner who lives elsewhere
    ("5-2", [("301", ["王芳"], 1), ("302", ["李四", "赵六"], 1)]),
    ("赵", [("302", ["李四", "赵六"], 1)]),  # by an owner's name
    ("李四", [("302", ["李四", "赵六"], 1)]),  # by a resident's name
    ("6-1-101", []),
    ("   ", []),
])
def test_households_are_found_by_flat_or_by_name(db, meeting, query, expected):
    assert found(db, meeting, query) == expected


def test_a_flat_is_found_in_its_own_community_only(db, meeting):
    elsewhere = Area(name="别的社区", kind=AreaKind.community, slug="other")
    db.add(elsewhere)
    db.flush()
    assert room.search_households(db, elsewhere.id, "5-2-301") == []
    assert room.find_household(db, elsewhere.id, "5", "2", "301") is None
    assert room.find_household(db, meeting.community_id, "5", "2", "301") is not None


# ---------------------------------------------------------------- who a device is


def test_a_device_is_its_check_in_at_that_meeting_and_a_malformed_token_is_nobody(db, meeting):
    me = guest(db, meeting, "甲", TOKEN_A)
    odd = guest(db, meeting, "乙", "x' OR 1=1 --")  # a token forum never gives, stored all the same
    db.commit()
    assert auth.device_attendance(db, {auth.DEVICE_COOKIE: TOKEN_A}, meeting.id).id == me.id
    assert auth.device_attendance(db, {auth.DEVICE_COOKIE: odd.device_token}, meeting.id) is None
    assert auth.device_attendance(db, {auth.DEVICE_COOKIE: TOKEN_B}, meeting.id) is None
    assert auth.device_attendance(db, {}, meeting.id) is None
    assert auth.device_attendance(db, {auth.DEVICE_COOKIE: TOKEN_A}, meeting.id + 1) is None
    # With no meeting named: its latest check-in at a meeting that has not ended.
    assert auth.device_attendance(db, {auth.DEVICE_COOKIE: TOKEN_A}, None).id == me.id
    room.end(db, meeting, actor=STAFF)
    db.commit()
    assert auth.device_attendance(db, {auth.DEVICE_COOKIE: TOKEN_A}, None) is None


def test_a_count_down_carries_the_server_clock(db, meeting):
    assert room.timer(None, 3) is None
    timer = room.timer(now() - timedelta(minutes=4), 3)
    assert timer["left"] in (-60, -61) and timer["deadline"] < timer["server_now"] and timer["minutes"] == 3
    assert (room.clock(75), room.clock(-5), room.clock(0)) == ("01:15", "-00:05", "00:00")

"""The live room's operations: agenda steps, the speaking queue, check-in and the household search.

The room's state lives in the database (Meeting.current_entry_id, AgendaEntry times, Attendance,
SpeakingRequest, Comment). These functions read and change it in the caller's session and never
commit: a view (or a test) commits, then tells the hub which parts changed. Nothing here knows
about HTTP, so the rules of a meeting can be tested on a session alone (tests/test_room_ops.py).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from forum import agenda, electorate, issue_registry, joining, lifecycle, verification
from forum.lifecycle import Facts, Step
from forum.models import (
    AgendaEntry,
    Attendance,
    Comment,
    Household,
    Issue,
    Meeting,
    MeetingStatus,
    Ownership,
    Person,
    SpeakerStatus,
    SpeakingRequest,
    now,
)

SPEAKER_MINUTES = 3
# A hand that is still in the queue: up and waiting, or holding the floor.
ACTIVE = (SpeakerStatus.waiting, SpeakerStatus.speaking)


# ---------------------------------------------------------------- reading the room


def current_entry(db: Session, meeting: Meeting) -> AgendaEntry | None:
    """The entry under discussion (never another meeting's, whatever the meeting row says)."""
    if meeting.current_entry_id is None:
        return None
    entry = db.get(AgendaEntry, meeting.current_entry_id)
    return entry if entry is not None and entry.meeting_id == meeting.id else None


def epoch_ms(moment: datetime) -> int:
    # Naive times are the server's local time, as models.now() writes them.
    return int(moment.timestamp() * 1000)


def timer(started: datetime | None, minutes: int) -> dict[str, Any] | None:
    """What a count-down needs: the deadline, and the server's clock so a tablet can allow for its own."""
    if started is None:
        return None
    deadline = started + timedelta(minutes=minutes)
    left = int((deadline - now()).total_seconds())
    return {"deadline": epoch_ms(deadline), "server_now": epoch_ms(now()), "left": left, "minutes": minutes}


def clock(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 60:02d}:{seconds % 60:02d}"


def queue_of(db: Session, meeting: Meeting) -> list[tuple[SpeakingRequest, Attendance]]:
    """The hands still in the queue, each with who raised it: the speaker first, then the waiting."""
    rows = db.exec(select(SpeakingRequest, Attendance).join(Attendance, SpeakingRequest.attendance_id == Attendance.id)
                   .where(SpeakingRequest.meeting_id == meeting.id, col(SpeakingRequest.status).in_(ACTIVE))
                   .order_by(SpeakingRequest.raised_at, SpeakingRequest.id)).all()
    # The speaker first, then hands in the order they went up.
    return sorted(rows, key=lambda r: r[0].status != SpeakerStatus.speaking)


def attendance_count(db: Session, meeting: Meeting) -> int:
    return db.exec(select(func.count()).select_from(Attendance).where(Attendance.meeting_id == meeting.id)).one()


# ---------------------------------------------------------------- changing the room


def _move_issue(db: Session, issue: Issue | None, step: Step, *, actor: str, meeting: Meeting,
                facts: Facts = Facts(), note: str = "") -> None:
    # Issues brought back to a coordination or review meeting are past these steps already.
    if issue is None:
        return
    try:
        issue_registry.move(db, issue, step, actor=actor, facts=facts, note=note, meeting_id=meeting.id)
    except lifecycle.Refused:
        pass


def _finish_speaker(db: Session, meeting: Meeting) -> None:
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id,
                                                         SpeakingRequest.status == SpeakerStatus.speaking)):
        request.status, request.ended_at = SpeakerStatus.done, now()
        db.add(request)


def go_to(db: Session, meeting: Meeting, entry: AgendaEntry | None, *, actor: str) -> None:
    """Make ``entry`` the one under discussion; its clock starts again."""
    previous = current_entry(db, meeting)
    if previous is not None and previous is not entry:
        previous.ended_at = now()
        db.add(previous)
    _finish_speaker(db, meeting)
    meeting.current_entry_id = entry.id if entry else None
    meeting.entry_started_at = now() if entry else None
    if entry is not None:
        entry.started_at = entry.started_at or now()
        entry.ended_at = None
        db.add(entry)
        _move_issue(db, db.get(Issue, entry.issue_id), Step.discuss, actor=actor, meeting=meeting)
    db.add(meeting)


def start(db: Session, meeting: Meeting, *, actor: str) -> None:
    if meeting.status == MeetingStatus.live:
        return
    meeting.join_code = meeting.join_code or joining.new_join_code(db)
    meeting.status = MeetingStatus.live
    meeting.started_at = meeting.started_at or now()
    meeting.ended_at = None
    if current_entry(db, meeting) is None:
        entries = agenda.entries_of(db, meeting.id)
        go_to(db, meeting, entries[0] if entries else None, actor=actor)
    db.add(meeting)


def end(db: Session, meeting: Meeting, *, actor: str) -> None:
    entry = current_entry(db, meeting)
    if entry is not None:
        entry.ended_at = now()
        db.add(entry)
    _finish_speaker(db, meeting)
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id,
                                                         SpeakingRequest.status == SpeakerStatus.waiting)):
        request.status = SpeakerStatus.withdrawn
        db.add(request)
    meeting.status = MeetingStatus.ended
    meeting.ended_at = now()
    meeting.current_entry_id = None
    meeting.entry_started_at = None
    db.add(meeting)


def step(db: Session, meeting: Meeting, delta: int, *, actor: str) -> None:
    entries = agenda.entries_of(db, meeting.id)
    if not entries:
        return
    entry = current_entry(db, meeting)
    index = entries.index(entry) + delta if entry in entries else 0
    go_to(db, meeting, entries[max(0, min(index, len(entries) - 1))], actor=actor)


def record_decision(db: Session, meeting: Meeting, entry: AgendaEntry, text: str, *, actor: str) -> None:
    entry.decision = text or None
    db.add(entry)
    if text:
        issue = db.get(Issue, entry.issue_id)
        _move_issue(db, issue, Step.decide, actor=actor, meeting=meeting, facts=Facts(decision=text), note=text)


def give_floor(db: Session, meeting: Meeting, request: SpeakingRequest | None) -> None:
    _finish_speaker(db, meeting)
    if request is not None:
        request.status, request.started_at = SpeakerStatus.speaking, now()
        request.agenda_entry_id = meeting.current_entry_id
        db.add(request)


def next_speaker(db: Session, meeting: Meeting) -> None:
    waiting = [r for r, _a in queue_of(db, meeting) if r.status == SpeakerStatus.waiting]
    give_floor(db, meeting, waiting[0] if waiting else None)


def clear_queue(db: Session, meeting: Meeting) -> None:
    _finish_speaker(db, meeting)
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id,
                                                         SpeakingRequest.status == SpeakerStatus.waiting)):
        request.status, request.ended_at = SpeakerStatus.removed, now()
        db.add(request)


def raise_hand(db: Session, meeting: Meeting, attendance: Attendance) -> SpeakingRequest:
    existing = db.exec(select(SpeakingRequest).where(SpeakingRequest.attendance_id == attendance.id,
                                                     col(SpeakingRequest.status).in_(ACTIVE))).first()
    if existing is not None:
        return existing
    request = SpeakingRequest(meeting_id=meeting.id, attendance_id=attendance.id,
                              agenda_entry_id=meeting.current_entry_id)
    db.add(request)
    return request


def lower_hand(db: Session, attendance: Attendance) -> None:
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.attendance_id == attendance.id,
                                                         SpeakingRequest.status == SpeakerStatus.waiting)):
        request.status, request.ended_at = SpeakerStatus.withdrawn, now()
        db.add(request)


def remove_request(db: Session, request: SpeakingRequest) -> None:
    """The facilitator takes a hand off the queue (or the floor from its speaker)."""
    request.status, request.ended_at = SpeakerStatus.removed, now()
    db.add(request)


def add_comment(db: Session, meeting: Meeting, attendance: Attendance, text: str) -> Comment:
    """A written comment, on the entry under discussion."""
    comment = Comment(meeting_id=meeting.id, agenda_entry_id=meeting.current_entry_id, attendance_id=attendance.id,
                      text=text)
    db.add(comment)
    return comment


def forget_device(db: Session, attendance: Attendance | None) -> None:
    """The device stops speaking for this person ("next person" on a shared tablet, or someone
    else checking in on it); they stay checked in."""
    if attendance is not None:
        attendance.device_token = None
        db.add(attendance)


def find_household(db: Session, community_id: int, building: str, unit: str, room: str) -> Household | None:
    if not (building and room):
        return None
    return db.exec(select(Household).where(Household.community_id == community_id, Household.building == building,
                                           Household.unit == unit, Household.room == room)).first()


def check_in(db: Session, meeting: Meeting, *, name: str, building: str = "", unit: str = "", room: str = "",
             household: Household | None = None, by: str = "self", device_token: str | None = None) -> Attendance:
    """One person at the meeting; matched to the household register where their room is given,
    and to the owner where the name is the owner's. The same person twice is one attendance."""
    household = household or find_household(db, meeting.community_id, building, unit, room)
    person = None
    if household is not None:
        building, unit, room = household.building, household.unit, household.room
        # Its residents, and its owners wherever they live.
        owners = select(Ownership.person_id).where(Ownership.household_id == household.id)
        person = db.exec(select(Person).where(or_(Person.household_id == household.id, col(Person.id).in_(owners)),
                                              Person.name == name).order_by(Person.id)).first()
    existing = db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id, Attendance.name == name,
                                                Attendance.building == building, Attendance.unit == unit,
                                                Attendance.room == room)).first()
    if existing is not None and not verification.may_reuse(existing, by, device_token):
        existing = None  # typing someone's name and flat does not make a device theirs
    attendance = existing or Attendance(meeting_id=meeting.id, name=name, building=building, unit=unit, room=room,
                                        household_id=household.id if household else None,
                                        person_id=person.id if person else None, is_guest=household is None,
                                        checked_in_by=by, admitted=by != "self")
    if device_token:
        attendance.device_token = device_token
    db.add(attendance)
    db.flush()
    return attendance


def search_households(db: Session, community_id: int, query: str
                      ) -> list[tuple[Household, list[Person], set[int]]]:
    """Households by "5-2-301" (building-unit-room, any part) or by a member's name, each with its
    residents and owners, and which of them are owners."""
    query = query.strip()[:60]
    if not query:
        return []
    numbers = [p for p in re.split(r"[\s\-/#栋幢号楼单元室]+", query) if p]
    statement = select(Household).where(Household.community_id == community_id)
    if numbers and all(re.fullmatch(r"[0-9A-Za-z]+", p) for p in numbers):
        for column, value in zip((Household.building, Household.unit, Household.room), numbers, strict=False):
            statement = statement.where(column == value)
    else:
        like = f"%{query}%"
        members = select(Person.household_id).where(col(Person.name).like(like))
        owned = select(Ownership.household_id).join(Person, Person.id == Ownership.person_id) \
            .where(col(Person.name).like(like))
        statement = statement.where(or_(col(Household.id).in_(members), col(Household.id).in_(owned),
                                        col(Household.room).like(like)))
    households = list(db.exec(statement.order_by(Household.building, Household.unit, Household.room).limit(20)))
    people: dict[int, list[Person]] = {h.id: [] for h in households}
    owned = electorate.ownerships(db, people)
    if households:
        owner_ids = {pid for ids in owned.values() for pid in ids}
        for person in db.exec(select(Person).where(or_(col(Person.household_id).in_(list(people)),
                                                       col(Person.id).in_(sorted(owner_ids)))).order_by(Person.id)):
            for household_id in people:
                if person.household_id == household_id or person.id in owned.get(household_id, ()):
                    people[household_id].append(person)
    return [(h, people[h.id], owned.get(h.id, set())) for h in households]


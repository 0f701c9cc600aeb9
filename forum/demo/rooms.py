"""The live record of the demo's past meetings: who came, who spoke, what they wrote."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlmodel import Session, select

from forum import agenda
from forum.demo.data import COMMENTS, FACILITATOR, GUESTS
from forum.models import (
    Area,
    Attendance,
    Comment,
    Meeting,
    MeetingStatus,
    Person,
    SpeakingRequest,
)


def rooms_of_past_meetings(session: Session, community: Area, owners: dict[tuple[str, str, str], Person],
                            rng: random.Random) -> None:
    """The live record of each meeting already held: residents checked in (owners and a few
    guests), hands raised and given the floor on each item, and a few written comments, so the
    minutes read as a real meeting's would."""
    people = sorted(owners.items())
    meetings = session.exec(select(Meeting).where(Meeting.community_id == community.id,
                                                  Meeting.status == MeetingStatus.ended)
                            .order_by(Meeting.starts_at)).all()
    for meeting in meetings:
        start = meeting.started_at or meeting.starts_at
        came = [Attendance(meeting_id=meeting.id, person_id=person.id, household_id=person.household_id,
                           name=person.name, building=b, unit=u, room=r, is_guest=False,
                           checked_in_at=start - timedelta(minutes=rng.randint(0, 10)),
                           checked_in_by=rng.choice(["self", "self", FACILITATOR]))
                for (b, u, r), person in rng.sample(people, rng.randint(8, 16))]
        came += [Attendance(meeting_id=meeting.id, name=name, is_guest=True, checked_in_at=start,
                            checked_in_by=FACILITATOR) for name in rng.sample(GUESTS, rng.randint(0, 2))]
        session.add_all(came)
        session.flush()
        for entry in agenda.entries_of(session, meeting.id):
            at = meeting.starts_at + timedelta(minutes=10 * entry.position + 1)
            for speaker in rng.sample(came, min(len(came), rng.randint(1, 3))):
                session.add(SpeakingRequest(meeting_id=meeting.id, attendance_id=speaker.id,
                                            agenda_entry_id=entry.id, status="done", raised_at=at,
                                            started_at=at + timedelta(seconds=30),
                                            ended_at=at + timedelta(minutes=2)))
                at += timedelta(minutes=2, seconds=30)
            for writer in rng.sample(came, min(len(came), rng.randint(0, 2))):
                session.add(Comment(meeting_id=meeting.id, agenda_entry_id=entry.id, attendance_id=writer.id,
                                    text=rng.choice(COMMENTS), at=at))
    session.flush()

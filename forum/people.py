"""A resident's personal data: who may see it, exported on request, erased on request.

Names with flats and phones are for the staff of the person's own community (``may_see``).
``export`` gathers what forum holds about one person (their register entry, attendance, comments,
issues raised under their name, vote eligibility) as JSON-ready data. ``erase`` replaces their
name and flat with an anonymous placeholder everywhere forum wrote them, and keeps every count:
attendance rows stay (as anonymous 参与人次), ballots and tallies are untouched, so results and
participation figures do not change; a vote's trail keeps its steps under the placeholder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from forum import auth
from forum.models import (
    Attendance,
    Ballot,
    Comment,
    Household,
    Issue,
    Meeting,
    Ownership,
    Person,
    User,
    Verification,
    VoteAudit,
    VoteElector,
)

# What an erased person is called from then on: a placeholder, never their name.
ERASED = "已删除的居民"


def community_of(db: Session, person: Person) -> int | None:
    household = db.get(Household, person.household_id) if person.household_id else None
    return household.community_id if household else None


def may_see(user: User | None, community_id: int | None) -> bool:
    """Whether ``user`` may read residents' names and flats in ``community_id``: the community's
    staff (its facilitators and committee members) and admins. A liaison speaks for an outside
    organisation and is tied to no community, which ``acts_for`` alone would take for every one.
    (A verified resident's own record is the hook for later: they have no sign-in yet.)"""
    return auth.sees_personal_data(user, community_id)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(db: Session, person: Person) -> dict[str, Any]:
    """Everything forum holds about one person, as data for a JSON download."""
    household = db.get(Household, person.household_id) if person.household_id else None
    attended = list(db.exec(select(Attendance, Meeting).join(Meeting, Attendance.meeting_id == Meeting.id)
                            .where(Attendance.person_id == person.id).order_by(Meeting.starts_at)))
    attendance_ids = [a.id for a, _m in attended]
    comments = list(db.exec(select(Comment).where(col(Comment.attendance_id).in_(attendance_ids))
                            .order_by(Comment.at))) if attendance_ids else []
    issues = []
    # Issues name who raised them in free text ("4栋住户 谭秀兰"): matched by the full name, and
    # only by a name long enough not to match strangers.
    if household is not None and len(person.name) >= 2:
        issues = list(db.exec(select(Issue).where(Issue.community_id == household.community_id,
                                                  col(Issue.raised_by).contains(person.name, autoescape=True))
                              .order_by(Issue.raised_at).limit(1000)))
    electors = list(db.exec(select(VoteElector).where(VoteElector.person_id == person.id)))
    owns = list(db.exec(select(Household).join(Ownership, Ownership.household_id == Household.id)
                        .where(Ownership.person_id == person.id).order_by(Household.id)))
    verified = list(db.exec(select(Verification).where(Verification.person_id == person.id)
                            .order_by(Verification.verified_at)))
    return {
        "person": {"id": person.id, "name": person.name, "phone": person.phone},
        "owns": [{"household_id": h.id, "building": h.building, "unit": h.unit, "room": h.room,
                  "floor_area": str(h.floor_area)} for h in owns],
        "household": {"id": household.id, "community_id": household.community_id, "building": household.building,
                      "unit": household.unit, "room": household.room,
                      "floor_area": str(household.floor_area)} if household else None,
        "attendance": [{"meeting_id": m.id, "meeting": m.title, "starts_at": _iso(m.starts_at),
                        "checked_in_at": _iso(a.checked_in_at), "checked_in_by": a.checked_in_by}
                       for a, m in attended],
        "comments": [{"meeting_id": c.meeting_id, "at": _iso(c.at), "text": c.text} for c in comments],
        "issues_raised": [{"id": i.id, "title": i.title, "raised_at": _iso(i.raised_at), "raised_by": i.raised_by}
                          for i in issues],
        "votes_eligible": [{"vote_id": e.vote_id, "label": e.label} for e in electors],
        "verifications": [{"meeting_id": v.meeting_id, "household_id": v.household_id, "method": v.method,
                           "verified_at": _iso(v.verified_at), "verified_by": v.verified_by,
                           "revoked_at": _iso(v.revoked_at)} for v in verified],
    }


def erase(db: Session, person: Person) -> dict[str, int]:
    """Replace the person's name and flat with a placeholder wherever forum wrote them; keep counts.

    Returns how many rows of each kind changed. The caller commits (and records it in the audit log).
    """
    name = person.name
    placeholder = f"{ERASED} #{person.id}"
    household = db.get(Household, person.household_id) if person.household_id else None
    changed = {"attendance": 0, "electors": 0, "ballots": 0, "issues": 0}
    mine = Attendance.person_id == person.id
    if household is not None:  # also where they checked themselves in by name and flat, unmatched
        mine = or_(mine, (Attendance.household_id == household.id) & (Attendance.name == name))
    for attendance in db.exec(select(Attendance).where(mine)):
        attendance.name, attendance.building, attendance.unit, attendance.room = placeholder, "", "", ""
        attendance.device_token = None
        db.add(attendance)
        changed["attendance"] += 1
    for elector in db.exec(select(VoteElector).where(VoteElector.person_id == person.id)):
        label, elector.label = elector.label, placeholder
        db.add(elector)
        changed["electors"] += 1
        # The vote's own trail named them by label: it keeps every step, under the placeholder.
        for step in db.exec(select(VoteAudit).where(VoteAudit.vote_id == elector.vote_id)):
            if label in step.actor or label in step.detail:
                step.actor = step.actor.replace(label, placeholder)
                step.detail = step.detail.replace(label, placeholder)
                db.add(step)
        for ballot in db.exec(select(Ballot).where(Ballot.vote_id == elector.vote_id,
                                                   Ballot.voter_key == elector.voter_key)):
            ballot.cast_by = placeholder if name in ballot.cast_by else ballot.cast_by
            db.add(ballot)
            changed["ballots"] += 1
    if household is not None and len(name) >= 2:
        for issue in db.exec(select(Issue).where(Issue.community_id == household.community_id,
                                                 col(Issue.raised_by).contains(name, autoescape=True))):
            issue.raised_by = issue.raised_by.replace(name, placeholder)[:60]
            db.add(issue)
            changed["issues"] += 1
    # The register keeps the household (its floor area weighs votes) but no longer who this was.
    person.name, person.phone = placeholder, None
    db.add(person)
    return changed

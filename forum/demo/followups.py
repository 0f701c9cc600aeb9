"""The demo's follow-up: actions agreed at meetings and worked through, and the quarterly review's
ratings, written into the stories (forum.demo.stories) at the moment they happen, so each issue's
history stays in time order.

The kitchen-fumes issue leaves the monthly coordination with three owners: the market-supervision
office (done in time), the shop's landlord (done, but late) and the city management bureau — the
demo liaison's — whose check is overdue: signing in as ``liaison`` finds it first in "my work".
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from forum.followup import Change, Owner
from forum.models import Action, ActionNote, Issue, IssueEvent, Meeting, Organisation, Person, Rating
from forum.review import Counts, quarter_of, verdict


def organisation(session: Session, name: str) -> Organisation:
    return session.exec(select(Organisation).where(Organisation.name == name)).one()


def _event(session: Session, issue: Issue, action: Action, change: Change, at: datetime, actor: str, note: str,
           meeting: Meeting | None = None) -> None:
    session.add(IssueEvent(issue_id=issue.id, at=at, actor=actor, action=f"action_{change.value}",
                           from_status=issue.status, to_status=issue.status, note=note,
                           meeting_id=meeting.id if meeting else None))
    session.add(ActionNote(action_id=action.id, at=at, by=actor, kind=change.value, text=note))
    issue.updated_at = at
    session.add(issue)
    session.flush()


def agree(session: Session, issue: Issue, meeting: Meeting, at: datetime, *, what: str, owner: Owner, due: date,
          owner_name: str, actor: str) -> Action:
    """An action agreed at a meeting, dated then (its due date may by now be past: that is the story)."""
    action = Action(issue_id=issue.id, community_id=issue.community_id, meeting_id=meeting.id, what=what,
                    owner_committee_id=owner.committee_id, owner_organisation_id=owner.organisation_id,
                    owner_user_id=owner.user_id, owner_person_id=owner.person_id, due=due, created_by=actor,
                    created_at=at, updated_at=at)
    session.add(action)
    session.flush()
    _event(session, issue, action, Change.create, at, actor, f"{what} — {owner_name} · {due.isoformat()}", meeting)
    return action


def progress(session: Session, issue: Issue, action: Action, at: datetime, *, actor: str, note: str,
             done: bool = False) -> None:
    if done:
        before, action.status, action.done_at = action.status, "done", at
        _event(session, issue, action, Change.status, at, actor, f"{action.what} — {before} → done: {note}")
    else:
        action.status = "in_progress"
        _event(session, issue, action, Change.progress, at, actor, f"{action.what} — {note}")
    action.updated_at = at
    session.add(action)


def landlord(session: Session) -> Person:
    person = Person(name="陈国富（老街小面底商房东）", phone=None)
    session.add(person)
    session.flush()
    return person


def rate(session: Session, issue: Issue, meeting: Meeting, counts: Counts, *, actor: str, reason: str = "") -> None:
    """The review's rating, as the review recorded it (the issue's step is the story's own)."""
    session.add(Rating(issue_id=issue.id, community_id=issue.community_id, meeting_id=meeting.id,
                       quarter=quarter_of(meeting.starts_at), satisfied=counts.satisfied, basically=counts.basically,
                       dissatisfied=counts.dissatisfied, verdict=verdict(counts).value, source="hands",
                       reason=reason, by=actor, at=meeting.starts_at))

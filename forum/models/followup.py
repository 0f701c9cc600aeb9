"""After the meeting: follow-up actions (跟进事项) with their notes, residents' ratings at the
quarterly review, and in-app notices to staff."""

from __future__ import annotations

from datetime import date

from pydantic import NaiveDatetime
from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from forum.models import base  # noqa: F401  (the naming convention, before any table)
from forum.models.base import now


class Action(SQLModel, table=True):
    """A follow-up: what is to be done for an issue, by whom (a committee, an organisation, a
    staff member or another person), by when, and how far it has got. Exactly one owner column is set."""

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    # Where it was agreed, when it was agreed at a meeting (the console, the meeting's page).
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    what: str = Field(max_length=300)
    owner_committee_id: int | None = Field(default=None, foreign_key="committee.id", index=True)
    owner_organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    owner_user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    # A person with no sign-in (a shop's landlord, a resident volunteer): staff report for them.
    owner_person_id: int | None = Field(default=None, foreign_key="person.id")
    due: date = Field(index=True)
    status: str = Field(default="open", max_length=20, index=True)
    blocked_reason: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=60)
    created_at: NaiveDatetime = Field(default_factory=now)
    updated_at: NaiveDatetime = Field(default_factory=now)
    done_at: NaiveDatetime | None = None


class ActionNote(SQLModel, table=True):
    """One dated line of an action's own record: progress, a change of status, owner or due date."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    at: NaiveDatetime = Field(default_factory=now)
    by: str = Field(max_length=60)
    kind: str = Field(max_length=20)  # a followup.Change
    text: str = Field(default="", sa_column=Column(Text, nullable=False))


class Rating(SQLModel, table=True):
    """Residents' rating of a resolved issue at a quarterly review: the counts of each verdict
    (from a vote of those present, a show of hands or paper forms), and the verdict they give."""

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    quarter: str = Field(max_length=7, index=True)  # "2026Q4": the quarter the review was held in
    satisfied: int = 0
    basically: int = 0
    dissatisfied: int = 0
    verdict: str = Field(max_length=20)
    source: str = Field(max_length=20)  # "hands" or "paper"
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    by: str = Field(max_length=60)
    at: NaiveDatetime = Field(default_factory=now)


class Notice(SQLModel, table=True):
    """Something a staff member should look at: an action assigned to them or their organisation,
    due soon or overdue, or an issue of their committee reopened. Read once opened."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(max_length=20)
    action_id: int | None = Field(default=None, foreign_key="action.id")
    issue_id: int | None = Field(default=None, foreign_key="issue.id")
    at: NaiveDatetime = Field(default_factory=now)
    day: date | None = None  # for due and overdue notices: the day they were written, once a day
    read_at: NaiveDatetime | None = None


class ActionPhoto(SQLModel, table=True):
    """A photo with a progress note or a "done": kept in the database, already re-encoded (no EXIF)
    and resized, so the backup of the database is the backup of the evidence, and no folder beside
    it needs its own permissions. At most a few hundred KB each."""

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    note_id: int | None = Field(default=None, foreign_key="actionnote.id", index=True)
    # The issue's timeline line of the same note, where the thumbnail shows too.
    event_id: int | None = Field(default=None, foreign_key="issueevent.id", index=True)
    content_type: str = Field(max_length=20)
    width: int
    height: int
    large: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    thumb: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    by: str = Field(max_length=60)
    at: NaiveDatetime = Field(default_factory=now)

"""Meetings: venue formats, recurring series and their invitees, the meetings themselves and
their agenda entries."""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from forum.i18n import N_
from forum.models import base  # noqa: F401  (the naming convention, before any table)


class Cadence(StrEnum):
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    other = "other"


CADENCES = {
    Cadence.weekly: N_("Weekly talk"),
    Cadence.monthly: N_("Monthly coordination"),
    Cadence.quarterly: N_("Quarterly review"),
    Cadence.other: N_("Special meeting"),
}


class MeetingStatus(StrEnum):
    planned = "planned"
    live = "live"
    ended = "ended"


MEETING_STATUSES = {
    MeetingStatus.planned: N_("Planned"),
    MeetingStatus.live: N_("In session"),
    MeetingStatus.ended: N_("Ended"),
}


class ForumFormat(SQLModel, table=True):
    """A named venue format: 幸福圆桌会, 民乐议事厅, 书记院坝会."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    name: str = Field(max_length=60)


class Series(SQLModel, table=True):
    """A recurring meeting: its cadence, RRULE (RFC 5545), place and facilitator."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    title: str = Field(max_length=100)
    cadence: str = Field(max_length=20)
    rrule: str = Field(max_length=200)
    dtstart: NaiveDatetime
    duration_minutes: int = 90
    place: str = Field(max_length=100)
    forum_format_id: int | None = Field(default=None, foreign_key="forumformat.id")
    facilitator_id: int | None = Field(default=None, foreign_key="user.id")


class SeriesInvitee(SQLModel, table=True):
    """A standing invitee of a series: an organisation or a committee."""

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="series.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    committee_id: int | None = Field(default=None, foreign_key="committee.id")


class Meeting(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("series_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    series_id: int | None = Field(default=None, foreign_key="series.id", index=True)
    title: str = Field(max_length=100)
    cadence: str = Field(max_length=20)
    starts_at: NaiveDatetime = Field(index=True)
    duration_minutes: int = 90
    place: str = Field(max_length=100)
    facilitator_id: int | None = Field(default=None, foreign_key="user.id")
    status: str = Field(default=MeetingStatus.planned, max_length=20)
    join_code: str | None = Field(default=None, max_length=10, unique=True)
    started_at: NaiveDatetime | None = None
    ended_at: NaiveDatetime | None = None
    # The live room's state lives here, not in server memory, so a restart loses nothing.
    # (No foreign key: agendaentry already points at meeting, and a cycle buys nothing.)
    current_entry_id: int | None = None
    entry_started_at: NaiveDatetime | None = None


class AgendaEntry(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("meeting_id", "issue_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    position: int = 0
    planned_minutes: int = 10
    decision: str | None = Field(default=None, sa_column=Column(Text))
    started_at: NaiveDatetime | None = None
    ended_at: NaiveDatetime | None = None

"""Issues (议题): a resident's problem and every step of its history, across meetings."""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from forum.i18n import N_
from forum.models.base import now


class Source(StrEnum):
    meeting = "meeting"
    visit = "visit"
    hotline = "hotline"
    online = "online"


SOURCES = {
    Source.meeting: N_("At a meeting"),
    Source.visit: N_("Door-to-door visit"),
    Source.hotline: N_("Hotline"),
    Source.online: N_("Online"),
}

CATEGORIES = {
    "fumes": N_("Kitchen fumes"),
    "poultry": N_("Live poultry"),
    "homestay": N_("Homestay dispute"),
    "lift": N_("Lift installation"),
    "noise": N_("Noise"),
    "parking": N_("Parking"),
    "sanitation": N_("Sanitation"),
    "safety": N_("Safety"),
    "greenery": N_("Greenery and public space"),
    "other": N_("Other"),
}


class IssueBase(SQLModel):
    title: str = Field(max_length=120)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=20)
    place: str = Field(default="", max_length=120)
    source: str = Field(max_length=20)
    raised_by: str = Field(max_length=60)


class Issue(IssueBase, table=True):
    """A resident's problem, travelling across meetings until residents are satisfied."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    committee_id: int | None = Field(default=None, foreign_key="committee.id", index=True)
    status: str = Field(default="raised", max_length=20, index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="issue.id")
    raised_at: NaiveDatetime = Field(default_factory=now)
    resolved_at: NaiveDatetime | None = None
    updated_at: NaiveDatetime = Field(default_factory=now)
    # Marked at a weekly talk when the community cannot solve it alone: it goes up to the monthly
    # coordination's draft agenda (forum.cycle).
    needs_outside: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class IssueEvent(SQLModel, table=True):
    """One step of an issue's history: who, when, from → to, and why."""

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    at: NaiveDatetime = Field(default_factory=now, index=True)
    actor: str = Field(max_length=60)
    action: str = Field(max_length=20)  # a lifecycle.Step, or "raise" and "vote", which change no status
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")

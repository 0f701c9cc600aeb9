"""The live room and verification: who attends (on which device), raised hands, written comments,
household slips and the verifications they (or staff) make."""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from forum.models.base import now


class Attendance(SQLModel, table=True):
    """One person at one meeting (a 参与人次), bound to the device they joined on."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    household_id: int | None = Field(default=None, foreign_key="household.id")
    name: str = Field(max_length=60)
    building: str = Field(default="", max_length=20)
    unit: str = Field(default="", max_length=20)
    room: str = Field(default="", max_length=20)
    is_guest: bool = True
    checked_in_at: NaiveDatetime = Field(default_factory=now)
    checked_in_by: str = Field(default="self", max_length=60)
    # A random token kept in the tablet's cookie; "next person" on a shared tablet forgets it.
    device_token: str | None = Field(default=None, max_length=64, index=True)
    # Counts in votes of those present: staff checked them in or the facilitator admitted them.
    admitted: bool = False
    # A Verification stands for this attendance's household and person (see forum.verification).
    verified: bool = False


class SpeakerStatus(StrEnum):
    """Where a raised hand stands; stored as these strings (the column stays a plain string)."""

    waiting = "waiting"
    speaking = "speaking"
    done = "done"  # spoke, and the floor moved on
    withdrawn = "withdrawn"  # lowered by the resident, or left waiting when the meeting ended
    removed = "removed"  # taken off the queue by the facilitator


class SpeakingRequest(SQLModel, table=True):
    """A raised hand in the speaking queue."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    attendance_id: int = Field(foreign_key="attendance.id")
    agenda_entry_id: int | None = Field(default=None, foreign_key="agendaentry.id")
    status: str = Field(default=SpeakerStatus.waiting, max_length=20)
    raised_at: NaiveDatetime = Field(default_factory=now)
    started_at: NaiveDatetime | None = None
    ended_at: NaiveDatetime | None = None


class Comment(SQLModel, table=True):
    """A resident's written comment (意见) on the entry under discussion."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    agenda_entry_id: int | None = Field(default=None, foreign_key="agendaentry.id")
    attendance_id: int | None = Field(default=None, foreign_key="attendance.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    at: NaiveDatetime = Field(default_factory=now)


class HouseholdSlip(SQLModel, table=True):
    """A printed one-time code that verifies a resident of a household (only its hash is kept)."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: NaiveDatetime = Field(default_factory=now)
    created_by: str = Field(max_length=60)
    expires_at: NaiveDatetime
    used_at: NaiveDatetime | None = None
    revoked_at: NaiveDatetime | None = None
    revoked_by: str = Field(default="", max_length=60)


class Verification(SQLModel, table=True):
    """That an attendance is a given household's resident: by slip, or by staff from the register."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    attendance_id: int = Field(foreign_key="attendance.id", index=True)
    household_id: int = Field(foreign_key="household.id")
    person_id: int | None = Field(default=None, foreign_key="person.id")
    method: str = Field(max_length=20)  # slip, register
    slip_id: int | None = Field(default=None, foreign_key="householdslip.id")
    verified_at: NaiveDatetime = Field(default_factory=now)
    verified_by: str = Field(max_length=60)
    revoked_at: NaiveDatetime | None = None
    revoked_by: str = Field(default="", max_length=60)

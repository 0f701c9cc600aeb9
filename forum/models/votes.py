"""Votes: a vote (表决) on an agenda entry or an issue, its electorate fixed when it opens,
receipts, tallies, ballots, paper serials, proxies, and its audit trail.

Secret ballots keep no voter next to a choice: VoteReceipt says only who has voted, VoteTally
holds anonymous sums per choice, and Ballot rows (voter + choice) exist for open votes only.
Areas are whole hundredths of a m² (the register's precision), so sums are exact integers that
the database can add atomically.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from forum.i18n import N_
from forum.models.base import now


class VoteStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


VOTE_STATUSES = {
    VoteStatus.draft: N_("Not yet open"),
    VoteStatus.open: N_("Open"),
    VoteStatus.closed: N_("Closed"),
}


class Vote(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    agenda_entry_id: int | None = Field(default=None, foreign_key="agendaentry.id")
    issue_id: int | None = Field(default=None, foreign_key="issue.id", index=True)
    question: str = Field(max_length=300)
    kind: str = Field(max_length=20)
    # JSON list of {"id": "o1", "text": "..."} for one-of / several-of votes; "" otherwise.
    options: str = Field(default="", sa_column=Column(Text, nullable=False))
    max_choices: int | None = None
    scope: str = Field(max_length=20)  # attendance, community, building, unit
    scope_building: str = Field(default="", max_length=20)
    scope_unit: str = Field(default="", max_length=20)
    counting_unit: str = Field(max_length=20)  # person, household
    weighting: str = Field(max_length=20)
    rule: str = Field(max_length=20)
    secret: bool = False
    results_while_open: bool = True
    allow_change: bool = False
    # Self-checked-in guests and unverified residents count in this vote of those present.
    guests_count: bool = False
    closes_at: NaiveDatetime | None = None
    status: str = Field(default=VoteStatus.draft, max_length=20, index=True)
    created_by: str = Field(max_length=60)
    created_at: NaiveDatetime = Field(default_factory=now)
    opened_at: NaiveDatetime | None = None
    closed_at: NaiveDatetime | None = None
    closed_by: str = Field(default="", max_length=60)
    # JSON {choice: hands} of a show of hands (举手表决) the facilitator counted; "" when none.
    hands: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The counted result (counting.Result.as_dict()) frozen when the vote closes.
    result: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The shared tablet: the voter it currently shows a ballot for, and a nonce so a ballot opened
    # for one voter cannot be cast after the facilitator moved on to the next. The columns keep
    # their first name ("kiosk") so no migration renames stored data.
    kiosk_voter: str | None = Field(default=None, max_length=40)
    kiosk_nonce: str | None = Field(default=None, max_length=40)


class VoteElector(SQLModel, table=True):
    """One eligible voter, fixed when the vote opens (late arrivals join attendance-scope votes)."""

    vote_id: int = Field(foreign_key="vote.id", primary_key=True)
    voter_key: str = Field(max_length=40, primary_key=True)  # "p12", "a7", "h301"
    label: str = Field(max_length=120)
    heads: int = 1
    area_centi: int | None = None
    owner: bool = False
    person_id: int | None = None
    household_id: int | None = None
    # How many units this elector stands for, and why several were merged into one owner
    # (``forum.electorate.REASONS``, comma-separated): SPC interpretation, art. 9.
    units: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    merged: str = Field(default="", max_length=60, sa_column_kwargs={"server_default": ""})


class VoteElectorUnit(SQLModel, table=True):
    """Which elector each unit of an owners' vote's scope was counted under, fixed when it opens."""

    vote_id: int = Field(foreign_key="vote.id", primary_key=True)
    household_id: int = Field(foreign_key="household.id", primary_key=True)
    voter_key: str = Field(max_length=40)


class VoteReceipt(SQLModel, table=True):
    """Only that a voter has voted. The primary key is the one-ballot-per-voter guarantee.

    No timestamp and no surrogate id: nothing here orders receipts against anything else.
    """

    vote_id: int = Field(foreign_key="vote.id", primary_key=True)
    voter_key: str = Field(max_length=40, primary_key=True)


class VoteTally(SQLModel, table=True):
    """Anonymous running sums per choice (for several-of: per set of options ticked)."""

    vote_id: int = Field(foreign_key="vote.id", primary_key=True)
    choice: str = Field(max_length=200, primary_key=True)
    heads: int = 0
    area_centi: int = 0


class Ballot(SQLModel, table=True):
    """An open (named) vote's ballot: who chose what. Never written for a secret vote."""

    vote_id: int = Field(foreign_key="vote.id", primary_key=True)
    voter_key: str = Field(max_length=40, primary_key=True)
    choice: str = Field(max_length=200)
    via: str = Field(max_length=20)  # tablet, kiosk (the shared tablet, as stored), proxy, paper
    cast_by: str = Field(default="", max_length=120)
    cast_at: NaiveDatetime = Field(default_factory=now)
    paper_serial: str | None = Field(default=None, max_length=40)


class PaperSerial(SQLModel, table=True):
    """The serial numbers of paper ballots entered, unique per vote; for secret votes, nothing else."""

    vote_id: int = Field(foreign_key="vote.id", primary_key=True)
    serial: str = Field(max_length=40, primary_key=True)


class VoteProxy(SQLModel, table=True):
    """A 委托: the principal authorised the holder (present at the meeting) to vote for them."""

    vote_id: int = Field(foreign_key="vote.id", primary_key=True)
    principal_key: str = Field(max_length=40, primary_key=True)
    holder_attendance_id: int = Field(foreign_key="attendance.id", index=True)
    note: str = Field(default="", max_length=200)
    recorded_by: str = Field(max_length=60)
    recorded_at: NaiveDatetime = Field(default_factory=now)


class VoteAudit(SQLModel, table=True):
    """Opening, closing and every change to a count. Secret votes' entries name no voter and no choice."""

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="vote.id", index=True)
    at: NaiveDatetime = Field(default_factory=now)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=20)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))

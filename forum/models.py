"""The tables of forum: places and people, meetings, and the issues that travel across them.

Names follow ../shared/design/domain.md. Enumerations are stored as short strings (not database
enums) so SQLite and PostgreSQL hold them alike and a new value needs no type migration.
Times are naive and mean the community's local time: a meeting "Tuesday 19:30" is what people
read on the wall, and one install serves one city.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from forum.i18n import N_

# Constraint names that are the same on every database, so batch migrations on SQLite can find
# and alter them. Set before any table is defined: names are given as constraints are attached.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


class AreaKind(StrEnum):
    district = "district"
    street = "street"
    community = "community"


class CommitteeKind(StrEnum):
    """The "3+3" committees every community has."""

    mediation = "mediation"
    security = "security"
    health = "health"
    livelihood = "livelihood"
    culture = "culture"
    environment = "environment"


COMMITTEE_NAMES = {
    CommitteeKind.mediation: N_("People's mediation"),
    CommitteeKind.security: N_("Public security"),
    CommitteeKind.health: N_("Public health"),
    CommitteeKind.livelihood: N_("Livelihood security"),
    CommitteeKind.culture: N_("Culture and sports"),
    CommitteeKind.environment: N_("Environment and property management"),
}


class OrganisationKind(StrEnum):
    department = "department"
    property = "property"
    social = "social"


ORGANISATION_KINDS = {
    OrganisationKind.department: N_("Government department"),
    OrganisationKind.property: N_("Property company"),
    OrganisationKind.social: N_("Social organisation"),
}


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


class Role(StrEnum):
    facilitator = "facilitator"
    committee = "committee"
    liaison = "liaison"
    admin = "admin"


ROLES = {
    Role.facilitator: N_("Facilitator"),
    Role.committee: N_("Committee member"),
    Role.liaison: N_("Liaison"),
    Role.admin: N_("Administrator"),
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


# ---------------------------------------------------------------- places and people


class Area(SQLModel, table=True):
    """A district, a street or a community: the tree of areas."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=20, index=True)
    parent_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    slug: str = Field(max_length=60, unique=True)


class Committee(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("community_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    kind: str = Field(max_length=20)
    name: str = Field(max_length=100)


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=20)
    phone: str | None = Field(default=None, max_length=40)


class Household(SQLModel, table=True):
    """The unit of ownership (an exclusive part, 专有部分); its floor area weighs owners' votes.

    ``developer_held`` marks a unit the developer has not sold, or sold but not delivered: under
    the SPC interpretation on building ownership (art. 9) all such units of a scope together
    count as one owner.
    """

    __table_args__ = (UniqueConstraint("community_id", "building", "unit", "room"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    building: str = Field(max_length=20)
    unit: str = Field(max_length=20)
    room: str = Field(max_length=20)
    floor_area: Decimal = Field(sa_column=Column(Numeric(10, 2), nullable=False))
    developer_held: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class Person(SQLModel, table=True):
    """A resident, owner or liaison. ``household_id`` is where they live; what they own is ``Ownership``."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    phone: str | None = Field(default=None, max_length=40)
    household_id: int | None = Field(default=None, foreign_key="household.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")


class Ownership(SQLModel, table=True):
    """A person owns a unit (业主). One person may own several units, a unit may have co-owners."""

    household_id: int = Field(foreign_key="household.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)


class User(SQLModel, table=True):
    """A staff sign-in: facilitators, committee members, liaisons, admins. Residents need none."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    password_hash: str = Field(max_length=200)
    display_name: str = Field(max_length=60)
    role: str = Field(max_length=20)
    community_id: int | None = Field(default=None, foreign_key="area.id")
    committee_id: int | None = Field(default=None, foreign_key="committee.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    # A disabled account signs in no more and its sessions have ended (forum.sessions.disable).
    disabled_at: NaiveDatetime | None = None


# ---------------------------------------------------------------- meetings


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


# ---------------------------------------------------------------- issues


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


class IssueEvent(SQLModel, table=True):
    """One step of an issue's history: who, when, from → to, and why."""

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    at: NaiveDatetime = Field(default_factory=now, index=True)
    actor: str = Field(max_length=60)
    action: str = Field(max_length=20)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")




# ---------------------------------------------------------------- the live room


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


# ---- votes
# A vote (表决) on an agenda entry or an issue. Secret ballots keep no voter next to a choice:
# VoteReceipt says only who has voted, VoteTally holds anonymous sums per choice, and Ballot rows
# (voter + choice) exist for open votes only. Areas are whole hundredths of a m² (the register's
# precision), so sums are exact integers that the database can add atomically.


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
    # Kiosk mode: the voter a shared tablet currently shows a ballot for, and a nonce so a ballot
    # opened for one voter cannot be cast after the facilitator moved on to the next.
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
    via: str = Field(max_length=20)  # tablet, kiosk, proxy, paper
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


# ---------------------------------------------------------------- the installation


class ThrottleCount(SQLModel, table=True):
    """Failed attempts of one key (an address, an account, a meeting) in its current window."""

    key: str = Field(primary_key=True, max_length=200)
    window_start: NaiveDatetime = Field(index=True)
    failures: int = 0


class InstanceSecret(SQLModel, table=True):
    """A key generated once per installation and kept with its data (see ``db.instance_secret``)."""

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)


# ---------------------------------------------------------------- sessions and the staff audit log


class StaffSession(SQLModel, table=True):
    """One staff sign-in on one device. The cookie holds a random token; only its SHA-256 is kept,
    so a copy of the database opens no session. Ending it here ends it whatever the cookie says."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: NaiveDatetime
    last_seen_at: NaiveDatetime
    ended_at: NaiveDatetime | None = None
    ended_why: str = Field(default="", max_length=20)  # logout, signin, password, disabled, tablet, idle, expired
    address: str = Field(default="", max_length=60)
    user_agent: str = Field(default="", max_length=120)


class AuditEntry(SQLModel, table=True):
    """One change of state by staff (or a sign-in attempt): who, what, when, from where.

    Append-only: the app writes rows with ``forum.audit.record`` and has no path that changes
    or deletes one."""

    __table_args__ = (Index("ix_auditentry_target", "target_type", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    actor: str = Field(max_length=60)  # the user's username, or the name a refused sign-in gave
    address: str = Field(default="", max_length=60)
    action: str = Field(max_length=40, index=True)
    target_type: str = Field(default="", max_length=20)
    target_id: int | None = None
    community_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class ImportJob(SQLModel, table=True):
    """A register import written in chunks (``forum.households.apply_journaled``): its journal.

    ``status``: ``staging`` while its plan is copied into ``ImportStage`` (the register untouched),
    ``pending`` once the whole plan is staged and chunks are being applied (``applied`` counts the
    staged steps written), ``applied`` when done. ``active`` is 1 while staging or pending and NULL
    after, so its unique constraint lets one import run at a time, across workers.
    """

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="area.id", index=True)
    digest: str = Field(max_length=64)
    status: str = Field(default="staging", max_length=16)
    active: int | None = Field(default=1, unique=True)
    total: int = 0
    applied: int = 0
    created: int = 0
    updated: int = 0
    actor: str = Field(default="", max_length=60)  # "" for the command line, which keeps no audit entry
    started_at: NaiveDatetime = Field(default_factory=now)
    # Moved by every chunk: an active job whose mark stands still is one a crash left behind.
    progress_at: NaiveDatetime = Field(default_factory=now)
    finished_at: NaiveDatetime | None = None


class ImportStage(SQLModel, table=True):
    """One step of a staged import, applied in ``seq`` order. New people and units are named by
    ``person_ref`` / ``household_ref`` (their place in the plan) until written; ``result_id`` then
    keeps the id they got, so a resumed import links owners to the same rows."""

    job_id: int = Field(foreign_key="importjob.id", primary_key=True)
    seq: int = Field(primary_key=True)
    kind: str = Field(max_length=16)
    household_id: int | None = None
    household_ref: int | None = None
    person_id: int | None = None
    person_ref: int | None = None
    name: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, max_length=40)
    building: str | None = Field(default=None, max_length=20)
    unit: str | None = Field(default=None, max_length=20)
    room: str | None = Field(default=None, max_length=20)
    floor_area: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 2), nullable=True))
    developer_held: bool | None = None
    result_id: int | None = None

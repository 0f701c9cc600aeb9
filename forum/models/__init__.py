"""The tables of forum, one module per concern, all importable from here.

    places        areas, committees, organisations, households, people, owners, staff sign-ins
    meetings      venue formats, series and their invitees, meetings, agenda entries
    issues        issues and their history
    followup      follow-up actions and their notes, quarterly ratings, notices
    room          the live room and verification: attendance, hands, comments, slips
    votes         votes, their electorate, receipts, tallies, ballots, proxies, audit
    installation  throttling, the instance secret, staff sessions, the audit log, import journal
    lease         run-once duties across worker processes (forum.lease)

``from forum.models import X`` is the way in: importing this package imports every table
module, so ``SQLModel.metadata`` (what Alembic compares with and ``create_all`` builds) always
holds every table, whichever model a caller names.

Names follow ../shared/design/domain.md. Enumerations are stored as short strings (not database
enums) so SQLite and PostgreSQL hold them alike and a new value needs no type migration.
Times are naive and mean the community's local time: a meeting "Tuesday 19:30" is what people
read on the wall, and one install serves one city.
"""

from __future__ import annotations

from forum.models.base import now
from forum.models.followup import Action, ActionNote, ActionPhoto, Notice, Rating
from forum.models.installation import (
    AuditEntry,
    FiguresVersion,
    ImportJob,
    ImportStage,
    InstanceSecret,
    RecordVersion,
    StaffSession,
    ThrottleCount,
)
from forum.models.issues import CATEGORIES, SOURCES, Issue, IssueBase, IssueEvent, Source
from forum.models.lease import Lease
from forum.models.meetings import (
    CADENCES,
    MEETING_STATUSES,
    AgendaEntry,
    Cadence,
    ForumFormat,
    Meeting,
    MeetingStatus,
    Series,
    SeriesInvitee,
)
from forum.models.places import (
    COMMITTEE_NAMES,
    ORGANISATION_KINDS,
    ROLES,
    Area,
    AreaKind,
    Committee,
    CommitteeKind,
    CommitteeMember,
    Household,
    Organisation,
    OrganisationCommunity,
    OrganisationKind,
    Ownership,
    Person,
    Role,
    User,
)
from forum.models.room import Attendance, Comment, HouseholdSlip, SpeakerStatus, SpeakingRequest, Verification
from forum.models.votes import (
    VOTE_STATUSES,
    Ballot,
    PaperSerial,
    Vote,
    VoteAudit,
    VoteElector,
    VoteElectorUnit,
    VoteProxy,
    VoteReceipt,
    VoteStatus,
    VoteTally,
)

__all__ = [
    "CADENCES", "CATEGORIES", "COMMITTEE_NAMES", "MEETING_STATUSES", "ORGANISATION_KINDS", "ROLES", "SOURCES",
    "VOTE_STATUSES",
    "Action", "ActionNote", "ActionPhoto", "AgendaEntry", "Area", "AreaKind", "Attendance", "AuditEntry", "Ballot",
    "Cadence",
    "Comment", "Committee",
    "CommitteeKind", "CommitteeMember", "ForumFormat", "Household", "HouseholdSlip", "ImportJob", "ImportStage",
    "FiguresVersion", "InstanceSecret", "Issue", "IssueBase", "IssueEvent", "Lease", "Meeting", "MeetingStatus",
    "Notice", "Organisation", "RecordVersion",
    "OrganisationCommunity", "OrganisationKind", "Ownership", "PaperSerial", "Person", "Rating", "Role", "Series",
    "SeriesInvitee", "Source", "SpeakerStatus", "SpeakingRequest", "StaffSession", "ThrottleCount", "User",
    "Verification", "Vote", "VoteAudit", "VoteElector", "VoteElectorUnit", "VoteProxy", "VoteReceipt", "VoteStatus",
    "VoteTally",
    "now",
]

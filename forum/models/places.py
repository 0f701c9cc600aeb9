"""Places and people: the tree of areas, committees, organisations, households and their owners,
residents, and staff sign-ins."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from forum.i18n import N_
from forum.models import base  # noqa: F401  (the naming convention, before any table)
from forum.models.base import now


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


class Area(SQLModel, table=True):
    """A district, a street or a community: the tree of areas."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=20, index=True)
    parent_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    slug: str = Field(max_length=60, unique=True)
    # Archived, never deleted: its meetings, issues and votes keep their place (forum.areas).
    archived_at: NaiveDatetime | None = None


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
    # Where the role is held: a community, a street or a district (forum.scopes). None: the
    # community above, or for admins and staff of no community the whole installation.
    scope_id: int | None = Field(default=None, foreign_key="area.id")
    # A disabled account signs in no more and its sessions have ended (forum.sessions.disable).
    disabled_at: NaiveDatetime | None = None


# ---- administration (issue #11)
# Who sits on a community's committees, and which communities an organisation serves. Liaisons
# are people of an organisation (Person.organisation_id); their sign-ins are Users of it.


class CommitteeMember(SQLModel, table=True):
    """A person on a committee (resident leaders, legal, security and health professionals …).

    Leaving keeps the row (``left_at``), so who sat on a committee when stays known."""

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committee.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    chair: bool = False
    joined_at: NaiveDatetime = Field(default_factory=now)
    left_at: NaiveDatetime | None = None


class OrganisationCommunity(SQLModel, table=True):
    """An organisation serves a community: the department's or property company's patch."""

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    community_id: int = Field(foreign_key="area.id", primary_key=True, index=True)

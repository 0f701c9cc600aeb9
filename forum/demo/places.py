"""The demo's places, people and organisations: the area tree, the "3+3" committees, the
organisations around the table, about 300 households with their owners, and the staff sign-ins."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlmodel import Session, select

from forum.auth import hash_password
from forum.demo.data import (
    CO_OWNED,
    CO_OWNER,
    COMMITTEE_MEMBER,
    COMMITTEE_NAMES_ZH,
    DEMO_LOGINS,
    DEVELOPER_HELD,
    FACILITATOR,
    FORUM_FORMATS,
    GIVEN_NAMES,
    LAYOUTS,
    LIAISON,
    LIFT_STAIRWELL,
    MOBILE_PREFIXES,
    SECOND_FLAT,
    SURNAMES,
)
from forum.models import (
    Area,
    AreaKind,
    Committee,
    CommitteeKind,
    ForumFormat,
    Household,
    Organisation,
    OrganisationKind,
    Ownership,
    Person,
    Role,
    User,
)


def area(session: Session, name: str, slug: str, kind: AreaKind, parent_id: int | None) -> Area:
    # The district may exist already (an install serving all of 渝中区); the demo joins it.
    area = session.exec(select(Area).where(Area.slug == slug)).first()
    if area is None:
        area = Area(name=name, slug=slug, kind=kind, parent_id=parent_id)
        session.add(area)
        session.flush()
    return area


def committees(session: Session, community_id: int) -> dict[CommitteeKind, Committee]:
    made = {}
    for kind, name in COMMITTEE_NAMES_ZH.items():
        committee = Committee(community_id=community_id, kind=kind, name=name)
        session.add(committee)
        made[kind] = committee
    session.flush()
    return made


def organisation(session: Session, name: str, kind: OrganisationKind) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.name == name)).first()
    if org is None:
        org = Organisation(name=name, kind=kind)
        session.add(org)
        session.flush()
    return org


def formats(session: Session, community_id: int) -> dict[str, ForumFormat]:
    made = {name: ForumFormat(community_id=community_id, name=name) for name in FORUM_FORMATS}
    session.add_all(made.values())
    session.flush()
    return made


class _Names:
    """Plausible Chinese names, never the same twice in a community."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        while True:
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)
            if name not in self.used:
                self.used.add(name)
                return name


def households(session: Session, community: Area, rng: random.Random) -> dict[tuple[str, str, str], Person]:
    """The flats of a community and one resident each, who owns it (but see ``LIFT_STAIRWELL``);
    returns the residents by (building, unit, room)."""
    names = _Names(rng)
    flats_made: list[Household] = []
    for building, units, floors, flats in LAYOUTS[community.slug]:
        for unit in range(1, units + 1):
            # Flats above one another share a floor plan, so a column of a unit has one area.
            areas = [Decimal(rng.randint(5500, 14000)) / 100 for _ in range(flats)]
            for floor in range(1, floors + 1):
                for flat in range(1, flats + 1):
                    flats_made.append(Household(community_id=community.id, building=building, unit=str(unit),
                                                room=f"{floor}{flat:02d}", floor_area=areas[flat - 1]))
    session.add_all(flats_made)
    session.flush()
    owners: dict[tuple[str, str, str], Person] = {}
    for household in flats_made:
        phone = None
        if rng.random() < 0.75:  # some owners left no number, as in real registers
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        person = Person(name=names(), phone=phone, household_id=household.id)
        owners[(household.building, household.unit, household.room)] = person
    session.add_all(owners.values())
    session.flush()
    owned = {key: {person.id} for key, person in owners.items()}
    if community.slug == "jiaochangkou":
        building, unit = LIFT_STAIRWELL
        for room in DEVELOPER_HELD:
            owned[(building, unit, room)] = set()
        first, second = ((building, unit, room) for room in SECOND_FLAT)
        owned[second] = {owners[first].id}
        spouse = Person(name=CO_OWNER, phone=None, household_id=owners[(building, unit, CO_OWNED)].household_id)
        session.add(spouse)
        session.flush()
        owned[(building, unit, CO_OWNED)].add(spouse.id)
    for household in flats_made:
        key = (household.building, household.unit, household.room)
        household.developer_held = community.slug == "jiaochangkou" and key[:2] == LIFT_STAIRWELL \
            and key[2] in DEVELOPER_HELD
        session.add(household)
        session.add_all(Ownership(household_id=household.id, person_id=pid) for pid in sorted(owned[key]))
    session.flush()
    return owners


def users(session: Session, community: Area, committee: Committee, organisation: Organisation) -> dict[str, User]:
    wanted = {
        "facilitator": dict(display_name=FACILITATOR, role=Role.facilitator, community_id=community.id),
        "committee": dict(display_name=COMMITTEE_MEMBER, role=Role.committee, community_id=community.id,
                          committee_id=committee.id),
        "liaison": dict(display_name=LIAISON, role=Role.liaison, organisation_id=organisation.id),
        "admin": dict(display_name="系统管理员", role=Role.admin),
    }
    users = {}
    for username, password, _role in DEMO_LOGINS:
        # An install may already have an "admin"; the demo keeps it rather than failing.
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = User(username=username, password_hash=hash_password(password), **wanted[username])
            session.add(user)
        users[username] = user
    # The liaison also appears as a person speaking for the city management bureau.
    session.add(Person(name=LIAISON, phone=None, organisation_id=organisation.id))
    session.flush()
    return users

"""Setting a community up: its "3+3" committees and their members, the organisations around the
table and their liaisons, its venue formats, and the standing invitees of its series.

Each operation checks what it is given and raises ``forum.areas.Invalid`` (by field, nothing
written) or changes the session; the caller records the change in the audit log and commits.
Nothing here deletes a row anyone may have acted through: a member who leaves keeps their row with
the day they left, a liaison who stops speaking for an organisation stays a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import Session, col, func, select

from forum.areas import Invalid, check_name, one_line
from forum.i18n import N_
from forum.models import (
    Area,
    AreaKind,
    Committee,
    CommitteeKind,
    CommitteeMember,
    ForumFormat,
    Organisation,
    OrganisationCommunity,
    OrganisationKind,
    Person,
    Series,
    SeriesInvitee,
    now,
)

NAME_MAX = 100
PERSON_MAX = 60
FORMAT_MAX = 60
PHONE_RE = re.compile(r"[0-9+()\- ]{3,40}")

# The names communities use for the "3+3" (COMMITTEE_NAMES holds the interface's labels).
COMMITTEE_NAMES_ZH = {
    CommitteeKind.mediation: "人民调解委员会",
    CommitteeKind.security: "治安保卫委员会",
    CommitteeKind.health: "公共卫生委员会",
    CommitteeKind.livelihood: "民生保障委员会",
    CommitteeKind.culture: "文化体育委员会",
    CommitteeKind.environment: "环境和物业管理委员会",
}


def check_phone(problems: Invalid, phone: str, field_name: str = "phone") -> None:
    if phone and not PHONE_RE.fullmatch(phone):
        problems.add(field_name, N_("A phone number has digits, spaces, + - and brackets, like 023-6380 1234."))


def _person(problems: Invalid, name: str, phone: str) -> tuple[str, str]:
    name, phone = one_line(name, PERSON_MAX), one_line(phone, 40)
    check_name(problems, name, limit=PERSON_MAX)
    check_phone(problems, phone)
    return name, phone


# ---------------------------------------------------------------- committees


def ensure_committees(db: Session, community: Area) -> list[Committee]:
    """The community's "3+3", adding the kinds it lacks; returns those added."""
    if community.kind != AreaKind.community:
        raise Invalid({"committees": (N_("Only a community has committees."), {})})
    have = set(db.exec(select(Committee.kind).where(Committee.community_id == community.id)))
    added = [Committee(community_id=community.id, kind=kind, name=name)
             for kind, name in COMMITTEE_NAMES_ZH.items() if kind not in have]
    db.add_all(added)
    db.flush()
    return added


def rename_committee(db: Session, committee: Committee, name: str) -> str:
    problems = Invalid()
    name = one_line(name, NAME_MAX)
    check_name(problems, name)
    problems.raise_if_any()
    old, committee.name = committee.name, name
    db.add(committee)
    return old


def members(db: Session, committee_id: int, *, current: bool = True) -> list[tuple[CommitteeMember, Person]]:
    statement = (select(CommitteeMember, Person).join(Person, col(Person.id) == CommitteeMember.person_id)
                 .where(CommitteeMember.committee_id == committee_id))
    if current:
        statement = statement.where(col(CommitteeMember.left_at).is_(None))
    return list(db.exec(statement.order_by(col(CommitteeMember.chair).desc(), CommitteeMember.id)))


def add_member(db: Session, committee: Committee, *, name: str, phone: str = "",
               chair: bool = False) -> CommitteeMember:
    """A new person on the committee (a resident leader, a lawyer, a doctor …)."""
    problems = Invalid()
    name, phone = _person(problems, name, phone)
    problems.raise_if_any()
    person = Person(name=name, phone=phone or None)
    db.add(person)
    db.flush()
    member = CommitteeMember(committee_id=committee.id, person_id=person.id)
    db.add(member)
    db.flush()
    if chair:
        make_chair(db, member)
    return member


def make_chair(db: Session, member: CommitteeMember) -> None:
    """One chair per committee: whoever chaired it before is a member again."""
    if member.left_at is not None:
        raise Invalid({"member": (N_("They have left the committee."), {})})
    for other, _person in members(db, member.committee_id):
        if other.chair and other.id != member.id:
            other.chair = False
            db.add(other)
    member.chair = True
    db.add(member)
    db.flush()


def remove_member(db: Session, member: CommitteeMember) -> None:
    if member.left_at is not None:
        raise Invalid({"member": (N_("They have left the committee."), {})})
    member.left_at, member.chair = now(), False
    db.add(member)
    db.flush()


# ---------------------------------------------------------------- organisations


def served(db: Session, organisation_id: int) -> list[int]:
    return list(db.exec(select(OrganisationCommunity.community_id)
                        .where(OrganisationCommunity.organisation_id == organisation_id)))


def _check_organisation(db: Session, problems: Invalid, name: str, kind: str, phone: str,
                        but: int | None = None) -> None:
    check_name(problems, name)
    if "name" not in problems.problems:
        statement = select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
        if but is not None:
            statement = statement.where(Organisation.id != but)
        if db.exec(statement).first() is not None:
            problems.add("name", N_("There is already an organisation called %(name)s."), name=name)
    if kind not in OrganisationKind.__members__:
        problems.add("kind", N_("Choose what kind of organisation it is."))
    check_phone(problems, phone)


def _check_communities(problems: Invalid, communities: Iterable[Area | None]) -> list[Area]:
    chosen = list(communities)
    if any(c is None or c.kind != AreaKind.community or c.archived_at is not None for c in chosen):
        problems.add("communities", N_("Choose communities from the list."))
    return [c for c in chosen if c is not None]


def create_organisation(db: Session, *, name: str, kind: str, phone: str = "",
                        communities: Iterable[Area | None] = ()) -> Organisation:
    problems = Invalid()
    name, phone = one_line(name, NAME_MAX), one_line(phone, 40)
    _check_organisation(db, problems, name, kind, phone)
    chosen = _check_communities(problems, communities)
    problems.raise_if_any()
    organisation = Organisation(name=name, kind=kind, phone=phone or None)
    db.add(organisation)
    db.flush()
    db.add_all(OrganisationCommunity(organisation_id=organisation.id, community_id=c.id)
               for c in {c.id: c for c in chosen}.values())
    db.flush()
    return organisation


def update_organisation(db: Session, organisation: Organisation, *, name: str, kind: str, phone: str,
                        communities: Iterable[Area | None], keep: Iterable[int] = ()) -> list[str]:
    """Name, kind, phone, and the communities served (``keep``: served communities the editor cannot
    see, left as they are). Returns what changed, for the audit log."""
    problems = Invalid()
    name, phone = one_line(name, NAME_MAX), one_line(phone, 40)
    _check_organisation(db, problems, name, kind, phone, but=organisation.id)
    chosen = _check_communities(problems, communities)
    problems.raise_if_any()
    changes = [f"{label}: {old} → {new}" for label, old, new in (
        ("name", organisation.name, name), ("kind", organisation.kind, kind), ("phone", organisation.phone or "",
                                                                              phone)) if old != new]
    organisation.name, organisation.kind, organisation.phone = name, kind, phone or None
    db.add(organisation)
    wanted = {c.id for c in chosen} | set(keep)
    have = set(served(db, organisation.id))
    for community_id in have - wanted:
        db.delete(db.get(OrganisationCommunity, (organisation.id, community_id)))
    db.add_all(OrganisationCommunity(organisation_id=organisation.id, community_id=c) for c in wanted - have)
    if wanted != have:
        changes.append(f"communities: {sorted(have)} → {sorted(wanted)}")
    db.flush()
    return changes


def liaisons(db: Session, organisation_id: int) -> list[Person]:
    return list(db.exec(select(Person).where(Person.organisation_id == organisation_id).order_by(Person.id)))


def add_liaison(db: Session, organisation: Organisation, *, name: str, phone: str = "") -> Person:
    problems = Invalid()
    name, phone = _person(problems, name, phone)
    problems.raise_if_any()
    person = Person(name=name, phone=phone or None, organisation_id=organisation.id)
    db.add(person)
    db.flush()
    return person


def remove_liaison(db: Session, person: Person) -> None:
    """They no longer speak for the organisation; the person (and what they did) stays."""
    person.organisation_id = None
    db.add(person)
    db.flush()


# ---------------------------------------------------------------- venue formats and invitees


def _check_format(db: Session, community_id: int, name: str, but: int | None = None) -> str:
    problems = Invalid()
    name = one_line(name, FORMAT_MAX)
    check_name(problems, name, limit=FORMAT_MAX)
    if "name" not in problems.problems:
        statement = select(ForumFormat.id).where(ForumFormat.community_id == community_id, ForumFormat.name == name)
        if but is not None:
            statement = statement.where(ForumFormat.id != but)
        if db.exec(statement).first() is not None:
            problems.add("name", N_("This community has a format called %(name)s already."), name=name)
    problems.raise_if_any()
    return name


def add_format(db: Session, community: Area, name: str) -> ForumFormat:
    """A named venue format of the community: 幸福圆桌会, 民乐议事厅, 书记院坝会 …"""
    if community.kind != AreaKind.community:
        raise Invalid({"name": (N_("Only a community has venue formats."), {})})
    forum_format = ForumFormat(community_id=community.id, name=_check_format(db, community.id, name))
    db.add(forum_format)
    db.flush()
    return forum_format


def rename_format(db: Session, forum_format: ForumFormat, name: str) -> str:
    name = _check_format(db, forum_format.community_id, name, but=forum_format.id)
    old, forum_format.name = forum_format.name, name
    db.add(forum_format)
    db.flush()
    return old


def add_invitee(db: Session, series: Series, *, organisation: Organisation | None = None,
                committee: Committee | None = None) -> SeriesInvitee:
    """A standing invitee of the series: an organisation, or one of its community's committees."""
    problems = Invalid()
    if (organisation is None) == (committee is None):
        problems.add("invitee", N_("Choose one organisation or one committee."))
    elif committee is not None and committee.community_id != series.community_id:
        problems.add("invitee", N_("Choose one of this community's committees."))
    else:
        existing = select(SeriesInvitee.id).where(SeriesInvitee.series_id == series.id)
        existing = existing.where(SeriesInvitee.organisation_id == organisation.id) if organisation else \
            existing.where(SeriesInvitee.committee_id == committee.id)  # type: ignore[union-attr]
        if db.exec(existing).first() is not None:
            problems.add("invitee", N_("They are invited already."))
    problems.raise_if_any()
    invitee = SeriesInvitee(series_id=series.id, organisation_id=organisation.id if organisation else None,
                            committee_id=committee.id if committee else None)
    db.add(invitee)
    db.flush()
    return invitee

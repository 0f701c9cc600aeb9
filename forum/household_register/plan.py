"""Planning an import of the household register, and writing it in one transaction.

Owners are people: one line per owner of a unit, so a unit with co-owners has several lines
(with the same floor area), and one person who owns several units appears on each of them. The
same name with the same phone is the same person across units; a name without a phone is only
known within its unit (two 王建国 without numbers in different stairwells are not assumed to be
one person). A unit the developer still holds (unsold, or sold but not delivered) is marked in the
optional developer column and needs no owner. Owners' votes count these owners as the law counts
them (``forum.electorate``).

``plan_import`` works out what a file would change, writing nothing, so the office sees a preview.
``apply_plan`` writes a plan in the caller's transaction: all or nothing, since a half-imported
register would silently skew owners' votes, which are counted by household and by floor area.
Large imports go through ``forum.household_register.journal`` instead. Importing the same file
twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, func, select

from forum.household_register.file import HouseholdRow, ImportRefused, check_units
from forum.models import Area, AreaKind, Household, ImportJob, Ownership, Person


@dataclass(frozen=True)
class ImportResult:
    """``created``: households new to the community; ``updated``: existing ones the file covered."""

    created: int
    updated: int


def mask_phone(phone: str | None) -> str:
    """A phone as shown on screens: 138****5678. The register keeps the whole number."""
    if not phone:
        return ""
    if len(phone) >= 8:
        return f"{phone[:3]}****{phone[-4:]}"
    return phone[:1] + "*" * (len(phone) - 2) + phone[-1:]


@dataclass
class _FilePerson:
    """An owner as the file names them: by name and phone, or by name within one unit."""

    name: str
    phone: str | None
    line: int
    units: list[tuple[str, str, str]] = field(default_factory=list)
    person: Person | None = None  # an existing person, or None for a new one


@dataclass
class _PlannedUnit:
    key: tuple[str, str, str]
    floor_area: Decimal
    developer_held: bool
    owners: list[_FilePerson]
    household: Household | None  # None: a new unit


@dataclass
class Plan:
    """What an import would change, worked out without writing anything.

    Each change list holds tuples ready to show (the rooms as "5-2-301", phones masked).
    """

    community_id: int
    units: list[_PlannedUnit]
    people: list[_FilePerson]
    current_owners: dict[int, set[int]]
    created: int = 0
    updated: int = 0
    new_units: list[tuple[str, str, bool]] = field(default_factory=list)
    area_changes: list[tuple[str, str, str]] = field(default_factory=list)
    developer_changes: list[tuple[str, bool]] = field(default_factory=list)
    owners_added: list[tuple[str, str, str]] = field(default_factory=list)
    owners_removed: list[tuple[str, str, str]] = field(default_factory=list)
    phone_changes: list[tuple[str, str, str]] = field(default_factory=list)
    new_people: int = 0
    several_units: list[tuple[str, str, int]] = field(default_factory=list)
    # What the masked lists leave out (whole phone numbers, which people), for ``digest``.
    exact: list[tuple] = field(default_factory=list)
    # The newest import applied when the plan was made: one applied since makes it stale (``_start_job``).
    last_job: int = 0

    @property
    def changes(self) -> int:
        return (len(self.new_units) + len(self.area_changes) + len(self.developer_changes)
                + len(self.owners_added) + len(self.owners_removed) + len(self.phone_changes))

    def digest(self) -> str:
        """A fingerprint of the changes, so "apply" applies what the preview showed, or nothing."""
        what = [self.community_id, self.new_units, self.area_changes, self.developer_changes, self.owners_added,
                self.owners_removed, self.phone_changes, self.new_people, self.exact]
        return hashlib.sha256(json.dumps(what, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


def _label(key: tuple[str, str, str]) -> str:
    return "-".join(key)


def _area(value: Decimal | None) -> str:
    return f"{value:.2f}" if isinstance(value, Decimal) else str(value)


def plan_import(session: Session, community_id: int, rows: Sequence[HouseholdRow]) -> Plan:
    """Work out what importing ``rows`` would change; reads only.

    Owners are matched to people already on the register so that importing the same file again
    changes nothing: first the same name and phone anywhere in the community, then the same name
    among the unit's owners and residents (a new phone number is then that person's new number).
    """
    community = session.get(Area, community_id)
    if community is None or community.kind != AreaKind.community:
        raise ValueError(f"no community with id {community_id}")
    # Rows that did not come through ``parse`` are checked for what would make the result depend
    # on their order.
    problems = check_units(rows)
    if problems:
        raise ImportRefused(problems)

    existing, owned, people = _current_register(session, community_id)
    units, file_people = _group_rows(rows, existing)
    _match_people(file_people, existing, owned, people)

    plan = Plan(community_id, list(units.values()), list(file_people.values()), owned)
    plan.last_job = session.exec(select(func.coalesce(func.max(ImportJob.id), 0))
                                 .where(ImportJob.status == "applied")).one()
    # People before units: ``exact`` (and so the digest) lists them in this order.
    _describe_people(plan)
    _describe_units(session, plan, people)
    return plan


def _current_register(session: Session, community_id: int) -> tuple[
        dict[tuple[str, str, str], Household], dict[int, set[int]], dict[int, Person]]:
    """The community's units by (building, unit, room), their owners' ids, and those owners and
    residents by id."""
    existing = {(h.building, h.unit, h.room): h
                for h in session.exec(select(Household).where(Household.community_id == community_id)).all()}
    ids = [h.id for h in existing.values()]
    owned: dict[int, set[int]] = {}
    people: dict[int, Person] = {}
    if ids:
        for o in session.exec(select(Ownership).where(Ownership.household_id.in_(ids))).all():
            owned.setdefault(o.household_id, set()).add(o.person_id)
        wanted = sorted({pid for owners in owned.values() for pid in owners})
        for person in session.exec(select(Person).where(Person.household_id.in_(ids) | Person.id.in_(wanted))):
            people[person.id] = person
    return existing, owned, people


def _group_rows(rows: Sequence[HouseholdRow], existing: dict[tuple[str, str, str], Household]) -> tuple[
        dict[tuple[str, str, str], _PlannedUnit], dict[tuple, _FilePerson]]:
    """The file's units, each with its owners, and the owners as the file names them."""
    units: dict[tuple[str, str, str], _PlannedUnit] = {}
    file_people: dict[tuple, _FilePerson] = {}
    for row in rows:
        planned = units.get(row.key)
        if planned is None:
            planned = units[row.key] = _PlannedUnit(row.key, row.floor_area, row.developer_held, [],
                                                    existing.get(row.key))
        if not row.owner:
            continue
        # The same name and phone is one person across units; a name alone only within its unit.
        key = ("phone", row.owner, row.phone) if row.phone else ("unit", row.owner, row.key)
        person = file_people.get(key)
        if person is None:
            person = file_people[key] = _FilePerson(row.owner, row.phone, row.line)
        person.units.append(row.key)
        planned.owners.append(person)
    return units, file_people


def _match_people(file_people: dict[tuple, _FilePerson], existing: dict[tuple[str, str, str], Household],
                  owned: dict[int, set[int]], people: dict[int, Person]) -> None:
    """Set each file owner's ``person`` to the one on the register they are, if any; each register
    person is matched once, in the order of the file's lines."""
    named: dict[str, list[Person]] = {}
    for person in people.values():
        named.setdefault(person.name, []).append(person)
    claimed: set[int] = set()
    for fp in sorted(file_people.values(), key=lambda p: p.line):
        match = _match(fp, named.get(fp.name, ()), existing, owned, claimed)
        if match is not None:
            claimed.add(match)
            fp.person = people[match]


def _match(fp: _FilePerson, namesakes: Sequence[Person], existing: dict[tuple[str, str, str], Household],
           owned: dict[int, set[int]], claimed: set[int]) -> int | None:
    match = None
    if fp.phone:
        match = min((p.id for p in namesakes if p.phone == fp.phone and p.id not in claimed), default=None)
    if match is None:
        for key in fp.units:
            household = existing.get(key)
            if household is None:
                continue
            near = [p for p in namesakes if p.id not in claimed
                    and (p.id in owned.get(household.id, ()) or p.household_id == household.id)]
            # An owner of the unit before a resident of it, then the oldest entry.
            near.sort(key=lambda p: (p.id not in owned.get(household.id, ()), p.id))
            if near:
                match = near[0].id
                break
    return match


def _describe_people(plan: Plan) -> None:
    for fp in plan.people:
        if fp.person is None:
            plan.new_people += 1
        elif fp.phone and fp.person.phone != fp.phone:
            plan.phone_changes.append((fp.name, mask_phone(fp.person.phone), mask_phone(fp.phone)))
        plan.exact.append((fp.line, fp.person.id if fp.person else None, fp.person.phone if fp.person else None,
                           fp.phone))
        if len(fp.units) > 1:
            plan.several_units.append((fp.name, mask_phone(fp.phone), len(fp.units)))


def _describe_units(session: Session, plan: Plan, people: dict[int, Person]) -> None:
    owned = plan.current_owners
    for unit in plan.units:
        label = _label(unit.key)
        if unit.household is None:
            plan.created += 1
            plan.new_units.append((label, _area(unit.floor_area), unit.developer_held))
            for fp in unit.owners:
                plan.owners_added.append((label, fp.name, mask_phone(fp.phone)))
            continue
        plan.updated += 1
        h = unit.household
        if h.floor_area != unit.floor_area:
            plan.area_changes.append((label, _area(h.floor_area), _area(unit.floor_area)))
        if h.developer_held != unit.developer_held:
            plan.developer_changes.append((label, unit.developer_held))
        before = owned.get(h.id, set())
        after = {fp.person.id for fp in unit.owners if fp.person is not None}
        for fp in unit.owners:
            if fp.person is None or fp.person.id not in before:
                plan.owners_added.append((label, fp.name, mask_phone(fp.phone)))
        # Whoever the register no longer names (the unit was sold) stays on file, no longer its owner.
        plan.exact.append((label, sorted(before), sorted(after)))
        for pid in sorted(before - after):
            gone = people.get(pid) or session.get(Person, pid)
            plan.owners_removed.append((label, gone.name, mask_phone(gone.phone)))


def apply_plan(session: Session, plan: Plan) -> ImportResult:
    """Write a plan (flushed; the caller commits, or rolls back and nothing is written)."""
    for fp in plan.people:
        if fp.person is None:
            fp.person = Person(name=fp.name, phone=fp.phone)
            session.add(fp.person)
        elif fp.phone and fp.person.phone != fp.phone:
            # A file without a phone says nothing about it: only a given number replaces one.
            fp.person.phone = fp.phone
            session.add(fp.person)
    for unit in plan.units:
        household = unit.household
        if household is None:
            building, unit_no, room = unit.key
            household = unit.household = Household(community_id=plan.community_id, building=building, unit=unit_no,
                                                    room=room, floor_area=unit.floor_area,
                                                    developer_held=unit.developer_held)
            session.add(household)
        elif household.floor_area != unit.floor_area or household.developer_held != unit.developer_held:
            household.floor_area, household.developer_held = unit.floor_area, unit.developer_held
            session.add(household)
    session.flush()  # ids for the new units and people
    for unit in plan.units:
        household = unit.household
        assert household is not None and household.id is not None
        before = plan.current_owners.get(household.id, set())
        after = {fp.person.id for fp in unit.owners if fp.person is not None}
        for pid in sorted(after - before):
            session.add(Ownership(household_id=household.id, person_id=pid))
        for pid in sorted(before - after):
            old = session.get(Ownership, (household.id, pid))
            if old is not None:
                session.delete(old)
    session.flush()
    return ImportResult(created=plan.created, updated=plan.updated)


def import_rows(session: Session, community_id: int, rows: Sequence[HouseholdRow]) -> ImportResult:
    """Upsert units by (community, building, unit, room) and set their owners; the caller commits.

    Nothing is committed here: on any exception the caller's rollback leaves the database as it
    was, so a register is imported whole or not at all.
    """
    return apply_plan(session, plan_import(session, community_id, rows))

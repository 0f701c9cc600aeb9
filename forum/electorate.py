"""Who may vote, and under which key: the electorate of a vote, owners counted as the law counts them.

An owners' vote (the art. 278 rules, and any vote with one ballot per household of a building,
unit or community) is counted by **owners**, not by rows of the register. The Supreme People's
Court's interpretation on building ownership (最高人民法院关于审理建筑物区分所有权纠纷案件适用法律
若干问题的解释) says:

* art. 8 — the area is each exclusive unit's (专有部分) registered area, summed per owner;
* art. 9 — the number of owners is the number of exclusive units, one unit one owner, **except**
  that the developer's unsold or sold-but-undelivered units count as one owner, and one buyer
  who owns more than one unit counts as one owner.

:func:`owners_of` turns the units of a scope into that list of owners. It is pure (units in,
owners out) and decides:

1. **Developer-held units** (``Household.developer_held``) together are one owner, key ``dev``,
   with their total area — whatever owners are recorded on them: a buyer whose unit is not yet
   delivered is not yet its owner (art. 9 counts it with the developer), so it links nobody.
2. **Other units are joined when they share an owner**, and the joining is transitive: the
   units of one owner are one owner (art. 9: one buyer of several units is one), and a co-owned
   unit counts once (its co-owners are one owner of it). So if A and B co-own unit 1 and A alone
   owns unit 2, units 1 and 2 are **one** owner, cast by any of A or B: unit 1 is one of A's
   units as much as unit 2 is, and art. 9 counts all of A's units as one. Counting 1 and 2
   apart would put two heads in A's hands — one as sole owner of 2, one as a co-owner who may
   cast unit 1's ballot — which is what the exception exists to prevent. It also gives every
   person exactly one elector, so "which ballot is this person's" always has one answer
   (:func:`key_for_person`). The price is that B votes together with A's other unit; the
   alternative reading (join only units with the very same set of owners) leaves A two hands.
3. **A unit with no recorded owner** counts as its own owner (art. 9's rule: one unit, one).
4. Each owner has head weight 1 and the sum of its units' areas. An owner whose units include
   one with no area gets area 0, so the vote is refused before it opens, naming those units,
   rather than weighed on part of the owner's area.

Keys: ``h<household id>`` for an owner of one unit (as before this rule, so single units keep
their keys), ``p<smallest person id>`` for an owner of several, ``dev`` for the developer.
Each unit's key is stored in ``VoteElectorUnit`` when the vote opens, so that a late change of
the register does not move ballots between owners in the middle of a vote.

Votes of those present (scope ``attendance``) are built from check-ins; a vote with one ballot
per *person* of a building, unit or community gives one ballot to each person who owns a
(non-developer) unit there, once however many units they own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from forum import verification
from forum.i18n import N_, gettext
from forum.models import (
    Attendance,
    Household,
    Ownership,
    Person,
    Vote,
    VoteElector,
    VoteElectorUnit,
    VoteStatus,
)

SAME_OWNER = "same_owner"
CO_OWNERS = "co_owners"
DEVELOPER = "developer"
REASONS = {
    SAME_OWNER: N_("one owner of several units counts once"),
    CO_OWNERS: N_("the co-owners of a unit count once"),
    DEVELOPER: N_("the developer's unsold or undelivered units count as one owner"),
}
DEVELOPER_KEY = "dev"
LABEL_MAX = 120


# ---------------------------------------------------------------- the rule, pure


@dataclass(frozen=True)
class Unit:
    """One exclusive unit of the scope: its household id, label, area in hundredths of a m², owners."""

    id: int
    label: str
    area_centi: int | None
    owners: frozenset[int] = frozenset()
    developer_held: bool = False


@dataclass(frozen=True)
class Owner:
    """One owner as art. 9 counts them: one head, the units it stands for, and why they are one."""

    key: str
    units: tuple[Unit, ...]
    people: frozenset[int]
    reasons: tuple[str, ...]

    @property
    def area_centi(self) -> int:
        """The sum of the units' areas; 0 when any unit has none (refused before the vote opens)."""
        if any(not u.area_centi or u.area_centi <= 0 for u in self.units):
            return 0
        return sum(u.area_centi for u in self.units)  # type: ignore[misc]

    @property
    def rooms(self) -> str:
        return rooms_label([u.label for u in self.units])


def owners_of(units: Sequence[Unit]) -> list[Owner]:
    """The owners of a scope's units (see the module's rules), in the order of their first unit."""
    by_id = {u.id: u for u in units}
    if len(by_id) != len(units):
        raise ValueError("a unit is listed twice")
    developer = [u for u in units if u.developer_held]
    others = [u for u in units if not u.developer_held]
    # Union-find over units: two units are one owner when a person owns both.
    parent = {u.id: u.id for u in others}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_unit_of: dict[int, int] = {}
    for u in others:
        for person in sorted(u.owners):
            if person in first_unit_of:
                a, b = root(first_unit_of[person]), root(u.id)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                first_unit_of[person] = u.id
    groups: dict[int, list[Unit]] = {}
    for u in others:
        groups.setdefault(root(u.id), []).append(u)
    position = {u.id: i for i, u in enumerate(units)}
    out: list[tuple[int, Owner]] = []
    for members in groups.values():
        people = frozenset().union(*(u.owners for u in members))
        reasons = []
        if len(members) > 1:
            reasons.append(SAME_OWNER)
        if any(len(u.owners) > 1 for u in members):
            reasons.append(CO_OWNERS)
        key = f"h{members[0].id}" if len(members) == 1 else f"p{min(people)}"
        out.append((position[members[0].id], Owner(key, tuple(members), people, tuple(reasons))))
    if developer:
        out.append((position[developer[0].id], Owner(DEVELOPER_KEY, tuple(developer), frozenset(), (DEVELOPER,))))
    return [owner for _pos, owner in sorted(out, key=lambda pair: pair[0])]


def rooms_label(labels: Sequence[str], limit: int = LABEL_MAX) -> str:
    """"5-2-301、5-2-302"; a long list is cut and says how many more it holds."""
    text = "、".join(labels)
    if len(text) <= limit:
        return text
    shown: list[str] = []
    for label in labels:
        rest = len(labels) - len(shown) - 1
        if len("、".join([*shown, label])) + len(f"… +{rest}") > limit:
            break
        shown.append(label)
    return "、".join(shown) + f"… +{len(labels) - len(shown)}"


# ---------------------------------------------------------------- from the database


def room_label(h: Household) -> str:
    return f"{h.building}-{h.unit}-{h.room}"


def _centi(area: Decimal | None) -> int | None:
    return None if area is None else int((Decimal(area) * 100).to_integral_value())


def _households_in_scope(db: Session, vote: Vote) -> list[Household]:
    q = select(Household).where(Household.community_id == vote.community_id)
    if vote.scope in ("building", "unit"):
        q = q.where(Household.building == vote.scope_building)
    if vote.scope == "unit":
        q = q.where(Household.unit == vote.scope_unit)
    return list(db.exec(q.order_by(Household.building, Household.unit, Household.room)))


def ownerships(db: Session, household_ids: Iterable[int]) -> dict[int, set[int]]:
    """Person ids owning each household."""
    ids = sorted(set(household_ids))
    out: dict[int, set[int]] = {}
    if ids:
        for o in db.exec(select(Ownership).where(col(Ownership.household_id).in_(ids))):
            out.setdefault(o.household_id, set()).add(o.person_id)
    return out


def owns_any(db: Session, person_id: int | None) -> bool:
    return bool(person_id) and db.exec(select(Ownership).where(Ownership.person_id == person_id)).first() is not None


def counts_owners(vote: Vote) -> bool:
    """Whether the vote's electorate is the scope's owners (one ballot per owner, art. 9)."""
    return vote.counting_unit == "household" and vote.scope != "attendance"


def build(db: Session, vote: Vote) -> tuple[list[VoteElector], list[VoteElectorUnit]]:
    """The eligible voters of a vote as things stand now, and the key each unit of the scope is
    counted under (owners' votes only). ``votes.open_vote`` fixes both."""
    if vote.scope == "attendance":
        out: dict[str, VoteElector] = {}
        rows = db.exec(select(Attendance).where(Attendance.meeting_id == vote.meeting_id)
                       .order_by(Attendance.id)).all()
        for a in rows:
            if not verification.counts_present(vote, a):
                continue  # a self-checked-in guest, until the facilitator admits them
            elector = elector_for_attendance(db, vote, a)
            if elector is not None:
                out.setdefault(elector.voter_key, elector)
        return list(out.values()), []
    households = _households_in_scope(db, vote)
    owned = ownerships(db, [h.id for h in households])
    if vote.counting_unit == "household":
        units = [Unit(h.id, room_label(h), _centi(h.floor_area), frozenset(owned.get(h.id, ())), h.developer_held)
                 for h in households]
        electors, links = [], []
        for o in owners_of(units):
            label = o.rooms if o.key != DEVELOPER_KEY else f"{gettext('Developer')}：{o.rooms}"
            electors.append(VoteElector(
                vote_id=vote.id, voter_key=o.key, label=label[:LABEL_MAX], heads=1, area_centi=o.area_centi,
                owner=True, person_id=next(iter(o.people)) if len(o.people) == 1 else None,
                household_id=o.units[0].id if len(o.units) == 1 else None, units=len(o.units),
                merged=",".join(o.reasons)))
            links += [VoteElectorUnit(vote_id=vote.id, household_id=u.id, voter_key=o.key) for u in o.units]
        return electors, links
    # One ballot per person: each person owning a unit here, once.
    rooms: dict[int, list[str]] = {}
    for h in households:
        if not h.developer_held:
            for person_id in sorted(owned.get(h.id, ())):
                rooms.setdefault(person_id, []).append(room_label(h))
    people = {p.id: p for p in db.exec(select(Person).where(col(Person.id).in_(sorted(rooms))))} if rooms else {}
    return [VoteElector(vote_id=vote.id, voter_key=f"p{pid}", label=f"{people[pid].name}（{rooms_label(r, 80)}）",
                        heads=1, owner=True, person_id=pid, units=len(r))
            for pid, r in sorted(rooms.items())], []


def compute_electorate(db: Session, vote: Vote) -> list[VoteElector]:
    """The eligible voters of a vote as things stand now (fixed into VoteElector when it opens)."""
    return build(db, vote)[0]


def _household_id(db: Session, a: Attendance) -> int | None:
    if a.household_id is not None or not a.person_id:
        return a.household_id
    return getattr(db.get(Person, a.person_id), "household_id", None)


def key_for_household(db: Session, vote: Vote, household_id: int | None) -> str | None:
    """The key the owner of this household casts under in this vote, or None when it has none."""
    if not household_id or vote.counting_unit != "household":
        return None
    if vote.scope == "attendance":
        return f"h{household_id}"
    if vote.status == VoteStatus.draft:
        return next((link.voter_key for link in build(db, vote)[1] if link.household_id == household_id), None)
    link = db.get(VoteElectorUnit, (vote.id, household_id))
    if link is not None:
        return link.voter_key
    # A vote opened before units were recorded per elector counted each household alone.
    legacy = db.get(VoteElector, (vote.id, f"h{household_id}"))
    return legacy.voter_key if legacy is not None else None


def key_for_person(db: Session, vote: Vote, person_id: int | None) -> str | None:
    """The key this person casts under in this vote, or None when they have no ballot in it.

    Owners' votes: the owner their units are counted as (never the developer's, whatever the
    register records on a developer-held unit). One ballot per person of a scope: their own, if
    they own a unit there. Votes of those present: the key they vote under once checked in (their
    own, or their household's).
    """
    if not person_id:
        return None
    if vote.scope == "attendance":
        if vote.counting_unit != "household":
            return f"p{person_id}"
        person = db.get(Person, person_id)
        return f"h{person.household_id}" if person is not None and person.household_id else None
    if vote.counting_unit != "household":
        key = f"p{person_id}"
        if vote.status == VoteStatus.draft:
            return key if any(e.voter_key == key for e in build(db, vote)[0]) else None
        return key if db.get(VoteElector, (vote.id, key)) is not None else None
    owned = set(db.exec(select(Ownership.household_id).where(Ownership.person_id == person_id)))
    if not owned:
        return None
    if vote.status == VoteStatus.draft:
        keys = {link.voter_key for link in build(db, vote)[1] if link.household_id in owned}
    else:
        keys = set(db.exec(select(VoteElectorUnit.voter_key).where(
            VoteElectorUnit.vote_id == vote.id, col(VoteElectorUnit.household_id).in_(sorted(owned)))))
        if not keys:  # a vote opened before units were recorded per elector
            keys = {e.voter_key for e in db.exec(select(VoteElector).where(
                VoteElector.vote_id == vote.id, col(VoteElector.voter_key).in_([f"h{i}" for i in sorted(owned)])))}
    keys.discard(DEVELOPER_KEY)
    # One elector by construction; two only if the register changed after the vote opened.
    return min(keys) if keys else None


def voter_key_for(db: Session, vote: Vote, a: Attendance) -> str | None:
    """The key an attendance casts under in this vote (its person, its guest check-in, or the owner
    of its household), or None when it has no ballot of its own. On the path of every ballot, so
    it builds no elector once the vote is open."""
    # A person typed on a tablet is not taken at its word: only a check-in that staff or a
    # verification vouched for votes as the registered person; any other votes as itself.
    person_id = a.person_id if verification.vouched(a) else None
    if vote.counting_unit == "household":
        if vote.scope != "attendance" and person_id:
            key = key_for_person(db, vote, person_id)
            if key is not None:
                return key
        return key_for_household(db, vote, _household_id(db, a))
    return f"p{person_id}" if person_id else f"a{a.id}"


def elector_for_attendance(db: Session, vote: Vote, a: Attendance) -> VoteElector | None:
    """Who an attendance votes as in a vote of those present, under the key ``voter_key_for`` gives."""
    key = voter_key_for(db, vote, a)
    if key is None:
        return None
    household_id = _household_id(db, a)
    if vote.counting_unit == "household":
        h = db.get(Household, household_id)
        return VoteElector(vote_id=vote.id, voter_key=key, label=room_label(h), heads=1,
                           area_centi=_centi(h.floor_area), owner=True, household_id=h.id)
    where = f"（{a.building}-{a.unit}-{a.room}）" if a.room else ""
    person_id = int(key[1:]) if key.startswith("p") else None  # only a vouched-for person
    return VoteElector(vote_id=vote.id, voter_key=key, label=f"{a.name}{where}", heads=1,
                       owner=owns_any(db, person_id), person_id=person_id, household_id=household_id)


# ---------------------------------------------------------------- what the result page says


@dataclass(frozen=True)
class Merge:
    """Units counted as one owner, and why (``REASONS`` keys)."""

    rooms: str
    units: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ScopeSummary:
    units: int
    owners: int
    merges: tuple[Merge, ...]


def scope_summary(db: Session, vote: Vote) -> ScopeSummary | None:
    """How many units and owners an owners' vote's scope has, and which units were counted as one."""
    if not counts_owners(vote):
        return None
    if vote.status == VoteStatus.draft:
        electors, links = build(db, vote)
        owners, units = len(electors), sum(e.units for e in electors)
        merged = [e for e in electors if e.merged]
    else:
        owners, units = db.exec(select(func.count(), func.coalesce(func.sum(VoteElector.units), 0))
                                .where(VoteElector.vote_id == vote.id)).one()
        merged = list(db.exec(select(VoteElector).where(VoteElector.vote_id == vote.id, VoteElector.merged != "")))
        links = list(db.exec(select(VoteElectorUnit).where(
            VoteElectorUnit.vote_id == vote.id,
            col(VoteElectorUnit.voter_key).in_(sorted(e.voter_key for e in merged))))) if merged else []
    key_of = {link.household_id: link.voter_key for link in links if link.voter_key in {e.voter_key for e in merged}}
    rooms: dict[str, list[str]] = {}
    if key_of:
        for h in db.exec(select(Household).where(col(Household.id).in_(sorted(key_of)))
                         .order_by(Household.building, Household.unit, Household.room)):
            rooms.setdefault(key_of[h.id], []).append(room_label(h))
    merges = sorted((Merge(rooms_label(rooms.get(e.voter_key, [e.label])), e.units, tuple(e.merged.split(",")))
                     for e in merged), key=lambda m: m.rooms)
    return ScopeSummary(units=int(units), owners=int(owners), merges=tuple(merges))

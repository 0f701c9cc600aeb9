"""A district-year of data: 渝中区's 11 streets and 79 communities, their "3+3" committees, the
organisations around the tables, a year of weekly talks, monthly coordinations and quarterly
reviews (~5,400 meetings, ~56,000 participations) and ~4,500 issues walked through their
lifecycle with decisions, follow-up actions and quarterly ratings, all ending at ``today``.

``build_district(engine, seed=..., scale=..., today=..., progress=...)`` is what ``forum demo
--size district`` and the page benchmark call. The same seed and the same day give the same rows;
``scale`` shrinks the district (communities, streets, and so everything they hold) so a test can
build a small one in a second.

Speed: rows are made as plain dicts with ids assigned here, then written with SQLAlchemy Core
``insert`` over lists (executemany) in one transaction: no ORM object per row. (Ids follow
those already in the database, and the demo password's hash is salted: those aside, the rows
are the same each time.) Steps are checked
against the pure lifecycle (forum.lifecycle.apply) as they are generated, so the data keeps the
invariants the app's own code keeps.

    district_data      the pools: streets, community names, organisations, what residents raise
    district_meetings  the series, the meetings held (with skipped weeks) and who came
    district_issues    each issue's life: raised, accepted, on agendas, decided, actions, reviews
    district_votes     owners' votes at the coordinations and rating votes at the reviews, held
                       (after the rows are written) through the app's own set-up, ballots and count
"""

from __future__ import annotations

import random
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import Connection, Engine, func, select, text
from sqlmodel import Session, SQLModel

from forum.administration import COMMITTEE_NAMES_ZH
from forum.auth import hash_password
from forum.demo import district_issues, district_meetings, district_votes
from forum.demo.data import DEMO_PASSWORD, FORUM_FORMATS, GIVEN_NAMES, MOBILE_PREFIXES, SURNAMES
from forum.demo.district_data import (
    COMMUNITY_COUNT,
    ENDINGS,
    ORGANISATION_KINDS,
    PLACE_WORDS,
    POLICE_STATION,
    STREETS,
)
from forum.models import AreaKind, OrganisationKind, Role

DISTRICT = ("渝中区", "yuzhong")
# Tables in the order their rows are written (each after those it points at).
ORDER = ["area", "organisation", "household", "person", "ownership", "committee", "user", "committeemember",
         "organisationcommunity", "forumformat", "series", "seriesinvitee", "meeting", "issue", "agendaentry",
         "issueevent", "attendance", "speakingrequest", "comment", "action", "actionnote", "rating"]
BATCH = 5000
RESIDENTS = 48  # the residents of a community who come to meetings (of its 8,000–10,000)
# The stages progress is reported in, and about how much of the time each takes (for one bar).
STAGES = {"places": 0.05, "meetings": 0.12, "issues": 0.25, "writing": 0.4, "votes": 0.18}

Progress = Callable[[str, int, int], None]  # (stage, done, of) after each piece of a stage


@dataclass
class DistrictSummary:
    """What was built: the district's slug, how many rows of each table, how long it took."""

    district: str
    streets: int
    communities: int  # made here (the small demo's two, when there, count towards their street)
    communities_in_district: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    created: bool = True


class Rows:
    """The rows to write, by table, with ids assigned after those already in the database."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.tables: dict[str, list[dict]] = {name: [] for name in ORDER}
        self.next_id: dict[str, int] = {}

    def add(self, table: str, **row) -> int | None:
        columns = SQLModel.metadata.tables[table].c
        if "id" in columns:
            if table not in self.next_id:
                top = self.connection.execute(select(func.max(columns.id))).scalar()
                self.next_id[table] = (top or 0) + 1
            row["id"] = self.next_id[table]
            self.next_id[table] += 1
        self.tables[table].append(row)
        return row.get("id")

    def row(self, table: str, **row) -> dict:
        """Add a row and return it, for a generator that fills in more of it later."""
        self.add(table, **row)
        return self.tables[table][-1]

    def write(self, progress: Progress) -> dict[str, int]:
        total = sum(len(r) for r in self.tables.values())
        done = 0
        for name in ORDER:
            rows = _complete(name, self.tables[name])
            table = SQLModel.metadata.tables[name]
            for start in range(0, len(rows), BATCH):
                chunk = rows[start:start + BATCH]
                self.connection.execute(table.insert(), chunk)
                done += len(chunk)
                progress("writing", done, total)
        if self.connection.dialect.name == "postgresql":
            # Ids were given, so the sequences behind them did not move: set each past its
            # table's rows, or the app's next insert would take an id already used.
            for name in ORDER:
                if self.tables[name] and "id" in SQLModel.metadata.tables[name].c:
                    self.connection.execute(text(
                        f"select setval(pg_get_serial_sequence('\"{name}\"', 'id'), (select max(id) from \"{name}\"))"))
        return {name: len(rows) for name, rows in self.tables.items()}


def _complete(name: str, rows: list[dict]) -> list[dict]:
    """Every row with every column (executemany takes the first row's keys for all): a column
    left out gets its plain default, or NULL; one whose default is the clock must be given."""
    if not rows:
        return rows
    table = SQLModel.metadata.tables[name]
    shapes = {frozenset(row) for row in rows}
    unknown = frozenset.union(*shapes) - set(table.columns.keys())
    if unknown:  # executemany would drop them without a word
        raise ValueError(f"{name} has no column {', '.join(sorted(unknown))}")
    everywhere = frozenset.intersection(*shapes)
    fill = {}
    for column in table.columns:
        if column.name not in everywhere:
            default = column.default.arg if column.default is not None else None
            if callable(default) or (default is None and not column.nullable and column.server_default is None):
                raise ValueError(f"{name}.{column.name} must be given")
            fill[column.name] = default
    return [{**fill, **row} for row in rows] if fill else rows


@dataclass
class Community:
    """One community as the generators need it: ids of what it has, and the people who come."""

    id: int
    name: str
    slug: str
    street: int
    committees: dict[str, int]  # CommitteeKind → id
    formats: list[int]
    facilitator: tuple[int, str]  # user id, display name
    residents: list[dict]  # person id, household id, name, building, unit, room
    property_company: int
    police: int
    rng: random.Random
    skip_rate: float = 0.0  # how often its weekly talk is not held


def _names(rng: random.Random, used: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        if name not in used:
            used.add(name)
            return name


def street_plan(scale: float) -> list[tuple[str, str, int]]:
    """The streets built and how many communities each gets: ``scale`` of the 79, at least one,
    shared out across the first streets in proportion to their real sizes."""
    n = max(1, round(COMMUNITY_COUNT * scale))
    streets = STREETS[:max(1, min(len(STREETS), round(len(STREETS) * scale)))]
    weights = [size for _name, _slug, size in streets]
    plan = [(name, slug, max(1, round(n * w / sum(weights))))
            for (name, slug, _), w in zip(streets, weights, strict=True)]
    while sum(k for *_, k in plan) > n and any(k > 1 for *_, k in plan):
        i = max(range(len(plan)), key=lambda j: plan[j][2])
        plan[i] = (*plan[i][:2], plan[i][2] - 1)
    while sum(k for *_, k in plan) < n:
        i = min(range(len(plan)), key=lambda j: plan[j][2])
        plan[i] = (*plan[i][:2], plan[i][2] + 1)
    return plan


class Places:
    """The area tree, organisations and their liaisons, committees and members, residents, sign-ins."""

    def __init__(self, rows: Rows, rng: random.Random, scale: float) -> None:
        self.rows, self.rng = rows, rng
        self.password_hash = hash_password(DEMO_PASSWORD)  # once: every demo sign-in shares it
        self.plan = street_plan(scale)
        self.organisations: dict[str, tuple[int, str]] = {}  # name → (id, kind)
        self.liaisons: dict[int, str] = {}  # organisation id → a liaison's name

    def organisation(self, name: str, kind: OrganisationKind, existing: dict[str, int]) -> int:
        if name in self.organisations:
            return self.organisations[name][0]
        org_id = existing.get(name) or self.rows.add("organisation", name=name, kind=kind.value,
                                                      phone=f"023-{self.rng.randrange(6000, 6999)} "
                                                            f"{self.rng.randrange(10**4):04d}")
        self.organisations[name] = (org_id, kind.value)
        liaison = self.rng.choice(SURNAMES) + self.rng.choice(["科长", "主任", "经理", "干事"])
        self.rows.add("person", name=liaison, organisation_id=org_id)
        self.liaisons[org_id] = liaison
        # A sign-in for the liaison, so "my work" shows an organisation's actions across the district.
        self.rows.add("user", username=f"liaison-{len(self.organisations)}", password_hash=self.password_hash,
                      display_name=liaison, role=Role.liaison.value, organisation_id=org_id)
        return org_id

    def build(self, existing_areas: dict[str, int], existing_orgs: dict[str, int], children: dict[int, int],
              progress: Progress) -> list[Community]:
        """``children``: how many communities each existing area has (the small demo's street has two,
        which count towards its share)."""
        rows = self.rows
        district_id = existing_areas.get(DISTRICT[1]) or rows.add(
            "area", name=DISTRICT[0], slug=DISTRICT[1], kind=AreaKind.district.value, parent_id=None)
        self.district_id = district_id
        for names, kind in ORGANISATION_KINDS:
            for name in names:
                self.organisation(name, kind, existing_orgs)
        self.departments = [self.organisations[name][0] for name in ORGANISATION_KINDS[0][0]]
        self.properties = [self.organisations[name][0] for name in ORGANISATION_KINDS[1][0]]
        community_names = [(w, s) for w, s in PLACE_WORDS] + [(w + e, s + es) for e, es in ENDINGS[1:]
                                                               for w, s in PLACE_WORDS]
        used_slugs = set(existing_areas)
        communities: list[Community] = []
        plan = [(name, slug, max(0, count - children.get(existing_areas.get(slug, 0), 0)))
                for name, slug, count in self.plan]
        total = sum(k for *_, k in plan)
        i = 0
        for street_name, street_slug, count in plan:
            street_id = existing_areas.get(street_slug) or rows.add(
                "area", name=street_name, slug=street_slug, kind=AreaKind.street.value, parent_id=district_id)
            police = self.organisation(POLICE_STATION.format(street=street_name.removesuffix("街道")),
                                       OrganisationKind.department, existing_orgs)
            rows.add("user", username=f"street-{street_slug}", password_hash=self.password_hash,
                     display_name=f"{street_name} 督办员", role=Role.facilitator.value, scope_id=street_id)
            for _ in range(count):
                name, slug = next((w, s) for w, s in community_names[i:] if s not in used_slugs)
                i = community_names.index((name, slug)) + 1
                used_slugs.add(slug)
                communities.append(self.community(f"{name}社区", slug, street_id, police))
                progress("places", len(communities), total)
        rows.add("user", username="district", password_hash=self.password_hash, display_name="渝中区 督办员",
                 role=Role.facilitator.value, scope_id=district_id)
        return communities

    def community(self, name: str, slug: str, street_id: int, police: int) -> Community:
        rows, rng = self.rows, random.Random(self.rng.random())
        community_id = rows.add("area", name=name, slug=slug, kind=AreaKind.community.value, parent_id=street_id)
        used: set[str] = set()
        committees = {}
        for kind, committee_name in COMMITTEE_NAMES_ZH.items():
            committee_id = rows.add("committee", community_id=community_id, kind=kind.value, name=committee_name)
            committees[kind.value] = committee_id
            for k in range(3):
                person = rows.add("person", name=_names(rng, used))
                rows.add("committeemember", committee_id=committee_id, person_id=person, chair=k == 0,
                         joined_at=datetime(2021, 1, 4, 9, 0))
        formats = [rows.add("forumformat", community_id=community_id, name=f) for f in FORUM_FORMATS]
        display = f"{name} {rng.choice(SURNAMES)}书记"
        user_id = rows.add("user", username=f"fac-{slug}", password_hash=self.password_hash, display_name=display,
                           role=Role.facilitator.value, community_id=community_id)
        # A member of its environment and property committee signs in too (most issues are theirs).
        rows.add("user", username=f"com-{slug}", password_hash=self.password_hash,
                 display_name=f"{name} 环境和物业管理委员会 {rng.choice(SURNAMES)}委员", role=Role.committee.value,
                 community_id=community_id, committee_id=committees["environment"])
        property_company = self.properties[rng.randrange(len(self.properties))]
        for org in [*self.departments, property_company, police]:
            rows.add("organisationcommunity", organisation_id=org, community_id=community_id)
        residents = []
        for k in range(RESIDENTS):
            building, unit, room = str(1 + k // 6), str(1 + (k // 3) % 2), f"{1 + k % 3 * 2}0{1 + k % 2}"
            household = rows.add("household", community_id=community_id, building=building, unit=unit, room=room,
                                 floor_area=Decimal(rng.randint(5500, 14000)) / 100)
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}" if rng.random() < 0.75 else None
            person_name = _names(rng, used)
            person = rows.add("person", name=person_name, phone=phone, household_id=household)
            rows.add("ownership", household_id=household, person_id=person)
            residents.append(dict(person_id=person, household_id=household, name=person_name, building=building,
                                  unit=unit, room=room))
        return Community(id=community_id, name=name, slug=slug, street=street_id, committees=committees,
                         formats=formats, facilitator=(user_id, display), residents=residents,
                         property_company=property_company, police=police, rng=rng)


def _quiet(_stage: str, _done: int, _of: int) -> None:
    pass


def build_district(target: Engine | Session, *, seed: int = 2026, scale: float = 1.0, today: date | None = None,
                   progress: Progress | None = None) -> DistrictSummary:
    """Build the district-year into ``target``: an engine (committed here, in one transaction) or a
    session (written on its connection; the caller commits). Nothing is written if the district's
    generated streets exist already (``created`` is then False)."""
    if not 0 < scale <= 1:
        raise ValueError("scale is a fraction of the district, above 0 and at most 1")
    started = clock.perf_counter()
    if isinstance(target, Session):
        return _build(target.connection(), seed, scale, today, progress or _quiet, started)
    with target.begin() as connection:
        return _build(connection, seed, scale, today, progress or _quiet, started)


def _build(connection: Connection, seed: int, scale: float, today: date | None, progress: Progress,
           started: float) -> DistrictSummary:
    area = SQLModel.metadata.tables["area"]
    existing_areas = dict(connection.execute(select(area.c.slug, area.c.id)).all())
    children = dict(connection.execute(select(area.c.parent_id, func.count()).where(
        area.c.kind == AreaKind.community.value).group_by(area.c.parent_id)).all())
    user = SQLModel.metadata.tables["user"]
    if connection.execute(select(user.c.id).where(user.c.username == "district")).first() is not None:
        return DistrictSummary(DISTRICT[1], 0, 0, created=False)  # built already
    organisation = SQLModel.metadata.tables["organisation"]
    existing_orgs = dict(connection.execute(select(organisation.c.name, organisation.c.id)).all())
    # "Now" is the start of ``today``: everything generated happened before it, so nothing is in
    # the future for a page rendered at any time today.
    now = datetime.combine(today or date.today(), time(0, 0))
    rng = random.Random(seed)
    rows = Rows(connection)
    places = Places(rows, rng, scale)
    communities = places.build(existing_areas, existing_orgs, children, progress)
    planner = district_votes.Planner(seed)
    calendars = []
    for k, community in enumerate(communities, start=1):
        calendars.append(district_meetings.year_of_meetings(rows, community, places, now))
        progress("meetings", k, len(communities))
    for k, (community, calendar) in enumerate(zip(communities, calendars, strict=True), start=1):
        district_issues.year_of_issues(rows, community, calendar, places, now, planner)
        progress("issues", k, len(communities))
    counts = rows.write(progress)
    counts.update(district_votes.hold(connection, planner.plans, progress))
    street = area.alias()
    in_district = connection.execute(
        select(func.count()).select_from(area.join(street, area.c.parent_id == street.c.id))
        .where(street.c.parent_id == places.district_id, area.c.kind == AreaKind.community.value)).scalar()
    return DistrictSummary(district=DISTRICT[1], streets=len(places.plan), communities=len(communities),
                           communities_in_district=in_district, counts=counts,
                           seconds=clock.perf_counter() - started)

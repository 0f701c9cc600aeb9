"""Household registry import: a CSV of units (flats) and their owners, as a community office keeps it.

Community offices keep the register in Excel, so a file may arrive as UTF-8 (with or without the
BOM Excel writes for "CSV UTF-8") or as GBK, which is what Excel in China saves by default; its
headers may be English or Chinese. ``parse`` reads and checks the whole file and refuses it with
every problem at once, each tied to the line a person sees in a text editor, so the office can fix
the file in one go instead of one error per upload. ``import_rows`` then writes it all or nothing:
a half-imported register would silently skew owners' votes, which are counted by household and by
floor area.

Owners are people: one line per owner of a unit, so a unit with co-owners has several lines
(with the same floor area), and one person who owns several units appears on each of them. The
same name with the same phone is the same person across units; a name without a phone is only
known within its unit (two 王建国 without numbers in different stairwells are not assumed to be
one person). A unit the developer still holds (unsold, or sold but not delivered) is marked in the
optional developer column and needs no owner. Owners' votes count these owners as the law counts
them (``forum.electorate``).

An import is planned first (``plan_import``: what would change, nothing written) so the office
sees a preview, then applied (``apply_plan`` in the caller's transaction, or ``apply_journaled`` in
short transactions, as the upload, the command and ``import_file`` do: see there for how it stays all
or nothing). Importing the same file twice changes nothing.

Messages are English ids marked with ``N_``; they are translated where shown (``RowError.render``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, delete, func, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.requests import HTTPConnection

from forum.db import session_scope
from forum.i18n import N_, gettext
from forum.models import Area, AreaKind, Household, ImportJob, ImportStage, Ownership, Person, now

FIELDS = ("building", "unit", "room", "floor_area", "owner", "phone", "developer_held")
REQUIRED = ("building", "unit", "room", "floor_area", "owner")

# Header spellings met in real registers, compared after ``_header_key`` (NFKC, lower case, no
# spaces, punctuation or units). Earlier spellings win when a file has two columns for one field:
# a register often lists both 专有部分面积 and 建筑面积, and owners' votes under Civil Code art. 278
# are weighed by the exclusive part (专有部分), so that column is preferred.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "building": ("building", "bldg", "block", "buildingno", "楼栋", "楼栋号", "栋", "栋号", "楼号", "幢",
                 "幢号", "楼幢", "楼幢号"),
    "unit": ("unit", "unitno", "entrance", "stairwell", "单元", "单元号"),
    "room": ("room", "roomno", "flat", "flatno", "apartment", "door", "doorno", "房号", "房间号", "室号", "室",
             "户号", "门牌号"),
    "floor_area": ("专有部分面积", "floorarea", "area", "套内建筑面积", "套内面积", "面积", "房屋面积", "建筑面积",
                   "产权面积"),
    "owner": ("owner", "ownername", "name", "业主", "业主姓名", "业主名称", "产权人", "房屋所有权人", "所有权人",
              "姓名"),
    "phone": ("phone", "telephone", "tel", "mobile", "mobilephone", "phonenumber", "电话", "联系电话", "电话号码",
              "手机", "手机号", "手机号码", "联系方式"),
    "developer_held": ("developerheld", "developer", "开发商持有", "开发建设单位持有", "开发商未售", "开发商",
                       "未售或未交付", "未售未交付"),
}

# What the office can write, shown in the "missing column" message.
ACCEPTED_HEADERS = {
    "building": "楼栋 / building",
    "unit": "单元 / unit",
    "room": "房号 / room",
    "floor_area": "面积、专有部分面积、建筑面积 / floor_area",
    "owner": "业主、业主姓名 / owner",
    "phone": "电话、联系电话 / phone",
    "developer_held": "开发商持有 / developer_held",
}

MAX_KEY_LENGTH = 20  # Household.building / unit / room
MAX_OWNER_LENGTH = 60  # Person.name
MAX_FLOOR_AREA = Decimal("10000")
CENT = Decimal("0.01")
# Yes and no as registers write them in the developer column (compared after NFKC, lower case).
_YES = frozenset({"是", "y", "yes", "1", "true", "√", "✓", "x", "开发商", "未售", "未交付"})
_NO = frozenset({"", "否", "n", "no", "0", "false"})

# ASCII digits only (NFKC has folded full-width ones): ``\d`` would also take other scripts'.
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_PHONE = re.compile(r"[0-9 +\-]{5,20}")
# Units people type after an area ("89.5㎡", "89.5 平方米"); NFKC has already turned ㎡ into m2.
_AREA_UNIT = re.compile(r"\s*(m2|sqm|平方米|平米)\s*$", re.IGNORECASE)
# Units and notes in a header: "面积(m²)", "建筑面积（平方米）", "floor area / m2".
_HEADER_NOISE = re.compile(r"\(.*?\)|\[.*?\]|m2$|sqm$|平方米$|平米$|[\s_\-/.:*#]")


@dataclass(frozen=True)
class HouseholdRow:
    """One checked line of the register: a unit, its floor area, and one of its owners (or none,
    for a unit the developer holds)."""

    line: int
    building: str
    unit: str
    room: str
    floor_area: Decimal
    owner: str | None
    phone: str | None = None
    developer_held: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.building, self.unit, self.room)


@dataclass(frozen=True)
class RowError:
    """A problem on one physical line of the file (the header is line 1)."""

    line: int
    field: str | None
    message: str
    params: dict[str, object] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str] = gettext) -> str:
        """The message in the current language (or through ``translate``), with its values filled in."""
        text = translate(self.message)
        return text % self.params if self.params else text


class ImportRefused(Exception):
    """The file was not imported; ``errors`` lists every problem found, in line order."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        summary = "; ".join(f"line {e.line}: {e.render(lambda m: m)}" for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} problem(s): {summary}{more}")


@dataclass(frozen=True)
class ImportResult:
    """``created``: households new to the community; ``updated``: existing ones the file covered."""

    created: int
    updated: int


# ---------------------------------------------------------------- reading the file


def decode(data: bytes) -> str:
    """The text of the file: UTF-8 (BOM or not) first, as it fails loudly on anything else; then
    GB18030, a superset of GBK, which is what Excel in China saves "CSV" as."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused([RowError(1, None, N_(
        "The file is neither UTF-8 nor GBK text. Save it from Excel as \"CSV UTF-8\" and try again."))])


def _clean(value: str) -> str:
    # NFKC folds full-width digits and letters (５栋, ＡＢ) that Chinese input methods produce, so
    # "５" and "5" are the same flat; runs of spaces are collapsed, ends trimmed.
    return " ".join(unicodedata.normalize("NFKC", value).split())


def _header_key(value: str) -> str:
    return _HEADER_NOISE.sub("", _clean(value).lower())


def _alias_rank() -> dict[str, tuple[str, int]]:
    ranks: dict[str, tuple[str, int]] = {}
    for name, aliases in HEADER_ALIASES.items():
        for rank, alias in enumerate(aliases):
            ranks[_header_key(alias)] = (name, rank)
    return ranks


_ALIASES = _alias_rank()


def _map_header(cells: list[str], line: int) -> tuple[dict[str, int], list[RowError]]:
    """Which column holds which field; errors for a header that is missing or ambiguous."""
    chosen: dict[str, tuple[int, int]] = {}  # field → (rank, column index)
    errors: list[RowError] = []
    for index, cell in enumerate(cells):
        found = _ALIASES.get(_header_key(cell))
        if found is None:
            continue  # 序号, 备注 and other columns the register may carry are ignored
        name, rank = found
        if name in chosen and chosen[name][0] == rank:
            errors.append(RowError(line, name, N_("The column %(column)s appears twice in the header."),
                                   {"column": _clean(cell)}))
        elif name not in chosen or rank < chosen[name][0]:
            chosen[name] = (rank, index)
    if not chosen:
        return {}, [RowError(line, None, N_(
            "The first line must be a header naming the columns, e.g. 楼栋,单元,房号,面积,业主,电话 "
            "or building,unit,room,floor_area,owner,phone."))]
    for name in REQUIRED:
        if name not in chosen:
            errors.append(RowError(line, name, N_("The header has no column for %(column)s (accepted: %(accepted)s)."),
                                   {"column": name, "accepted": ACCEPTED_HEADERS[name]}))
    return {name: index for name, (_rank, index) in chosen.items()}, errors


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    """Each CSV record with the physical line it starts on; a quoted cell may span lines."""
    sample = text.split("\n", 1)[0]
    # A register pasted from Excel as text is tab-separated; everything else here is commas.
    delimiter = "\t" if "\t" in sample and "," not in sample else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            yield start, record
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportRefused([RowError(start, None, N_("This line cannot be read as CSV: %(reason)s"),
                                      {"reason": str(exc)})]) from exc


def _check_key(line: int, name: str, value: str, errors: list[RowError]) -> None:
    missing = {
        "building": N_("Building is missing."),
        "unit": N_("Unit is missing."),
        "room": N_("Room is missing."),
    }
    too_long = {
        "building": N_("Building must be at most %(max)s characters, got %(value)s"),
        "unit": N_("Unit must be at most %(max)s characters, got %(value)s"),
        "room": N_("Room must be at most %(max)s characters, got %(value)s"),
    }
    if not value:
        errors.append(RowError(line, name, missing[name]))
    elif len(value) > MAX_KEY_LENGTH:
        errors.append(RowError(line, name, too_long[name], {"max": MAX_KEY_LENGTH, "value": value}))


def parse_floor_area(value: str) -> Decimal | RowError:
    """A floor area in m², or the error to report (with line 0, set by the caller). Any text gives
    one or the other, never an exception: a 400-digit area, NaN or Infinity is a line error."""
    text = _AREA_UNIT.sub("", value)
    if not text:
        return RowError(0, "floor_area", N_("Floor area is missing."))
    not_a_number = RowError(0, "floor_area", N_("Floor area must be a positive number of square metres, got %(value)s"),
                            {"value": _shorten(value)})
    if not _NUMBER.fullmatch(text):
        return not_a_number
    # Judged on the digits before Decimal sees them: rounding a 400-digit number to hundredths
    # raises (it exceeds Decimal's precision) instead of answering.
    whole, _point, fraction = text.partition(".")
    if len(whole.lstrip("0")) > len(str(int(MAX_FLOOR_AREA))):
        return RowError(0, "floor_area", N_("Floor area must be below %(max)s m², got %(value)s"),
                        {"max": MAX_FLOOR_AREA, "value": _shorten(value)})
    if len(fraction.rstrip("0")) > 2:
        # The register is in hundredths of a m² (as the property certificate is); more digits
        # usually mean a formula or a unit mix-up, not a more precise measurement.
        return RowError(0, "floor_area", N_("Floor area may have at most 2 decimals, got %(value)s"),
                        {"value": _shorten(value)})
    try:
        area = Decimal(f"{whole.lstrip('0') or '0'}.{fraction.rstrip('0') or '0'}")
    except InvalidOperation:  # pragma: no cover - the checks above keep Decimal within its precision
        return not_a_number
    if area <= 0:
        return not_a_number
    if area >= MAX_FLOOR_AREA:
        return RowError(0, "floor_area", N_("Floor area must be below %(max)s m², got %(value)s"),
                        {"max": MAX_FLOOR_AREA, "value": _shorten(value)})
    return area.quantize(CENT)


def _shorten(value: str, limit: int = 24) -> str:
    """A value as quoted back in a message: a 400-digit cell is not repeated whole."""
    return value if len(value) <= limit else value[:limit] + "…"


def parse_developer_held(value: str) -> bool | RowError:
    text = value.lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return RowError(0, "developer_held", N_("Developer-held is 是 (yes) or 否 (no), or left empty, got %(value)s"),
                    {"value": value[:40]})


def _check_row(line: int, cells: list[str], header: dict[str, int], width: int) -> HouseholdRow | list[RowError]:
    """One data line as a row, or every problem it has."""

    def cell(name: str) -> str:
        index = header.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    errors: list[RowError] = []
    if any(cells[width:]):
        errors.append(RowError(line, None, N_("This line has more values than the header has columns.")))
    building, unit, room = cell("building"), cell("unit"), cell("room")
    for name, value in (("building", building), ("unit", unit), ("room", room)):
        _check_key(line, name, value, errors)

    area = parse_floor_area(cell("floor_area"))
    if isinstance(area, RowError):
        errors.append(RowError(line, area.field, area.message, area.params))

    developer_held = parse_developer_held(cell("developer_held"))
    if isinstance(developer_held, RowError):
        errors.append(RowError(line, developer_held.field, developer_held.message, developer_held.params))

    owner = cell("owner")
    if not owner:
        # A unit the developer holds may have no owner on the register yet.
        if developer_held is not True:
            errors.append(RowError(line, "owner", N_("Owner name is missing.")))
    elif len(owner) > MAX_OWNER_LENGTH:
        errors.append(RowError(line, "owner", N_("Owner name must be at most %(max)s characters, got %(length)s"),
                               {"max": MAX_OWNER_LENGTH, "length": len(owner)}))

    phone = cell("phone") or None
    if phone is not None and not (_PHONE.fullmatch(phone) and any(c.isdigit() for c in phone)):
        errors.append(RowError(line, "phone", N_(
            "Phone may hold only digits, spaces, + and - and be 5 to 20 characters long, got %(value)s"),
            {"value": phone[:40]}))

    if errors or isinstance(area, RowError) or isinstance(developer_held, RowError):
        return errors
    return HouseholdRow(line=line, building=building, unit=unit, room=room, floor_area=area, owner=owner or None,
                        phone=phone if owner else None, developer_held=developer_held)


def _check_units(rows: Sequence[HouseholdRow]) -> list[RowError]:
    """The lines of one unit agree on its area and developer mark, and name each owner once."""
    errors: list[RowError] = []
    first: dict[tuple[str, str, str], HouseholdRow] = {}
    owners: dict[tuple[tuple[str, str, str], str, str], HouseholdRow] = {}
    for row in rows:
        building, unit, room = row.key
        where = {"building": building, "unit": unit, "room": room}
        head = first.setdefault(row.key, row)
        if head is not row and row.floor_area != head.floor_area:
            errors.append(RowError(row.line, "floor_area", N_(
                "Building %(building)s, unit %(unit)s, room %(room)s has floor area %(area)s on line %(first_line)s; "
                "the lines of one unit must give the same area."),
                where | {"area": head.floor_area, "first_line": head.line}))
        if head is not row and row.developer_held != head.developer_held:
            errors.append(RowError(row.line, "developer_held", N_(
                "Building %(building)s, unit %(unit)s, room %(room)s is marked otherwise on line %(first_line)s; "
                "the lines of one unit must agree whether the developer holds it."),
                where | {"first_line": head.line}))
        if row.owner:
            key = (row.key, row.owner, row.phone or "")
            if key in owners:
                errors.append(RowError(row.line, "owner", N_(
                    "%(owner)s is already an owner of building %(building)s, unit %(unit)s, room %(room)s on line "
                    "%(first_line)s."), where | {"owner": row.owner, "first_line": owners[key].line}))
            owners.setdefault(key, row)
    return errors


def parse(data: bytes) -> list[HouseholdRow]:
    """Read and check a household register; ``ImportRefused`` lists every problem in it."""
    text = decode(data)
    if not text.strip():
        raise ImportRefused([RowError(1, None, N_("The file is empty."))])
    header: dict[str, int] | None = None
    width = 0
    errors: list[RowError] = []
    rows: list[HouseholdRow] = []
    for line, record in _records(text):
        cells = [_clean(cell) for cell in record]
        if not any(cells):
            continue  # blank lines (and lines of empty cells Excel leaves behind) mean nothing
        if header is None:
            header, header_errors = _map_header(cells, line)
            if header_errors:
                raise ImportRefused(header_errors)
            width = len(cells)
            continue
        checked = _check_row(line, cells, header, width)
        if isinstance(checked, HouseholdRow):
            rows.append(checked)
        else:
            errors.extend(checked)
    errors += _check_units(rows)
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(1, None, N_("The file has a header but no households."))])
    return rows


# ---------------------------------------------------------------- planning and writing the register


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
    problems = _check_units(rows)
    if problems:
        raise ImportRefused(problems)

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

    named: dict[str, list[Person]] = {}
    for person in people.values():
        named.setdefault(person.name, []).append(person)
    claimed: set[int] = set()
    for fp in sorted(file_people.values(), key=lambda p: p.line):
        match = None
        if fp.phone:
            match = min((p.id for p in named.get(fp.name, ()) if p.phone == fp.phone and p.id not in claimed),
                        default=None)
        if match is None:
            for key in fp.units:
                household = existing.get(key)
                if household is None:
                    continue
                near = [p for p in named.get(fp.name, ()) if p.id not in claimed
                        and (p.id in owned.get(household.id, ()) or p.household_id == household.id)]
                # An owner of the unit before a resident of it, then the oldest entry.
                near.sort(key=lambda p: (p.id not in owned.get(household.id, ()), p.id))
                if near:
                    match = near[0].id
                    break
        if match is not None:
            claimed.add(match)
            fp.person = people[match]

    plan = Plan(community_id, list(units.values()), list(file_people.values()), owned)
    plan.last_job = session.exec(select(func.coalesce(func.max(ImportJob.id), 0))
                                 .where(ImportJob.status == "applied")).one()
    for fp in plan.people:
        if fp.person is None:
            plan.new_people += 1
        elif fp.phone and fp.person.phone != fp.phone:
            plan.phone_changes.append((fp.name, mask_phone(fp.person.phone), mask_phone(fp.phone)))
        plan.exact.append((fp.line, fp.person.id if fp.person else None, fp.person.phone if fp.person else None,
                           fp.phone))
        if len(fp.units) > 1:
            plan.several_units.append((fp.name, mask_phone(fp.phone), len(fp.units)))
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
    return plan


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


def import_file(engine: Engine, community_id: int, data: bytes, *,
                after_chunk: Callable[[int], None] | None = None) -> ImportResult:
    """Parse a register and import it all or nothing, in short transactions (``apply_journaled``),
    or raise ``ImportRefused`` (nothing staged, nothing written)."""
    rows = parse(data)
    with session_scope(engine) as session:
        plan = plan_import(session, community_id, rows)
    # The plan only read; the writes take their own short transactions.
    return apply_journaled(engine, plan, after_chunk=after_chunk)


# ---------------------------------------------------------------- large imports: journaled, in chunks
#
# A 100k-line register written in one transaction held SQLite's only writer lock for a minute, and
# every ballot and check-in made meanwhile failed with "database is locked". ``apply_journaled``
# writes the same changes as ``apply_plan`` in transactions of CHUNK_ROWS steps each, with bulk
# statements, so other writes wait milliseconds for the lock instead of failing.
#
# All or nothing is kept by a journal, rolled FORWARD:
# 1. an ``ImportJob`` is recorded (status ``staging``; only one may be active at a time, enforced by
#    a unique column, so a second import is refused with ``ImportBusy``);
# 2. the whole plan is copied into ``ImportStage`` in chunks, the register untouched; then the job
#    becomes ``pending``. A crash before that leaves the register as it was: ``resume_imports``
#    discards the half-staged job.
# 3. the staged steps are applied in ``seq`` order, CHUNK_ROWS per transaction, each transaction also
#    moving the job's ``applied`` mark, so a chunk is written exactly once. A crash (or an error)
#    half-way leaves the job ``pending``; ``resume_imports`` (run by ``forum serve`` and
#    ``forum db upgrade`` on start) applies the rest, ending with the register as the whole file
#    says; so does the next import once the job's progress has stood still for STALE_SECONDS.
#    The last chunk marks the job ``applied`` and writes its audit entry in one transaction.

CHUNK_ROWS = 500  # staged steps per transaction: each commit holds the writer lock for milliseconds
# An active import whose progress mark has not moved for this long was left by a process that died;
# the next import finishes it first. (A live one moves it every chunk, well under a second.)
STALE_SECONDS = 120

_ORDER = ("person_new", "person_phone", "household_new", "household_update", "owner_add", "owner_remove")


class ImportBusy(Exception):
    """Another register import is still being written; this one was not started."""


def _stage_rows(plan: Plan) -> list[dict]:
    """The plan as journal steps: new people and units first, then whose owner changes."""
    steps: list[dict] = []
    person_ref: dict[int, int] = {}  # id(_FilePerson) → its ref, for people not yet written
    for ref, fp in enumerate(plan.people):
        if fp.person is None:
            person_ref[id(fp)] = ref
            steps.append({"kind": "person_new", "person_ref": ref, "name": fp.name, "phone": fp.phone})
        elif fp.phone and fp.person.phone != fp.phone:
            steps.append({"kind": "person_phone", "person_id": fp.person.id, "phone": fp.phone})
    owner_steps: list[dict] = []
    for ref, unit in enumerate(plan.units):
        household = unit.household
        if household is None:
            building, unit_no, room = unit.key
            steps.append({"kind": "household_new", "household_ref": ref, "building": building, "unit": unit_no,
                          "room": room, "floor_area": unit.floor_area, "developer_held": unit.developer_held})
            where: dict = {"household_ref": ref}
            before: set[int] = set()
        else:
            if household.floor_area != unit.floor_area or household.developer_held != unit.developer_held:
                steps.append({"kind": "household_update", "household_id": household.id,
                              "floor_area": unit.floor_area, "developer_held": unit.developer_held})
            where = {"household_id": household.id}
            before = plan.current_owners.get(household.id, set())
        after = {fp.person.id for fp in unit.owners if fp.person is not None}
        for pid in sorted(after - before):
            owner_steps.append({"kind": "owner_add", "person_id": pid} | where)
        for fp in unit.owners:
            if fp.person is None:
                owner_steps.append({"kind": "owner_add", "person_ref": person_ref[id(fp)]} | where)
        for pid in sorted(before - after):
            owner_steps.append({"kind": "owner_remove", "person_id": pid} | where)
    return steps + owner_steps


def _start_job(engine: Engine, plan: Plan, actor: str) -> int:
    for attempt in range(2):  # a second time only after a stalled import was cleared
        try:
            with session_scope(engine) as session:
                job = ImportJob(community_id=plan.community_id, digest=plan.digest(), actor=actor[:60],
                                created=plan.created, updated=plan.updated)
                session.add(job)
                session.commit()
                assert job.id is not None
                # Now the only active import: had another been applied since the plan was made, the
                # plan's creates and removals would clash with it half-way, so it is made again.
                newer = session.exec(select(func.count()).select_from(ImportJob)
                                     .where(ImportJob.id > plan.last_job, ImportJob.status == "applied")).one()
                if newer:
                    _discard(engine, job.id)
                    raise ImportBusy(N_("Another register import was written meanwhile; upload the file again."))
                return job.id
        except IntegrityError:
            if attempt or not _recover_stale(engine):
                raise ImportBusy(N_(
                    "Another register import is still being written; try again when it has finished.")) from None
    raise AssertionError("unreachable")


def _recover_stale(engine: Engine) -> bool:
    """Finish (or, if it never reached the register, forget) an active import whose progress has
    stood still for STALE_SECONDS: the process writing it died. False if it is still moving."""
    jobs = ImportJob.__table__
    with engine.connect() as conn:
        job = conn.execute(select(jobs.c.id, jobs.c.status, jobs.c.progress_at)
                           .where(jobs.c.active.is_not(None))).first()
    if job is None:
        return True
    if job.progress_at > now() - timedelta(seconds=STALE_SECONDS):
        return False
    if job.status == "staging":
        _discard(engine, job.id)
    else:
        _run(engine, job.id)
    return True


def _stage(engine: Engine, job_id: int, steps: list[dict]) -> None:
    stage = ImportStage.__table__
    columns = [c.name for c in stage.columns if c.name not in ("job_id", "seq", "result_id")]
    for start in range(0, len(steps), CHUNK_ROWS):
        chunk = [{name: None for name in columns} | step | {"job_id": job_id, "seq": start + i}
                 for i, step in enumerate(steps[start:start + CHUNK_ROWS])]
        with engine.begin() as conn:
            conn.execute(update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id)
                         .values(progress_at=now()))
            conn.execute(insert(stage), chunk)
    with engine.begin() as conn:
        conn.execute(update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id)
                     .values(status="pending", total=len(steps)))


def _apply_chunk(conn: Connection, steps: Sequence, refs: dict[tuple[str, int], int]) -> None:
    """Write one chunk of staged steps (in the caller's transaction), kind by kind."""
    stage = ImportStage.__table__
    by_kind: dict[str, list] = {kind: [] for kind in _ORDER}
    for step in steps:
        by_kind[step.kind].append(step)

    def made(kind: str, target, rows: list, values: list[dict]) -> None:
        if not rows:
            return
        if conn.dialect.name == "sqlite":
            # RETURNING in parameter order costs SQLite one statement per row. This transaction
            # already holds the only writer lock (``_run`` moves the progress mark first), so the
            # rows above the current highest id are exactly these, numbered in insertion order.
            highest = conn.execute(select(func.coalesce(func.max(target.c.id), 0))).scalar_one()
            conn.execute(insert(target), values)
            ids = conn.execute(select(target.c.id).where(target.c.id > highest).order_by(target.c.id)).scalars().all()
        else:
            ids = conn.execute(insert(target).returning(target.c.id, sort_by_parameter_order=True),
                               values).scalars().all()
        ref_name = "person_ref" if kind == "person_new" else "household_ref"
        for row, new_id in zip(rows, ids, strict=True):
            refs[(kind, getattr(row, ref_name))] = new_id
        # Kept with the step, in this transaction, so a resumed import finds the rows it made.
        conn.execute(update(stage).where(stage.c.job_id == bindparam("j"), stage.c.seq == bindparam("s"))
                     .values(result_id=bindparam("r")),
                     [{"j": row.job_id, "s": row.seq, "r": new_id} for row, new_id in zip(rows, ids, strict=True)])

    person, household, ownership = Person.__table__, Household.__table__, Ownership.__table__
    made("person_new", person, by_kind["person_new"],
         [{"name": r.name, "phone": r.phone} for r in by_kind["person_new"]])
    if by_kind["person_phone"]:
        conn.execute(update(person).where(person.c.id == bindparam("pid")).values(phone=bindparam("new_phone")),
                     [{"pid": r.person_id, "new_phone": r.phone} for r in by_kind["person_phone"]])
    news = by_kind["household_new"]
    if news:
        community = conn.execute(select(ImportJob.__table__.c.community_id)
                                 .where(ImportJob.__table__.c.id == news[0].job_id)).scalar_one()
        made("household_new", household, news,
             [{"community_id": community, "building": r.building, "unit": r.unit, "room": r.room,
               "floor_area": r.floor_area, "developer_held": r.developer_held} for r in news])
    if by_kind["household_update"]:
        conn.execute(update(household).where(household.c.id == bindparam("hid"))
                     .values(floor_area=bindparam("area"), developer_held=bindparam("held")),
                     [{"hid": r.household_id, "area": r.floor_area, "held": r.developer_held}
                      for r in by_kind["household_update"]])

    def owner(r) -> dict:
        hid = r.household_id if r.household_id is not None else refs[("household_new", r.household_ref)]
        pid = r.person_id if r.person_id is not None else refs[("person_new", r.person_ref)]
        return {"hid": hid, "pid": pid}

    if by_kind["owner_add"]:
        conn.execute(insert(ownership).values(household_id=bindparam("hid"), person_id=bindparam("pid")),
                     [owner(r) for r in by_kind["owner_add"]])
    if by_kind["owner_remove"]:
        conn.execute(delete(ownership).where(ownership.c.household_id == bindparam("hid"),
                                             ownership.c.person_id == bindparam("pid")),
                     [owner(r) for r in by_kind["owner_remove"]])


def _finish(conn: Connection, job_id: int, request: HTTPConnection | None) -> None:
    """Mark the job applied and, for one started from the web, write its audit entry: once."""
    from forum import audit

    jobs = ImportJob.__table__
    job = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
    conn.execute(update(jobs).where(jobs.c.id == job_id)
                 .values(status="applied", active=None, applied=job.total, finished_at=now()))
    if job.actor:
        with Session(bind=conn) as session:
            audit.record(session, request, "household_import", "community", job.community_id,
                         f"{job.created} new, {job.updated} updated", community_id=job.community_id,
                         actor=None if request is not None else job.actor)
            session.flush()
    conn.execute(delete(ImportStage.__table__).where(ImportStage.__table__.c.job_id == job_id))


def _run(engine: Engine, job_id: int, request: HTTPConnection | None = None,
         after_chunk: Callable[[int], None] | None = None) -> ImportResult:
    """Apply a pending job's staged steps from where it stopped, CHUNK_ROWS per transaction."""
    stage, jobs = ImportStage.__table__, ImportJob.__table__
    with engine.connect() as conn:
        job = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
        refs = {(r.kind, r.person_ref if r.kind == "person_new" else r.household_ref): r.result_id
                for r in conn.execute(select(stage.c.kind, stage.c.person_ref, stage.c.household_ref,
                                             stage.c.result_id)
                                      .where(stage.c.job_id == job_id, stage.c.result_id.is_not(None)))}
    done, chunks = job.applied, 0
    while True:
        with engine.begin() as conn:
            # The progress mark first, so the transaction takes SQLite's writer lock before it reads:
            # a read first would make its upgrade to a writer fail ("database is locked") whenever
            # a check-in committed in between, and ``made`` relies on no other writer meanwhile.
            upto = min(done + CHUNK_ROWS, job.total)
            moved = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == "pending",
                                                    jobs.c.applied == done)
                                 .values(applied=upto, progress_at=now()))
            if moved.rowcount != 1:
                break  # another process took over this job (it looked stalled): it finishes it
            steps = conn.execute(select(stage).where(stage.c.job_id == job_id, stage.c.seq >= done,
                                                     stage.c.seq < upto).order_by(stage.c.seq)).all()
            _apply_chunk(conn, steps, refs)
            done = upto
            if done >= job.total:
                _finish(conn, job_id, request)
                break
        chunks += 1
        if after_chunk is not None:
            after_chunk(chunks)  # tests stop the import here, as a crash would
    return ImportResult(created=job.created, updated=job.updated)


def journal_steps(plan: Plan) -> list[dict]:
    """The plan as the steps ``apply_journaled`` stages. Taken while the session that planned is still
    in its transaction: a rollback would expire the people and units it names, and reading them back
    one by one would cost a query per row."""
    return _stage_rows(plan)


def apply_journaled(engine: Engine, plan: Plan, *, request: HTTPConnection | None = None, actor: str = "",
                    after_chunk: Callable[[int], None] | None = None,
                    steps: list[dict] | None = None) -> ImportResult:
    """Write ``plan`` in short transactions, all or nothing by rolling forward (see above).

    ``request`` (a web import) has the audit entry written, as the signed-in user, in the
    transaction that completes the import; ``actor`` names them should the import be finished by
    ``resume_imports`` instead. ``ImportBusy`` if another import is active: nothing is written.
    """
    if request is not None and not actor:
        user = getattr(request.state, "user", None)
        actor = getattr(user, "username", None) or "—"
    if steps is None:
        steps = _stage_rows(plan)
    job_id = _start_job(engine, plan, actor)
    try:
        _stage(engine, job_id, steps)
    except BaseException:
        _discard(engine, job_id)
        raise
    return _run(engine, job_id, request, after_chunk)


def _discard(engine: Engine, job_id: int) -> None:
    """Forget a job that never reached the register (staging did not finish)."""
    with engine.begin() as conn:
        conn.execute(delete(ImportStage.__table__).where(ImportStage.__table__.c.job_id == job_id))
        conn.execute(delete(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id))


def resume_imports(engine: Engine) -> int:
    """On start: finish every import a crash left half-applied, forget half-staged ones; the number
    finished. Run only where no import can be running (``forum serve`` / ``forum db upgrade``)."""
    jobs = ImportJob.__table__
    with engine.connect() as conn:
        active = conn.execute(select(jobs.c.id, jobs.c.status).where(jobs.c.active.is_not(None))).all()
    finished = 0
    for job_id, status in active:
        if status == "staging":
            _discard(engine, job_id)
        else:
            _run(engine, job_id)
            finished += 1
    return finished


def active_import(session: Session) -> ImportJob | None:
    """The import being written now, if any."""
    return session.exec(select(ImportJob).where(ImportJob.active.is_not(None))).first()

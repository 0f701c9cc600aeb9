"""Household registry import: a CSV of flats and their owners, as a community office keeps it.

Community offices keep the register in Excel, so a file may arrive as UTF-8 (with or without the
BOM Excel writes for "CSV UTF-8") or as GBK, which is what Excel in China saves by default; its
headers may be English or Chinese. ``parse`` reads and checks the whole file and refuses it with
every problem at once, each tied to the line a person sees in a text editor, so the office can fix
the file in one go instead of one error per upload. ``import_rows`` then writes it all or nothing:
a half-imported register would silently skew owners' votes, which are counted by household and by
floor area.

Messages are English ids marked with ``N_``; they are translated where shown (``RowError.render``).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from forum.db import session_scope
from forum.i18n import N_, gettext
from forum.models import Area, AreaKind, Household, Person

FIELDS = ("building", "unit", "room", "floor_area", "owner", "phone")
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
}

# What the office can write, shown in the "missing column" message.
ACCEPTED_HEADERS = {
    "building": "楼栋 / building",
    "unit": "单元 / unit",
    "room": "房号 / room",
    "floor_area": "面积、专有部分面积、建筑面积 / floor_area",
    "owner": "业主、业主姓名 / owner",
    "phone": "电话、联系电话 / phone",
}

MAX_KEY_LENGTH = 20  # Household.building / unit / room
MAX_OWNER_LENGTH = 60  # Person.name
MAX_FLOOR_AREA = Decimal("10000")
CENT = Decimal("0.01")

_NUMBER = re.compile(r"\d+(\.\d+)?")
_PHONE = re.compile(r"[0-9 +\-]{5,20}")
# Units people type after an area ("89.5㎡", "89.5 平方米"); NFKC has already turned ㎡ into m2.
_AREA_UNIT = re.compile(r"\s*(m2|sqm|平方米|平米)\s*$", re.IGNORECASE)
# Units and notes in a header: "面积(m²)", "建筑面积（平方米）", "floor area / m2".
_HEADER_NOISE = re.compile(r"\(.*?\)|\[.*?\]|m2$|sqm$|平方米$|平米$|[\s_\-/.:*#]")


@dataclass(frozen=True)
class HouseholdRow:
    """One checked line of the register: a flat, its floor area and its owner."""

    line: int
    building: str
    unit: str
    room: str
    floor_area: Decimal
    owner: str
    phone: str | None = None

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
    """A floor area in m², or the error to report (with line 0, set by the caller)."""
    text = _AREA_UNIT.sub("", value)
    if not text:
        return RowError(0, "floor_area", N_("Floor area is missing."))
    if not _NUMBER.fullmatch(text):
        return RowError(0, "floor_area", N_("Floor area must be a positive number of square metres, got %(value)s"),
                        {"value": value})
    try:
        area = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid decimals
        return RowError(0, "floor_area", N_("Floor area must be a positive number of square metres, got %(value)s"),
                        {"value": value})
    if area <= 0:
        return RowError(0, "floor_area", N_("Floor area must be a positive number of square metres, got %(value)s"),
                        {"value": value})
    # Too large first: rounding a number of more than 28 digits to hundredths raises.
    if area >= MAX_FLOOR_AREA:
        return RowError(0, "floor_area", N_("Floor area must be below %(max)s m², got %(value)s"),
                        {"max": MAX_FLOOR_AREA, "value": value})
    if area != area.quantize(CENT):
        # The register is in hundredths of a m² (as the property certificate is); more digits
        # usually mean a formula or a unit mix-up, not a more precise measurement.
        return RowError(0, "floor_area", N_("Floor area may have at most 2 decimals, got %(value)s"),
                        {"value": value})
    return area.quantize(CENT)


def _check_row(line: int, cells: list[str], header: dict[str, int], width: int,
               first_seen: dict[tuple[str, str, str], int]) -> HouseholdRow | list[RowError]:
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

    owner = cell("owner")
    if not owner:
        errors.append(RowError(line, "owner", N_("Owner name is missing.")))
    elif len(owner) > MAX_OWNER_LENGTH:
        errors.append(RowError(line, "owner", N_("Owner name must be at most %(max)s characters, got %(length)s"),
                               {"max": MAX_OWNER_LENGTH, "length": len(owner)}))

    phone = cell("phone") or None
    if phone is not None and not (_PHONE.fullmatch(phone) and any(c.isdigit() for c in phone)):
        errors.append(RowError(line, "phone", N_(
            "Phone may hold only digits, spaces, + and - and be 5 to 20 characters long, got %(value)s"),
            {"value": phone}))

    key = (building, unit, room)
    if all(key):
        if key in first_seen:
            errors.append(_duplicate(line, key, first_seen[key]))
        else:
            first_seen[key] = line

    if errors or isinstance(area, RowError):
        return errors
    return HouseholdRow(line=line, building=building, unit=unit, room=room, floor_area=area, owner=owner,
                        phone=phone)


def _duplicate(line: int, key: tuple[str, str, str], first_line: int) -> RowError:
    building, unit, room = key
    return RowError(line, "room", N_(
        "Building %(building)s, unit %(unit)s, room %(room)s is already on line %(first_line)s."),
        {"building": building, "unit": unit, "room": room, "first_line": first_line})


def parse(data: bytes) -> list[HouseholdRow]:
    """Read and check a household register; ``ImportRefused`` lists every problem in it."""
    text = decode(data)
    if not text.strip():
        raise ImportRefused([RowError(1, None, N_("The file is empty."))])
    header: dict[str, int] | None = None
    width = 0
    errors: list[RowError] = []
    rows: list[HouseholdRow] = []
    first_seen: dict[tuple[str, str, str], int] = {}
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
        checked = _check_row(line, cells, header, width, first_seen)
        if isinstance(checked, HouseholdRow):
            rows.append(checked)
        else:
            errors.extend(checked)
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(1, None, N_("The file has a header but no households."))])
    return rows


# ---------------------------------------------------------------- writing the register


def import_rows(session: Session, community_id: int, rows: Sequence[HouseholdRow]) -> ImportResult:
    """Upsert households by (community, building, unit, room) and their owners; the caller commits.

    Nothing is committed here: on any exception the caller's rollback leaves the database as it
    was, so a register is imported whole or not at all.
    """
    community = session.get(Area, community_id)
    if community is None or community.kind != AreaKind.community:
        raise ValueError(f"no community with id {community_id}")
    # Rows that did not come through ``parse`` are checked for the one thing that would make the
    # result depend on their order.
    seen: dict[tuple[str, str, str], int] = {}
    duplicates = []
    for row in rows:
        if row.key in seen:
            duplicates.append(_duplicate(row.line, row.key, seen[row.key]))
        seen.setdefault(row.key, row.line)
    if duplicates:
        raise ImportRefused(duplicates)

    existing = {(h.building, h.unit, h.room): h
                for h in session.exec(select(Household).where(Household.community_id == community_id)).all()}
    household_ids = [h.id for h in existing.values()]
    people: dict[int, list[Person]] = {}
    if household_ids:
        for person in session.exec(select(Person).where(Person.household_id.in_(household_ids))).all():
            people.setdefault(person.household_id, []).append(person)

    created = updated = 0
    for row in rows:
        household = existing.get(row.key)
        if household is None:
            household = Household(community_id=community_id, building=row.building, unit=row.unit, room=row.room,
                                  floor_area=row.floor_area)
            session.add(household)
            session.flush()  # the owner needs the household's id
            existing[row.key] = household
            created += 1
        else:
            if household.floor_area != row.floor_area:
                household.floor_area = row.floor_area
                session.add(household)
            updated += 1
        _set_owner(session, household, row, people.setdefault(household.id, []))
    session.flush()
    return ImportResult(created=created, updated=updated)


def _set_owner(session: Session, household: Household, row: HouseholdRow, members: list[Person]) -> None:
    owner = next((p for p in members if p.name == row.owner), None)
    if owner is None:
        owner = Person(name=row.owner, phone=row.phone, household_id=household.id, is_owner=True)
        members.append(owner)
    else:
        owner.is_owner = True
        # A file without a phone says nothing about it: keep one the office entered by hand.
        if row.phone is not None:
            owner.phone = row.phone
    session.add(owner)
    # The register names one owner per flat; whoever it no longer names (the flat was sold) stays
    # on file as a member, but no longer counts as an owner in owners' votes.
    for other in members:
        if other is not owner and other.is_owner:
            other.is_owner = False
            session.add(other)


def import_file(engine: Engine, community_id: int, data: bytes) -> ImportResult:
    """Parse a register and import it in one transaction (committed), or raise ``ImportRefused``."""
    rows = parse(data)
    with session_scope(engine) as session:
        result = import_rows(session, community_id, rows)
        session.commit()
    return result

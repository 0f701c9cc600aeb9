"""Reading and checking a household register file: a CSV of units (flats) and their owners.

Community offices keep the register in Excel, so a file may arrive as UTF-8 (with or without the
BOM Excel writes for "CSV UTF-8") or as GBK, which is what Excel in China saves by default; its
headers may be English or Chinese. ``parse`` reads and checks the whole file and refuses it with
every problem at once, each tied to the line a person sees in a text editor, so the office can fix
the file in one go instead of one error per upload.

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

from forum.i18n import N_, gettext

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


def check_units(rows: Sequence[HouseholdRow]) -> list[RowError]:
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
    errors += check_units(rows)
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(1, None, N_("The file has a header but no households."))])
    return rows

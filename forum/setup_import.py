"""Loading a district's set-up from CSV: the area tree, and the organisations around the table.

So a district can load its 79 communities in one go (``forum import areas``, ``forum import
organisations``). Files are UTF-8 (with or without the BOM Excel writes) or GBK, which Excel in
China saves by default. Every line is checked before anything is written: one bad line and nothing
is imported, and every problem is reported with its line. Loading the same file again adds
nothing: areas are found by their names under their parent, organisations by name.

Areas, one line per area, its parents named on the same line (created when missing):

    区,街道,社区,地址名
    渝中区,,,yuzhong
    渝中区,解放碑街道,,jiefangbei
    渝中区,解放碑街道,较场口社区,jiaochangkou

Organisations (kinds: 部门/department, 物业公司/property, 社会组织/social; communities and liaisons
separated by ; or 、; communities by address name or name):

    名称,类型,电话,服务社区,联络人,联络人电话
    渝中区城市管理局,部门,023-6380 1234,jiaochangkou;baixiangjie,张联络,13800000001
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, func, select

from forum import administration, areas
from forum.areas import Invalid
from forum.i18n import N_
from forum.models import Area, AreaKind, Organisation, OrganisationKind

AREA_HEADERS = {"district": ("区", "区县", "district"), "street": ("街道", "街道办事处", "镇", "street"),
                "community": ("社区", "community"), "slug": ("地址名", "网址名", "slug", "address name")}
ORGANISATION_HEADERS = {"name": ("名称", "单位", "单位名称", "name"), "kind": ("类型", "类别", "kind"),
                        "phone": ("电话", "联系电话", "phone"),
                        "communities": ("服务社区", "社区", "communities"),
                        "liaison": ("联络人", "liaison", "liaisons"),
                        "liaison_phone": ("联络人电话", "liaison phone", "liaison_phone")}
KIND_WORDS = {
    OrganisationKind.department: ("department", "部门", "政府部门", "职能部门"),
    OrganisationKind.property: ("property", "物业", "物业公司", "物业服务企业"),
    OrganisationKind.social: ("social", "社会组织", "社工机构", "社区社会组织"),
}
LIST_SEPARATORS = re.compile(r"[;；、|]")
MAX_LINES = 20_000


@dataclass(frozen=True)
class LineError:
    line: int
    field: str | None
    message: str
    params: dict = field(default_factory=dict)

    def english(self) -> str:
        return self.message % self.params if self.params else self.message


class Refused(Exception):
    """Nothing was imported; ``errors`` says why, line by line."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


# ---------------------------------------------------------------- reading


def _clean(value: str) -> str:
    # Full-width letters and digits (ＡＢ１) from Chinese input methods are the same as half-width.
    return " ".join(unicodedata.normalize("NFKC", value).split())


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Refused([LineError(1, None, N_("The file is neither UTF-8 nor GBK text. Save it from Excel as "
                                         "\"CSV UTF-8\" and try again."))])


def records(data: bytes, headers: dict[str, tuple[str, ...]], required: Iterable[str]) -> list[tuple[int, dict]]:
    """Each line after the header as {field: cell}, with its line number; the header's problems refused."""
    text = decode(data)
    if "\x00" in text:
        raise Refused([LineError(1, None, N_("The file holds a NUL character; it is not a CSV file."))])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise Refused([LineError(reader.line_num, None, N_("This line cannot be read as CSV: %(reason)s"),
                                 {"reason": str(exc)})]) from exc
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise Refused([LineError(1, None, N_("The file is empty."))])
    if len(rows) > MAX_LINES:
        raise Refused([LineError(MAX_LINES, None, N_("The file has more than %(n)d lines; split it."),
                                 {"n": MAX_LINES})])
    known = {_clean(alias).lower(): name for name, aliases in headers.items() for alias in aliases}
    line, header = rows[0]
    columns = {known[_clean(c).lower()]: i for i, c in reversed(list(enumerate(header))) if _clean(c).lower() in known}
    missing = [name for name in required if name not in columns]
    if missing:
        raise Refused([LineError(line, name, N_("The header has no column for %(column)s (accepted: %(accepted)s)."),
                                 {"column": name, "accepted": " / ".join(headers[name])}) for name in missing])
    return [(n, {name: _clean(row[i]) if i < len(row) else "" for name, i in columns.items()}) for n, row in rows[1:]]


def _problems(line: int, refused: Invalid, rename: dict[str, str] | None = None) -> list[LineError]:
    return [LineError(line, (rename or {}).get(k, k), m, p) for k, (m, p) in refused.problems.items()]


# ---------------------------------------------------------------- the area tree


@dataclass
class AreasResult:
    created: list[Area] = field(default_factory=list)
    existing: int = 0


def _find(db: Session, planned: dict, parent: Area | None, name: str, kind: str) -> Area | None:
    key = (parent.id if parent is not None else None, name)
    if key not in planned:
        planned[key] = db.exec(select(Area).where(Area.parent_id == key[0], Area.name == name,
                                                  Area.kind == kind)).first()
    return planned[key]


def import_areas(db: Session, data: bytes) -> AreasResult:
    """Every line's areas, created under their parents where missing; all lines or none. Writes
    into the caller's session, which commits (or rolls back on ``Refused``)."""
    result, errors, planned, slugs = AreasResult(), [], {}, {}
    for line, row in records(data, AREA_HEADERS, ("district", "street", "community")):
        path = [(kind, row[kind]) for kind in ("district", "street", "community")]
        depth = max((i for i, (_k, name) in enumerate(path) if name), default=-1)
        if depth < 0 or any(not name for _k, name in path[:depth]):
            errors.append(LineError(line, "district", N_("Name the district, and the street of a community.")))
            continue
        slug = row.get("slug", "").lower()
        if slug and slugs.setdefault(slug, line) != line:
            errors.append(LineError(line, "slug", N_("The address name %(slug)s is on line %(other)d too."),
                                    {"slug": slug, "other": slugs[slug]}))
            continue
        parent = None
        for i, (kind, name) in enumerate(path[: depth + 1]):
            found = _find(db, planned, parent, name, kind)
            if found is None:
                try:  # checks everything before it writes, so a refused line leaves nothing behind
                    found = areas.create(db, name=name, parent=parent, kind=kind, slug=slug if i == depth else "")
                except Invalid as refused:
                    errors += _problems(line, refused, {"name": kind, "parent": kind})
                    break
                result.created.append(found)
            elif i == depth:
                result.existing += 1
                if slug and found.slug != slug:
                    errors.append(LineError(line, "slug", N_("%(name)s exists already, with the address name "
                                                             "%(slug)s."), {"name": name, "slug": found.slug}))
            planned[(parent.id if parent is not None else None, name)] = found
            parent = found
    if errors:
        raise Refused(errors)
    return result


# ---------------------------------------------------------------- organisations


@dataclass
class OrganisationsResult:
    created: list[Organisation] = field(default_factory=list)
    updated: list[Organisation] = field(default_factory=list)
    liaisons: int = 0


def _kind(value: str) -> str | None:
    word = value.strip().lower()
    return next((kind.value for kind, words in KIND_WORDS.items() if word in words), None)


def _communities(db: Session, value: str, line: int, errors: list[LineError]) -> list[Area]:
    found = []
    for word in (w.strip() for w in LIST_SEPARATORS.split(value) if w.strip()):
        by_slug = areas.by_slug(db, word, AreaKind.community)
        named = [] if by_slug else list(db.exec(select(Area).where(Area.kind == AreaKind.community,
                                                                   Area.name == word)))
        if by_slug or len(named) == 1:
            found.append(by_slug or named[0])
        else:
            errors.append(LineError(line, "communities", N_("No single community is called %(name)s; give its "
                                                            "address name, like jiaochangkou.") if named else
                                    N_("There is no community %(name)s."), {"name": word}))
    return found


def _liaisons(row: dict) -> list[tuple[str, str]]:
    names = [n.strip() for n in LIST_SEPARATORS.split(row.get("liaison", "")) if n.strip()]
    phones = [p.strip() for p in LIST_SEPARATORS.split(row.get("liaison_phone", ""))]
    return [(name, phones[i] if i < len(phones) else "") for i, name in enumerate(names)]


def _organisation_line(db: Session, line: int, row: dict, result: OrganisationsResult,
                       errors: list[LineError]) -> None:
    kind = _kind(row["kind"])
    if kind is None:
        errors.append(LineError(line, "kind", N_("The kind is one of 部门, 物业公司, 社会组织 (or department, "
                                                 "property, social), not %(value)s."), {"value": row["kind"][:40]}))
        return
    communities = _communities(db, row.get("communities", ""), line, errors)
    existing = db.exec(select(Organisation).where(func.lower(Organisation.name) == row["name"].lower())).first()
    try:  # each step checks before it writes; a refused file is rolled back whole by the caller
        if existing is None:
            organisation = administration.create_organisation(db, name=row["name"], kind=kind,
                                                              phone=row.get("phone", ""), communities=communities)
            result.created.append(organisation)
        else:
            organisation = existing
            administration.update_organisation(
                db, existing, name=existing.name, kind=kind, phone=row.get("phone", "") or existing.phone or "",
                communities=communities, keep=administration.served(db, existing.id))
            result.updated.append(existing)
        have = {p.name for p in administration.liaisons(db, organisation.id)}
        for name, phone in _liaisons(row):
            if name not in have:
                administration.add_liaison(db, organisation, name=name, phone=phone)
                result.liaisons += 1
    except Invalid as refused:
        errors += _problems(line, refused, {"phone": "phone"})


def import_organisations(db: Session, data: bytes) -> OrganisationsResult:
    """Every line's organisation, created or brought up to date; all lines or none. The caller commits."""
    result, errors, seen = OrganisationsResult(), [], {}
    for line, row in records(data, ORGANISATION_HEADERS, ("name", "kind")):
        name = row["name"].lower()
        if seen.setdefault(name, line) != line:
            errors.append(LineError(line, "name", N_("%(name)s is on line %(other)d too."),
                                    {"name": row["name"], "other": seen[name]}))
            continue
        _organisation_line(db, line, row, result, errors)
    if errors:
        raise Refused(errors)
    return result

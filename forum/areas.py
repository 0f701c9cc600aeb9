"""The tree of areas: district → street → community. Create, rename, move, archive; never delete.

An area keeps its id and its address (slug) for life, so its meetings, issues, votes and audit
entries always point at it: renaming changes only the name, moving only the parent, archiving
only hides it from lists and choices (its pages and records stay). The checks are pure functions
over the tree's shape (``Node``); the operations below them read and write one session and
raise ``Invalid`` with a message per field, having written nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from forum.i18n import N_, gettext
from forum.models import Area, AreaKind, Meeting, MeetingStatus, now

NAME_MAX = 100
SLUG_MAX = 60
SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?")

# What each kind of area sits under; a district is a root.
PARENT_KIND: dict[AreaKind, AreaKind | None] = {
    AreaKind.district: None,
    AreaKind.street: AreaKind.district,
    AreaKind.community: AreaKind.street,
}
CHILD_KIND: dict[AreaKind | None, AreaKind] = {parent: kind for kind, parent in PARENT_KIND.items()}
AREA_KINDS = {
    AreaKind.district: N_("District"),
    AreaKind.street: N_("Street"),
    AreaKind.community: N_("Community"),
}


@dataclass
class Invalid(Exception):
    """What was wrong, by field: ``{field: (message, params)}``, messages marked for translation."""

    problems: dict[str, tuple[str, dict]] = field(default_factory=dict)

    def add(self, field_name: str, message: str, /, **params: object) -> None:
        self.problems.setdefault(field_name, (message, params))

    def raise_if_any(self) -> None:
        if self.problems:
            raise self

    def translated(self) -> dict[str, str]:
        """In the request's language, for the form."""
        return {k: gettext(m) % p if p else gettext(m) for k, (m, p) in self.problems.items()}

    def english(self) -> str:
        """For the command line."""
        return "; ".join(f"{k}: {m % p if p else m}" for k, (m, p) in self.problems.items())


def one_line(value: object, limit: int) -> str:
    """A one-line field as typed, spaces trimmed, cut at what the form allows (and a bit more, so
    an over-long value is refused by the length check rather than cut silently)."""
    return " ".join(str(value or "").split())[: limit + 1]


def check_name(problems: Invalid, name: str, field_name: str = "name", limit: int = NAME_MAX) -> None:
    if not name:
        problems.add(field_name, N_("Give a name."))
    elif len(name) > limit:
        problems.add(field_name, N_("A name has at most %(n)d characters."), n=limit)


# ---------------------------------------------------------------- the tree's shape (pure)


@dataclass(frozen=True)
class Node:
    id: int
    kind: str
    parent_id: int | None
    archived: bool = False


def chain(nodes: dict[int, Node], area_id: int) -> tuple[int, ...]:
    """The area and its ancestors, nearest first; a cycle in the data ends the walk."""
    out: list[int] = []
    current = nodes.get(area_id)
    while current is not None and current.id not in out:
        out.append(current.id)
        current = nodes.get(current.parent_id) if current.parent_id is not None else None
    return tuple(out)


def placement_problem(kind: str, parent: Node | None) -> str | None:
    """Why an area of that kind cannot sit under that parent, or None."""
    if kind not in AreaKind.__members__:
        return N_("Choose what kind of area it is.")
    wanted = PARENT_KIND[AreaKind(kind)]
    if parent is None:
        return None if wanted is None else N_("Choose where it belongs.")
    if parent.archived:
        return N_("That area is archived; choose one in use.")
    if wanted is None or parent.kind != wanted:
        return N_("A community belongs to a street, a street to a district.")
    return None


def move_problem(nodes: dict[int, Node], area_id: int, new_parent_id: int) -> str | None:
    """Why the area cannot move under that parent, or None: the kinds must fit, and an area can
    never go under itself or its own descendants (the tree would become a loop)."""
    area, parent = nodes.get(area_id), nodes.get(new_parent_id)
    if area is None or parent is None:
        return N_("Choose where it belongs.")
    if area_id in chain(nodes, new_parent_id):
        return N_("An area cannot move under itself or one of its own areas.")
    if area.parent_id == new_parent_id:
        return N_("It is there already.")
    return placement_problem(area.kind, parent)


def archive_problem(nodes: dict[int, Node], area_id: int, live_meetings: int = 0) -> str | None:
    """Why the area cannot be archived now, or None: not while areas in use sit under it (they
    would vanish from every list without anyone choosing so), nor during a live meeting."""
    if any(n.parent_id == area_id and not n.archived for n in nodes.values()):
        return N_("Areas in use belong to it; move or archive them first.")
    if live_meetings:
        return N_("A meeting is in session there; end it first.")
    return None


# ---------------------------------------------------------------- reading the tree


def nodes_of(db: Session) -> dict[int, Node]:
    return {a.id: Node(a.id, a.kind, a.parent_id, a.archived_at is not None) for a in db.exec(select(Area))}


def tree(db: Session, *, archived: bool = True) -> list[tuple[Area, int]]:
    """Every area in tree order with its depth (0 for districts), names sorted among siblings."""
    areas = list(db.exec(select(Area).order_by(Area.name, Area.id)))
    children: dict[int | None, list[Area]] = {}
    known = {a.id for a in areas}
    for a in areas:
        if archived or a.archived_at is None:
            children.setdefault(a.parent_id if a.parent_id in known else None, []).append(a)
    out: list[tuple[Area, int]] = []
    seen: set[int] = set()

    def walk(parent_id: int | None, depth: int) -> None:
        for a in children.get(parent_id, []):
            if a.id not in seen:
                seen.add(a.id)
                out.append((a, depth))
                walk(a.id, depth + 1)

    walk(None, 0)
    return out


def in_scope(db: Session, scope_id: int | None, kinds: Iterable[str] | None = None, *,
             archived: bool = False) -> list[Area]:
    """The areas within a scope (``None``: all), in tree order."""
    nodes = nodes_of(db)
    wanted = set(kinds) if kinds is not None else None
    return [a for a, _depth in tree(db, archived=archived)
            if (wanted is None or a.kind in wanted) and (scope_id is None or scope_id in chain(nodes, a.id))]


def by_slug(db: Session, slug: str, kind: str | None = None) -> Area | None:
    statement = select(Area).where(Area.slug == slug.strip().lower())
    if kind is not None:
        statement = statement.where(Area.kind == kind)
    return db.exec(statement).first()


# ---------------------------------------------------------------- changing it


def _sibling_named(db: Session, parent_id: int | None, name: str, but: int | None = None) -> bool:
    statement = select(Area.id).where(Area.parent_id == parent_id, Area.name == name,
                                      col(Area.archived_at).is_(None))
    if but is not None:
        statement = statement.where(Area.id != but)
    return db.exec(statement).first() is not None


def _check_slug(db: Session, problems: Invalid, slug: str) -> None:
    if not SLUG_RE.fullmatch(slug):
        problems.add("slug", N_("An address name has lower-case letters a–z, digits and hyphens, at most "
                                "%(n)d, like jiefangbei or baixiangjie-2."), n=SLUG_MAX)
    elif by_slug(db, slug) is not None:
        problems.add("slug", N_("Another area has the address name %(slug)s already."), slug=slug)


def create(db: Session, *, name: str, parent: Area | None, slug: str = "", kind: str | None = None) -> Area:
    """A new area under ``parent`` (a district when None). Its kind follows from the parent; an
    address name left blank is made from the kind and the new id."""
    problems = Invalid()
    name = one_line(name, NAME_MAX)
    slug = slug.strip().lower()
    if kind is None:  # under a community nothing fits: placement says so
        kind = CHILD_KIND.get(AreaKind(parent.kind) if parent else None, AreaKind.community) \
            if parent is None or parent.kind in AreaKind.__members__ else AreaKind.community
    check_name(problems, name)
    parent_node = Node(parent.id, parent.kind, parent.parent_id, parent.archived_at is not None) if parent else None
    problem = placement_problem(kind, parent_node)
    if problem:
        problems.add("parent", problem)
    if name and "name" not in problems.problems and _sibling_named(db, parent.id if parent else None, name):
        problems.add("name", N_("There is already an area called %(name)s here."), name=name)
    if slug:
        _check_slug(db, problems, slug)
    problems.raise_if_any()
    area = Area(name=name, kind=kind, parent_id=parent.id if parent else None, slug=slug or _provisional_slug())
    db.add(area)
    db.flush()
    if not slug:
        area.slug = f"{kind}-{area.id}"
        if by_slug(db, area.slug) not in (None, area):
            area.slug = f"{kind}-{area.id}-{now():%Y%m%d%H%M%S}"
        db.add(area)
        db.flush()
    return area


def _provisional_slug() -> str:
    import secrets

    return f"new-{secrets.token_hex(8)}"  # replaced within the same transaction, once the id is known


def rename(db: Session, area: Area, name: str) -> str:
    """Gives the area a new name; returns the old one (for the audit log)."""
    problems = Invalid()
    name = one_line(name, NAME_MAX)
    check_name(problems, name)
    if name and "name" not in problems.problems and _sibling_named(db, area.parent_id, name, but=area.id):
        problems.add("name", N_("There is already an area called %(name)s here."), name=name)
    problems.raise_if_any()
    old, area.name = area.name, name
    db.add(area)
    db.flush()
    return old


def move(db: Session, area: Area, new_parent: Area | None) -> Area | None:
    """Puts the area under ``new_parent``; returns the old parent."""
    problems = Invalid()
    problem = N_("Choose where it belongs.") if new_parent is None else \
        move_problem(nodes_of(db), area.id, new_parent.id)
    if problem:
        problems.add("parent", problem)
    elif _sibling_named(db, new_parent.id, area.name, but=area.id):
        problems.add("parent", N_("There is already an area called %(name)s there."), name=area.name)
    problems.raise_if_any()
    old = db.get(Area, area.parent_id) if area.parent_id else None
    area.parent_id = new_parent.id
    db.add(area)
    db.flush()
    return old


def archive(db: Session, area: Area) -> None:
    live = db.exec(select(Meeting.id).where(Meeting.community_id == area.id,
                                            Meeting.status == MeetingStatus.live)).all()
    problem = archive_problem(nodes_of(db), area.id, len(live))
    if problem:
        raise Invalid({"archive": (problem, {})})
    area.archived_at = now()
    db.add(area)
    db.flush()


def restore(db: Session, area: Area) -> None:
    """Back in use, under its parent, which must be in use itself."""
    parent = db.get(Area, area.parent_id) if area.parent_id else None
    if parent is not None and parent.archived_at is not None:
        raise Invalid({"archive": (N_("It belongs to an archived area; restore that first, or move it."), {})})
    if _sibling_named(db, area.parent_id, area.name, but=area.id):
        raise Invalid({"archive": (N_("There is already an area called %(name)s here."), {"name": area.name})})
    area.archived_at = None
    db.add(area)
    db.flush()


def path_names(db: Session, area: Area | None) -> str:
    """“渝中区 › 解放碑街道 › 较场口社区”, for lists and messages."""
    names: list[str] = []
    seen: set[int] = set()
    while area is not None and area.id not in seen:
        seen.add(area.id)
        names.append(area.name)
        area = db.get(Area, area.parent_id) if area.parent_id else None
    return " › ".join(reversed(names))


def labels(areas: Sequence[Area], db: Session) -> list[tuple[int, str]]:
    """Choices for a select: each area with its path."""
    return [(a.id, path_names(db, a)) for a in areas]

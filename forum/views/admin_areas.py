"""Administration: the overview with its set-up checklist, the area tree, and a community's own
settings (its committees, venue formats).

Admins of a street or district see and change only what lies in their scope (forum.auth); every
change writes one audit entry in the transaction that makes it.
"""

from __future__ import annotations

from sqlmodel import Session, col, func, select
from starlette.requests import Request
from starlette.responses import Response

from forum import accounts, administration, areas, audit, auth
from forum.areas import AREA_KINDS, CHILD_KIND, Invalid
from forum.i18n import N_, gettext
from forum.models import (
    Area,
    AreaKind,
    Committee,
    ForumFormat,
    Organisation,
    OrganisationCommunity,
    Role,
    Series,
    User,
)
from forum.views.admin_common import Forms, admin, check, done, page_with, scope, texts
from forum.web import form, get_or_404, int_param, page

CREATE_FIELDS = ("name", "parent", "slug")


def _community_of(area: Area) -> int | None:
    return area.id if area.kind == AreaKind.community else None


def _parents(db: Session, user: User, *, but: Area | None = None) -> list[tuple[int | str, str]]:
    """Areas in the admin's scope that can hold another: districts and streets in use."""
    found = areas.in_scope(db, scope(user), (AreaKind.district, AreaKind.street))
    return [(a.id, f"{areas.path_names(db, a)} ({_kind(a)})") for a in found if but is None or a.id != but.id]


def _kind(area: Area) -> str:
    return gettext(AREA_KINDS.get(AreaKind(area.kind), area.kind)) if area.kind in AreaKind.__members__ else area.kind


def checklist(db: Session, user: User) -> list[dict]:
    """The steps from an empty install to a community that meets, each with how far it has come."""
    here = scope(user)
    communities = areas.in_scope(db, here, (AreaKind.community,))
    ids = [c.id for c in communities]

    def count(statement) -> int:
        return db.exec(statement).one() if ids else 0

    held = accounts.in_scope(db, here)
    steps = [
        ("streets", len(areas.in_scope(db, here, (AreaKind.street,))), "admin_home"),
        ("communities", len(communities), "admin_home"),
        ("committees", count(select(func.count()).select_from(Committee).where(col(Committee.community_id).in_(ids))),
         "admin_home"),
        ("organisations", db.exec(select(func.count()).select_from(Organisation)).one() if here is None else
         count(select(func.count(func.distinct(OrganisationCommunity.organisation_id)))
               .where(col(OrganisationCommunity.community_id).in_(ids))), "admin_organisations"),
        ("facilitators", sum(1 for u in held if u.role == Role.facilitator and u.disabled_at is None), "admin_users"),
        ("series", count(select(func.count()).select_from(Series).where(col(Series.community_id).in_(ids))),
         "admin_home"),
    ]
    return [{"key": key, "count": n, "route": route} for key, n, route in steps]


def _home_context(db: Session, user: User) -> dict:
    here = scope(user)
    nodes = areas.nodes_of(db)
    rows = [(a, depth) for a, depth in areas.tree(db)
            if here is None or here in areas.chain(nodes, a.id)]
    top = min((d for _a, d in rows), default=0)
    return {"rows": [(a, d - top) for a, d in rows], "scope_area": db.get(Area, here) if here else None,
            "parents": _parents(db, user), "may_add_district": here is None, "steps": checklist(db, user),
            "AREA_KINDS": AREA_KINDS}


@page
def admin_home(request: Request, db: Session) -> Response:
    user = admin(request)
    context = _home_context(db, user)
    # Most areas added go under the top of one's own tree (the district, a street's for its admin).
    top = next((a.id for a, depth in context["rows"] if depth == 0 and a.kind != AreaKind.community
                and a.archived_at is None), "")
    return page_with(request, "admin_home.html", context, Forms(create={"name": "", "parent": top, "slug": ""}))


@page
def area_create(request: Request, db: Session) -> Response:
    """A new district (whole-installation admins), street or community under a parent in scope."""
    user = admin(request)
    values = texts(form(request), *CREATE_FIELDS, "back")
    parent = db.get(Area, int_param(values["parent"]) or 0) if values["parent"] else None
    if values["parent"] and parent is None:
        problem = Invalid({"parent": (N_("Choose where it belongs."), {})})
        return _create_refused(request, db, user, values, parent, problem)
    check(auth.administers(user, parent.id) if parent else auth.administers(user, None))
    try:
        area = areas.create(db, name=values["name"], parent=parent, slug=values["slug"])
    except Invalid as problem:
        db.rollback()
        return _create_refused(request, db, user, values, parent, problem)
    audit.record(db, request, "area_create", "area", area.id, f"{area.kind} {area.name} ({area.slug})",
                 community_id=_community_of(area))
    db.commit()
    return done(request, request.url_for("admin_area", id=area.id).path, "created")


def _create_refused(request: Request, db: Session, user: User, values: dict, parent: Area | None,
                    problem: Invalid) -> Response:
    if values.get("back") == "area" and parent is not None and auth.administers(user, parent.id):
        return page_with(request, "admin_area.html", _area_context(db, user, parent),
                         _area_forms(parent).failed("create", values, problem))
    return page_with(request, "admin_home.html", _home_context(db, user),
                     Forms().failed("create", values, problem))


# ---------------------------------------------------------------- one area


def _area_forms(area: Area) -> Forms:
    return Forms(rename={"name": area.name}, move={"parent": ""}, create={"name": "", "parent": area.id, "slug": ""},
                 format={"name": ""}, archive={})


def _area_context(db: Session, user: User, area: Area) -> dict:
    parent = db.get(Area, area.parent_id) if area.parent_id else None
    wanted = areas.PARENT_KIND.get(AreaKind(area.kind)) if area.kind in AreaKind.__members__ else None
    move_to = [(a.id, areas.path_names(db, a)) for a in areas.in_scope(db, scope(user), (wanted,) if wanted else ())
               if a.id != area.parent_id] if wanted else []
    children = list(db.exec(select(Area).where(Area.parent_id == area.id).order_by(Area.name)))
    child_kind = CHILD_KIND.get(AreaKind(area.kind)) if area.kind in (AreaKind.district, AreaKind.street) else None
    context = {"area": area, "parent": parent, "path": areas.path_names(db, area), "kind": _kind(area),
               "children": children, "child_kind": child_kind,
               "move_to": move_to, "may_change": auth.changes_area(user, area.id), "AREA_KINDS": AREA_KINDS,
               "accounts": [u for u in accounts.in_scope(db, area.id) if u.disabled_at is None]}
    if area.kind == AreaKind.community:
        committees = list(db.exec(select(Committee).where(Committee.community_id == area.id).order_by(Committee.id)))
        context |= {
            "committees": [(c, len(administration.members(db, c.id))) for c in committees],
            "formats": list(db.exec(select(ForumFormat).where(ForumFormat.community_id == area.id)
                                    .order_by(ForumFormat.id))),
            "organisations": list(db.exec(select(Organisation).join(
                OrganisationCommunity, col(OrganisationCommunity.organisation_id) == Organisation.id)
                .where(OrganisationCommunity.community_id == area.id).order_by(Organisation.name))),
            "series": list(db.exec(select(Series).where(Series.community_id == area.id).order_by(Series.id))),
        }
    return context


def _area(request: Request, db: Session) -> tuple[User, Area]:
    """The area, for an admin whose scope holds it (others: 403)."""
    user = admin(request)
    area = get_or_404(db, Area, request.path_params["id"])
    check(auth.administers(user, area.id))
    return user, area


@page
def admin_area(request: Request, db: Session) -> Response:
    user, area = _area(request, db)
    return page_with(request, "admin_area.html", _area_context(db, user, area), _area_forms(area))


def _refused(request: Request, db: Session, user: User, area: Area, name: str, values: dict,
             problem: Invalid) -> Response:
    db.rollback()
    db.refresh(area)
    return page_with(request, "admin_area.html", _area_context(db, user, area),
                     _area_forms(area).failed(name, values, problem))


@page
def area_rename(request: Request, db: Session) -> Response:
    user, area = _area(request, db)
    check(auth.changes_area(user, area.id))
    values = texts(form(request), "name")
    try:
        old = areas.rename(db, area, values["name"])
    except Invalid as problem:
        return _refused(request, db, user, area, "rename", values, problem)
    audit.record(db, request, "area_rename", "area", area.id, f"{old} → {area.name}", community_id=_community_of(area))
    db.commit()
    return done(request, request.url_for("admin_area", id=area.id).path, "renamed")


@page
def area_move(request: Request, db: Session) -> Response:
    user, area = _area(request, db)
    check(auth.changes_area(user, area.id))
    values = texts(form(request), "parent")
    new_parent = db.get(Area, int_param(values["parent"]) or 0)
    if new_parent is not None:
        check(auth.administers(user, new_parent.id))
    try:
        old = areas.move(db, area, new_parent)
    except Invalid as problem:
        return _refused(request, db, user, area, "move", values, problem)
    audit.record(db, request, "area_move", "area", area.id,
                 f"{old.name if old else '—'} → {new_parent.name if new_parent else '—'}",
                 community_id=_community_of(area))
    db.commit()
    return done(request, request.url_for("admin_area", id=area.id).path, "moved")


def _archive_step(request: Request, db: Session, operation, action: str, notice: str) -> Response:
    """Archive or restore an area: the same rule (who may change it), refusal and record."""
    user, area = _area(request, db)
    check(auth.changes_area(user, area.id))
    try:
        operation(db, area)
    except Invalid as problem:
        return _refused(request, db, user, area, "archive", {}, problem)
    audit.record(db, request, action, "area", area.id, area.name, community_id=_community_of(area))
    db.commit()
    return done(request, request.url_for("admin_area", id=area.id).path, notice)


@page
def area_archive(request: Request, db: Session) -> Response:
    return _archive_step(request, db, areas.archive, "area_archive", "archived")


@page
def area_restore(request: Request, db: Session) -> Response:
    return _archive_step(request, db, areas.restore, "area_restore", "restored")


# ---------------------------------------------------------------- a community's committees and formats


@page
def committees_setup(request: Request, db: Session) -> Response:
    """The "3+3" of a community, adding the kinds it lacks."""
    user, area = _area(request, db)
    try:
        added = administration.ensure_committees(db, area)
    except Invalid as problem:
        return _refused(request, db, user, area, "archive", {}, problem)
    if added:
        audit.record(db, request, "committee_create", "area", area.id, "、".join(c.name for c in added),
                     community_id=area.id)
    db.commit()
    return done(request, request.url_for("admin_area", id=area.id).path, "committees")


@page
def format_add(request: Request, db: Session) -> Response:
    user, area = _area(request, db)
    values = texts(form(request), "name")
    try:
        forum_format = administration.add_format(db, area, values["name"])
    except Invalid as problem:
        return _refused(request, db, user, area, "format", values, problem)
    audit.record(db, request, "format_add", "format", forum_format.id, forum_format.name, community_id=area.id)
    db.commit()
    return done(request, request.url_for("admin_area", id=area.id).path, "added")


@page
def format_rename(request: Request, db: Session) -> Response:
    user = admin(request)
    forum_format = get_or_404(db, ForumFormat, request.path_params["id"])
    area = db.get(Area, forum_format.community_id)
    check(auth.administers(user, area.id))
    values = texts(form(request), "name")
    try:
        old = administration.rename_format(db, forum_format, values["name"])
    except Invalid as problem:
        return _refused(request, db, user, area, f"format-{forum_format.id}", values, problem)
    audit.record(db, request, "format_rename", "format", forum_format.id, f"{old} → {forum_format.name}",
                 community_id=area.id)
    db.commit()
    return done(request, request.url_for("admin_area", id=area.id).path, "renamed")

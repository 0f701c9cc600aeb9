"""Administration: organisations (kinds, liaisons, communities served) and staff accounts (create,
role with a scope, disable, reset password).

Organisations are shared by the whole installation; an admin of a street or district changes one
only when every community it serves lies in their scope, and ticks only their own communities.
Accounts are changed by admins whose scope holds the account's (forum.auth.manages).
"""

from __future__ import annotations

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response

from forum import accounts, administration, areas, audit, auth, scopes, sessions
from forum.areas import Invalid
from forum.i18n import N_, gettext
from forum.models import Area, AreaKind, Committee, Organisation, Person, Role, User
from forum.views.admin_common import Forms, admin, check, done, page_with, scope, texts
from forum.web import form, get_or_404, int_param, page, render

ORGANISATION_FIELDS = ("name", "kind", "phone")
ACCOUNT_FIELDS = ("username", "display_name", "role", "scope", "committee", "organisation", "password")


# ---------------------------------------------------------------- organisations


def _may_edit(user: User, served: list[int]) -> bool:
    return scope(user) is None or (bool(served) and all(auth.administers(user, c) for c in served))


def _community_choices(db: Session, user: User) -> list[tuple[int, str]]:
    return areas.labels(areas.in_scope(db, scope(user), (AreaKind.community,)), db)


def _chosen_communities(db: Session, user: User, raw: list[str]) -> list:
    """The communities ticked; one outside the admin's scope (or none such) stands as None, refused."""
    allowed = {c for c, _label in _community_choices(db, user)}
    return [db.get(Area, int_param(r) or 0) if (int_param(r) or 0) in allowed else None for r in raw[:500]]


def _organisations_context(db: Session, user: User) -> dict:
    rows = []
    for organisation in db.exec(select(Organisation).order_by(Organisation.kind, Organisation.name)):
        served = administration.served(db, organisation.id)
        if scope(user) is None or any(auth.administers(user, c) for c in served):
            rows.append((organisation, len(served), len(administration.liaisons(db, organisation.id))))
    return {"organisations": rows, "community_choices": _community_choices(db, user)}


@page
def admin_organisations(request: Request, db: Session) -> Response:
    """GET: the organisations around the table. POST: a new one."""
    user = admin(request)
    forms = Forms(create={"name": "", "kind": "", "phone": "", "communities": []})
    if request.method == "POST":
        data = form(request)
        values = texts(data, *ORGANISATION_FIELDS) | {"communities": [str(v)[:20] for v in data.getlist("communities")]}
        chosen = _chosen_communities(db, user, values["communities"])
        problem = Invalid()
        if scope(user) is not None and not chosen:
            problem.add("communities", N_("Choose the communities it serves."))
        try:
            problem.raise_if_any()
            organisation = administration.create_organisation(db, name=values["name"], kind=values["kind"],
                                                              phone=values["phone"], communities=chosen)
        except Invalid as refused:
            db.rollback()
            forms.failed("create", values, refused)
        else:
            audit.record(db, request, "organisation_create", "organisation", organisation.id, organisation.name)
            db.commit()
            return done(request, request.url_for("admin_organisation", id=organisation.id).path, "created")
    return page_with(request, "admin_organisations.html", _organisations_context(db, user), forms)


def _organisation(request: Request, db: Session) -> tuple[User, Organisation, list[int]]:
    user = admin(request)
    organisation = get_or_404(db, Organisation, request.path_params["id"])
    served = administration.served(db, organisation.id)
    check(_may_edit(user, served))
    return user, organisation, served


def _organisation_context(db: Session, user: User, organisation: Organisation) -> dict:
    return {"organisation": organisation, "liaisons": administration.liaisons(db, organisation.id),
            "community_choices": _community_choices(db, user),
            "accounts": list(db.exec(select(User).where(User.organisation_id == organisation.id).order_by(User.id)))}


def _organisation_forms(organisation: Organisation, served: list[int]) -> Forms:
    return Forms(edit={"name": organisation.name, "kind": organisation.kind, "phone": organisation.phone or "",
                       "communities": [str(c) for c in served]}, liaison={"name": "", "phone": ""})


@page
def admin_organisation(request: Request, db: Session) -> Response:
    """GET: an organisation, its liaisons and the communities it serves. POST: change them."""
    user, organisation, served = _organisation(request, db)
    forms = _organisation_forms(organisation, served)
    if request.method == "POST":
        data = form(request)
        values = texts(data, *ORGANISATION_FIELDS) | {"communities": [str(v)[:20] for v in data.getlist("communities")]}
        visible = {c for c, _label in _community_choices(db, user)}
        try:
            changes = administration.update_organisation(
                db, organisation, name=values["name"], kind=values["kind"], phone=values["phone"],
                communities=_chosen_communities(db, user, values["communities"]),
                keep=[c for c in served if c not in visible])
        except Invalid as refused:
            db.rollback()
            db.refresh(organisation)
            forms.failed("edit", values, refused)
        else:
            audit.record(db, request, "organisation_update", "organisation", organisation.id, "; ".join(changes))
            db.commit()
            return done(request, request.url_for("admin_organisation", id=organisation.id).path, "saved")
    return page_with(request, "admin_organisation.html", _organisation_context(db, user, organisation), forms)


@page
def liaison_add(request: Request, db: Session) -> Response:
    user, organisation, served = _organisation(request, db)
    values = texts(form(request), "name", "phone")
    try:
        person = administration.add_liaison(db, organisation, name=values["name"], phone=values["phone"])
    except Invalid as refused:
        db.rollback()
        return page_with(request, "admin_organisation.html", _organisation_context(db, user, organisation),
                         _organisation_forms(organisation, served).failed("liaison", values, refused))
    audit.record(db, request, "liaison_add", "organisation", organisation.id, person.name)
    db.commit()
    return done(request, request.url_for("admin_organisation", id=organisation.id).path, "added")


@page
def liaison_remove(request: Request, db: Session) -> Response:
    user = admin(request)
    person = get_or_404(db, Person, request.path_params["id"])
    organisation = db.get(Organisation, person.organisation_id) if person.organisation_id else None
    if organisation is None:
        return render(request, "error.html", {"status": 409, "message": gettext(
            N_("This person speaks for no organisation now."))}, status_code=409)
    check(_may_edit(user, administration.served(db, organisation.id)))
    administration.remove_liaison(db, person)
    audit.record(db, request, "liaison_remove", "organisation", organisation.id, person.name)
    db.commit()
    return done(request, request.url_for("admin_organisation", id=organisation.id).path, "removed")


# ---------------------------------------------------------------- accounts


def _account_choices(db: Session, user: User) -> dict:
    here = scope(user)
    in_scope = areas.in_scope(db, here)
    community_ids = {a.id for a in in_scope if a.kind == AreaKind.community}
    committees = [c for c in db.exec(select(Committee).order_by(Committee.community_id, Committee.id))
                  if c.community_id in community_ids]
    names = {a.id: a.name for a in in_scope}
    whole = [("", gettext(N_("The whole installation")))] if here is None else []
    return {"scope_choices": whole + areas.labels(in_scope, db),
            "committee_choices": [(c.id, f"{names[c.community_id]} › {c.name}") for c in committees],
            "organisation_choices": [(o.id, o.name) for o in db.exec(select(Organisation).order_by(Organisation.name))]}


def _grant(db: Session, user: User, values: dict) -> accounts.Grant:
    """The role asked for; a scope outside the admin's own is refused with 403 (one cannot hand
    out more than one holds)."""
    area = db.get(Area, int_param(values["scope"]) or 0) if values["scope"] else None
    if values["scope"] and area is None:
        raise Invalid({"scope": (N_("Choose where the role is held."), {})})
    check(auth.administers(user, area.id if area else None))
    committee = db.get(Committee, int_param(values["committee"]) or 0) if values["committee"] else None
    organisation = db.get(Organisation, int_param(values["organisation"]) or 0) if values["organisation"] else None
    if committee is not None:
        check(auth.administers(user, committee.community_id))
    return accounts.Grant(role=values["role"], scope=area, committee=committee, organisation=organisation)


@page
def admin_users(request: Request, db: Session) -> Response:
    """GET: the staff accounts in the admin's scope. POST: a new one, its password shown once."""
    user = admin(request)
    # Links from an area or organisation page arrive with the account's place filled in.
    asked = {k: str(request.query_params.get(k, ""))[:20] for k in ("role", "scope", "committee", "organisation")
             if request.query_params.get(k)}
    forms = Forms(create={k: "" for k in ACCOUNT_FIELDS} | {"role": Role.facilitator.value} | asked)
    if request.method == "POST":
        data = form(request)
        values = texts(data, *ACCOUNT_FIELDS[:-1]) | {"password": str(data.get("password", ""))[:200]}
        try:
            created, password = accounts.create(db, username=values["username"], display_name=values["display_name"],
                                                grant=_grant(db, user, values), password=values["password"])
        except Invalid as refused:
            db.rollback()
            forms.failed("create", values | {"password": ""}, refused)
        else:
            audit.record(db, request, "account_create", "user", created.id, accounts.describe(db, created),
                         community_id=created.community_id)
            db.commit()
            shown = None if values["password"] else password
            return _user_page(request, db, user, created, new_password=shown, saved="created")
    return page_with(request, "admin_users.html", {"accounts": accounts.in_scope(db, scope(user)),
                                                   "areas": {a.id: a for a in areas.in_scope(db, None, archived=True)},
                                                   **_account_choices(db, user)}, forms)


def _account(request: Request, db: Session) -> tuple[User, User]:
    user = admin(request)
    other = get_or_404(db, User, request.path_params["id"])
    check(auth.manages(user, other))
    return user, other


def _user_page(request: Request, db: Session, user: User, other: User, *, forms: Forms | None = None,
               new_password: str | None = None, saved: str | None = None) -> Response:
    held = scopes.scope_of(other)
    shown = Forms(role={"role": other.role, "scope": str(held or ""), "committee": str(other.committee_id or ""),
                        "organisation": str(other.organisation_id or "")}, account={})
    shown.update(forms or {})  # the form refused, as it was sent
    context = {"account": other, "held": db.get(Area, held) if held else None, "is_me": other.id == user.id,
               "new_password": new_password, "saved_now": saved, **_account_choices(db, user)}
    response = page_with(request, "admin_user.html", context, shown)
    if new_password:
        response.headers["Cache-Control"] = "no-store"  # a password shown once stays out of every cache
    return response


@page
def admin_user(request: Request, db: Session) -> Response:
    """GET: an account. POST: give it another role or scope."""
    user, other = _account(request, db)
    if request.method != "POST":
        return _user_page(request, db, user, other)
    values = texts(form(request), "role", "scope", "committee", "organisation")
    try:
        before = accounts.change_role(db, other, _grant(db, user, values), by=user)
    except Invalid as refused:
        db.rollback()
        db.refresh(other)
        return _user_page(request, db, user, other, forms=Forms().failed("role", values, refused))
    audit.record(db, request, "role_change", "user", other.id, f"{before} → {accounts.describe(db, other)}",
                 community_id=other.community_id)
    db.commit()
    return done(request, request.url_for("admin_user", id=other.id).path, "saved")


@page
def user_disable(request: Request, db: Session) -> Response:
    user, other = _account(request, db)
    try:
        ended = accounts.disable(db, other, by=user)
    except Invalid as refused:
        db.rollback()
        return _user_page(request, db, user, other, forms=Forms().failed("account", {}, refused))
    audit.record(db, request, "account_disable", "user", other.id, f"{ended} session(s) ended",
                 community_id=other.community_id)
    db.commit()
    return done(request, request.url_for("admin_user", id=other.id).path, "disabled")


@page
def user_enable(request: Request, db: Session) -> Response:
    user, other = _account(request, db)
    sessions.enable(db, other)
    audit.record(db, request, "account_enable", "user", other.id, community_id=other.community_id)
    db.commit()
    return done(request, request.url_for("admin_user", id=other.id).path, "enabled")


@page
def user_password_reset(request: Request, db: Session) -> Response:
    """A new password, shown once to the admin to hand over; the account's sessions end."""
    user, other = _account(request, db)
    if other.id == user.id:
        return _user_page(request, db, user, other, forms=Forms().failed("account", {}, {
            "password": gettext(N_("Change your own password under Password, at the top of the page."))}))
    password, ended = accounts.reset_password(db, other)
    audit.record(db, request, "password_reset", "user", other.id, f"{ended} session(s) ended",
                 community_id=other.community_id)
    db.commit()
    return _user_page(request, db, user, other, new_password=password)

"""Admin pages: the staff audit log, and a resident's personal data (export, erase).

The audit log is read-only here: there is no route that changes or deletes an entry.
"""

from __future__ import annotations

import json

from sqlmodel import Session, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from forum import areas, audit, auth, people, scopes
from forum.i18n import gettext as _
from forum.models import Area, Household, Person, User
from forum.web import checks_control_characters, get_or_404, page, redirect, render, require, require_in


@page
@checks_control_characters("actor")  # a filter: unprintable characters are dropped from it
def audit_log(request: Request, db: Session) -> Response:
    require(request, auth.is_admin)
    params = {k: str(request.query_params.get(k, ""))[:100]
              for k in ("actor", "action", "target_type", "target_id", "since", "until")}
    filters, errors = audit.parse_filters(params)
    raw_before = str(request.query_params.get("before", ""))
    before = int(raw_before) if raw_before.isascii() and raw_before.isdigit() and len(raw_before) <= 18 else None
    # A street's or district's admin reads the entries of its communities (and their own).
    staff = request.state.user
    within = None if scopes.scope_of(staff) is None else \
        [a.id for a in areas.in_scope(db, scopes.scope_of(staff), ("community",), archived=True)]
    rows, next_before = audit.entries(db, filters, before, communities=within, actor_id=staff.id)
    communities = {a.id: a for a in db.exec(select(Area).where(Area.kind == "community"))}
    actors = list(db.exec(select(User.username).order_by(User.username)))
    next_url = None
    if next_before is not None:
        next_url = request.url.include_query_params(before=next_before)
    return render(request, "audit.html", {
        "rows": rows, "values": params, "errors": {k: _(v) for k, v in errors.items()}, "next_url": next_url,
        "communities": communities, "actors": actors, "ACTIONS": audit.ACTIONS, "TARGETS": audit.TARGETS,
        "first_page": before is None,
    }, status_code=422 if errors else 200)


def _person(request: Request, db: Session, *, admin_only: bool = False) -> tuple[User, Person, int | None]:
    """The person, for staff of their community (admins: anyone); others get 403."""
    person = get_or_404(db, Person, request.path_params["id"])
    community_id = people.community_of(db, person)
    if admin_only:
        staff = require_in(request, auth.is_admin, community_id)  # a street's admin: its residents only
    else:
        staff = require_in(request, auth.can_run_meetings, community_id)
        if community_id is None and not auth.is_admin(staff):
            raise HTTPException(403)
    return staff, person, community_id


@page
def person_page(request: Request, db: Session) -> Response:
    _staff, person, community_id = _person(request, db)
    household = db.get(Household, person.household_id) if person.household_id else None
    return render(request, "person.html", {"person": person, "household": household,
                                           "community": db.get(Area, community_id) if community_id else None,
                                           "erased": person.name.startswith(people.ERASED)})


@page
def person_export(request: Request, db: Session) -> Response:
    """What forum holds about one person, as a JSON download (a request for one's data)."""
    _staff, person, community_id = _person(request, db)
    data = people.export(db, person)
    audit.record(db, request, "person_export", "person", person.id, community_id=community_id)
    db.commit()
    return Response(json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
                    media_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="person-{person.id}.json"',
                             "Cache-Control": "no-store"})


@page
def person_erase(request: Request, db: Session) -> Response:
    """Erase a person's name and flat (admins only); votes and attendance stay as anonymous counts."""
    _staff, person, community_id = _person(request, db, admin_only=True)
    changed = people.erase(db, person)
    audit.record(db, request, "person_erase", "person", person.id,
                 ", ".join(f"{k} {v}" for k, v in changed.items()), community_id=community_id)
    db.commit()
    return redirect(request, request.url_for("person", id=person.id).path)


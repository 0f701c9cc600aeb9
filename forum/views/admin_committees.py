"""Administration: a committee (its name, members and chair), and a series' standing invitees.

Committees are the community admins' (forum.auth.administers); a series' standing invitees are set
by whoever runs the community's meetings, as the series itself is.
"""

from __future__ import annotations

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import Response

from forum import administration, audit, auth
from forum.areas import Invalid
from forum.i18n import N_
from forum.models import (
    Area,
    Committee,
    CommitteeMember,
    Organisation,
    OrganisationCommunity,
    Person,
    Series,
    SeriesInvitee,
)
from forum.views.admin_common import Forms, admin, check, done, page_with, texts
from forum.web import form, get_or_404, int_param, page, require_in


def _committee(request: Request, db: Session, committee: Committee | None = None) -> tuple[Committee, Area]:
    user = admin(request)
    committee = committee or get_or_404(db, Committee, request.path_params["id"])
    check(auth.administers(user, committee.community_id))
    return committee, db.get(Area, committee.community_id)


def _committee_context(db: Session, committee: Committee, community: Area) -> dict:
    current = administration.members(db, committee.id)
    former = [(m, p) for m, p in administration.members(db, committee.id, current=False) if m.left_at is not None]
    return {"committee": committee, "community": community, "members": current, "former": former}


def _forms(committee: Committee) -> Forms:
    return Forms(rename={"name": committee.name}, member={"name": "", "phone": "", "chair": ""}, members={})


def _refused(request: Request, db: Session, committee: Committee, name: str, values: dict,
             problem: Invalid) -> Response:
    db.rollback()
    db.refresh(committee)
    return page_with(request, "admin_committee.html", _committee_context(db, committee, db.get(Area,
                     committee.community_id)), _forms(committee).failed(name, values, problem))


@page
def admin_committee(request: Request, db: Session) -> Response:
    """GET: the committee's members and chair. POST: rename it."""
    committee, community = _committee(request, db)
    if request.method == "POST":
        values = texts(form(request), "name")
        try:
            old = administration.rename_committee(db, committee, values["name"])
        except Invalid as problem:
            return _refused(request, db, committee, "rename", values, problem)
        audit.record(db, request, "committee_rename", "committee", committee.id, f"{old} → {committee.name}",
                     community_id=community.id)
        db.commit()
        return done(request, request.url_for("admin_committee", id=committee.id).path, "renamed")
    return page_with(request, "admin_committee.html", _committee_context(db, committee, community), _forms(committee))


@page
def member_add(request: Request, db: Session) -> Response:
    committee, community = _committee(request, db)
    values = texts(form(request), "name", "phone", "chair")
    try:
        member = administration.add_member(db, committee, name=values["name"], phone=values["phone"],
                                           chair=values["chair"] == "1")
    except Invalid as problem:
        return _refused(request, db, committee, "member", values, problem)
    person = db.get(Person, member.person_id)
    audit.record(db, request, "member_add", "committee", committee.id,
                 f"{person.name}{' (chair)' if member.chair else ''}", community_id=community.id)
    db.commit()
    return done(request, request.url_for("admin_committee", id=committee.id).path, "added")


def _member(request: Request, db: Session) -> tuple[CommitteeMember, Committee, Area]:
    member = get_or_404(db, CommitteeMember, request.path_params["id"])
    committee, community = _committee(request, db, db.get(Committee, member.committee_id))
    return member, committee, community


@page
def member_chair(request: Request, db: Session) -> Response:
    member, committee, community = _member(request, db)
    try:
        administration.make_chair(db, member)
    except Invalid as problem:
        return _refused(request, db, committee, "members", {}, problem)
    audit.record(db, request, "member_chair", "committee", committee.id, db.get(Person, member.person_id).name,
                 community_id=community.id)
    db.commit()
    return done(request, request.url_for("admin_committee", id=committee.id).path, "saved")


@page
def member_remove(request: Request, db: Session) -> Response:
    member, committee, community = _member(request, db)
    try:
        administration.remove_member(db, member)
    except Invalid as problem:
        return _refused(request, db, committee, "members", {}, problem)
    audit.record(db, request, "member_remove", "committee", committee.id, db.get(Person, member.person_id).name,
                 community_id=community.id)
    db.commit()
    return done(request, request.url_for("admin_committee", id=committee.id).path, "removed")


# ---------------------------------------------------------------- a series' standing invitees


def _series(request: Request, db: Session) -> Series:
    series = get_or_404(db, Series, request.path_params["id"])
    require_in(request, auth.can_run_meetings, series.community_id)
    return series


def _invitees_context(db: Session, series: Series) -> dict:
    rows = list(db.exec(select(SeriesInvitee).where(SeriesInvitee.series_id == series.id).order_by(SeriesInvitee.id)))
    organisations = {o.id: o for o in db.exec(select(Organisation).order_by(Organisation.name))}
    committees = {c.id: c for c in db.exec(select(Committee).where(Committee.community_id == series.community_id)
                                           .order_by(Committee.id))}
    served = set(db.exec(select(OrganisationCommunity.organisation_id)
                         .where(OrganisationCommunity.community_id == series.community_id)))
    invited = [(i, organisations.get(i.organisation_id) if i.organisation_id else committees.get(i.committee_id))
               for i in rows]
    # Organisations that serve the community first: they are the usual guests.
    choices = [(f"o{o.id}", o.name) for o in organisations.values() if o.id in served] + \
              [(f"c{c.id}", c.name) for c in committees.values()] + \
              [(f"o{o.id}", o.name) for o in organisations.values() if o.id not in served]
    return {"series": series, "community": db.get(Area, series.community_id), "invited": invited,
            "choices": choices}


@page
def series_invitees(request: Request, db: Session) -> Response:
    """GET: who is invited to every meeting of the series. POST: invite an organisation or committee."""
    series = _series(request, db)
    forms = Forms(invitee={"invitee": ""})
    if request.method == "POST":
        values = texts(form(request), "invitee")
        raw = values["invitee"]
        ident = int_param(raw[1:]) or 0 if raw[:1] in ("o", "c") else 0
        organisation = db.get(Organisation, ident) if raw.startswith("o") else None
        committee = db.get(Committee, ident) if raw.startswith("c") else None
        try:
            invitee = administration.add_invitee(db, series, organisation=organisation, committee=committee)
        except Invalid as problem:
            db.rollback()
            forms.failed("invitee", values, problem)
        else:
            guest = organisation or committee
            audit.record(db, request, "invitee_add", "series", series.id, guest.name if guest else str(invitee.id),
                         community_id=series.community_id)
            db.commit()
            return done(request, request.url_for("series_invitees", id=series.id).path, "added")
    return page_with(request, "series_invitees.html", _invitees_context(db, series), forms)


@page
def invitee_remove(request: Request, db: Session) -> Response:
    series = _series(request, db)
    invitee = get_or_404(db, SeriesInvitee, request.path_params["invitee"])
    if invitee.series_id != series.id:
        problem = Invalid({"invitee": (N_("That is not an invitee of this series."), {})})
        return page_with(request, "series_invitees.html", _invitees_context(db, series),
                         Forms(invitee={"invitee": ""}).failed("invitee", {"invitee": ""}, problem))
    guest = db.get(Organisation, invitee.organisation_id) if invitee.organisation_id else \
        db.get(Committee, invitee.committee_id)
    db.delete(invitee)
    audit.record(db, request, "invitee_remove", "series", series.id, guest.name if guest else "",
                 community_id=series.community_id)
    db.commit()
    return done(request, request.url_for("series_invitees", id=series.id).path, "removed")

"""Pages of resident verification: printing household slips, a tablet entering its slip, and the
console's buttons to verify, admit, revoke, remove a device and replace the join code.

The rules are :mod:`forum.verification`'s and :mod:`forum.joining`'s; these views read the form,
call them, commit and tell the room.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import audit, auth, joining, room, verification
from forum.i18n import gettext as _
from forum.models import Attendance, Household, Meeting, Ownership, Person
from forum.views.common import community_or_404
from forum.views.room_common import Acting, announce, my_attendance, origin_of, tablet_context, with_token
from forum.web import form, get_or_404, int_param, page, qr_svg, render, require_in

SLIP_SESSION = verification.SLIP_SESSION


# ---------------------------------------------------------------- printing slips


def _buildings(db: Session, community_id: int) -> list[str]:
    rows = db.exec(select(Household.building).where(Household.community_id == community_id).distinct()).all()
    return sorted(rows, key=lambda b: (len(b), b))


@page
def slips(request: Request, db: Session) -> Response:
    """GET: choose a building (and unit) to print slips for. POST: issue them and show the A4 sheet."""
    community = community_or_404(db, request.path_params["community"])
    staff = require_in(request, auth.can_run_meetings, community.id)
    buildings = _buildings(db, community.id)
    values = {"building": "", "unit": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = form(request)
        values = {k: str(data.get(k, "")).strip()[:20] for k in ("building", "unit")}
        if values["building"] not in buildings:
            errors["building"] = _("Choose a building of this community.")
        else:
            days = request.app.state.settings.slip_days
            printed = verification.issue_slips(db, community.id, values["building"], values["unit"],
                                               by=staff.display_name, days=days)
            if not printed:
                errors["unit"] = _("Building %(b)s has no unit %(u)s.") % {"b": values["building"], "u": values["unit"]}
            else:
                audit.record(db, request, "slips_print", "community", community.id,
                             f"{values['building']}-{values['unit'] or '*'}: {len(printed)}", community_id=community.id)
                db.commit()
                origin = origin_of(request)
                return render(request, "slips_print.html", {
                    "community": community, "slips": printed, "building": values["building"], "unit": values["unit"],
                    "qr": qr_svg, "groups": verification.slip_groups, "origin": origin,
                    "url": lambda code: f"{origin}/slip?code={code}"})
    return render(request, "slips.html", {"community": community, "buildings": buildings, "values": values,
                                          "errors": errors, "days": request.app.state.settings.slip_days},
                  status_code=422 if errors else 200)


# ---------------------------------------------------------------- a device entering a slip


@page
def slip_link(request: Request, db: Session) -> Response:
    """Where a slip's QR code leads: keep the code on the device and take it to its meeting's
    tablet page (or to /join first, when it is in no meeting yet). Nothing is verified on a GET."""
    code = verification.normalise_slip(str(request.query_params.get("code", "")))
    if code:
        request.session[SLIP_SESSION] = code
    meeting_id = None
    held = request.session.get(joining.PASS_SESSION)
    if isinstance(held, dict) and isinstance(held.get("meeting"), int):
        meeting_id = held["meeting"]
    elif (me := auth.device_attendance(db, request.cookies, None)) is not None:
        meeting_id = me.meeting_id  # its latest meeting that has not ended
    where = request.url_for("room_tablet", id=meeting_id) if meeting_id else request.url_for("join")
    return RedirectResponse(where.path, status_code=303)


def _owners(db: Session, household: Household) -> list[Person]:
    return list(db.exec(select(Person).join(Ownership, Ownership.person_id == Person.id)
                        .where(Ownership.household_id == household.id).order_by(Person.id)))


def _owns(db: Session, person: Person, household: Household) -> bool:
    return db.get(Ownership, (household.id, person.id)) is not None


def _tablet_problem(request: Request, db: Session, meeting: Meeting, me: Attendance | None, errors: dict[str, str],
                    status: int, **extra: Any) -> Response:
    values = {"name": "", "building": "", "unit": "", "room": "", "code": "",
              "slip": str(form(request).get("slip", ""))[:40]}
    context = tablet_context(request, db, meeting, me, errors, values) | extra
    return render(request, "room_tablet.html", context, status_code=status)


@page
def tablet_slip(request: Request, db: Session) -> Response:
    """A resident enters their household slip's code: this device is checked in as that household's
    owner, verified for this meeting. A device not yet in the meeting needs its code (or pass) too."""
    meeting = get_or_404(db, Meeting, request.path_params["id"])
    data = form(request)
    me = my_attendance(request, db, meeting)
    if not joining.open_for_joining(meeting):
        return _tablet_problem(request, db, meeting, me, {"slip": _("This meeting is not open for joining.")}, 403)
    if me is None:
        problem = joining.check_entry(db, request, meeting, str(data.get("code", "")))
        if problem is not None:
            db.commit()  # the failed guess is counted; nothing else is stored
            return _tablet_problem(request, db, meeting, None, {"code": problem[1]}, problem[0])
    try:
        slip = verification.find_slip(db, request, meeting.community_id, str(data.get("slip", "")))
    except verification.SlipRefused as refused:
        db.commit()
        return _tablet_problem(request, db, meeting, me, {"slip": refused.message}, 422)
    household = db.get(Household, slip.household_id)
    owners = _owners(db, household)
    person = owners[0] if len(owners) == 1 else None
    if len(owners) > 1:
        person = next((p for p in owners if p.id == int_param(data.get("person"))), None)
        if person is None:  # the slip names several owners: which one is here?
            db.commit()
            return _tablet_problem(request, db, meeting, me, {}, 200, slip_owners=owners, slip_household=household)
    try:
        verification.use_slip(db, slip)
    except verification.SlipRefused as refused:
        db.rollback()
        return _tablet_problem(request, db, meeting, me, {"slip": refused.message}, 422)
    token = auth.device_token(request.cookies) or secrets.token_urlsafe(24)
    name = person.name if person else (me.name if me else _("Resident of %(room)s") % {
        "room": f"{household.building}-{household.unit}-{household.room}"})
    attendance = room.check_in(db, meeting, name=name, household=household, by="slip", device_token=token)
    if me is not None and me.id != attendance.id:
        me.device_token = None  # the device is now the verified resident's; the old check-in stays
        db.add(me)
    verification.verify(db, attendance, household, person, method="slip", by=_("household slip"), slip=slip)
    request.session.pop(SLIP_SESSION, None)
    db.commit()
    verification.late_arrival(db, meeting, attendance)
    announce(request, meeting, "attendance", "status")
    return with_token(RedirectResponse(request.url_for("room_tablet", id=meeting.id).path, status_code=303), token)


# ---------------------------------------------------------------- the console's buttons


def _attendance(a: Acting) -> Attendance:
    attendance = a.db.get(Attendance, a.values["attendance"] or 0)
    if attendance is None or attendance.meeting_id != a.meeting.id:
        raise HTTPException(404)
    return attendance


def rotate_code(a: Acting) -> str:
    if not joining.open_for_joining(a.meeting):
        raise HTTPException(409)
    joining.rotate(a.db, a.meeting)
    return ""


def verify(a: Acting) -> str:
    if a.values["household"] is not None:
        # At the desk, from the register: a resident who showed their ID.
        household = a.db.get(Household, a.values["household"])
        person = a.db.get(Person, a.values["person"] or 0)
        if household is None or household.community_id != a.meeting.community_id or person is None:
            raise HTTPException(404)
        if not _owns(a.db, person, household):
            raise HTTPException(409)  # binding votes are the owners'; the button is offered for owners only
        attendance = room.check_in(a.db, a.meeting, name=person.name, household=household, by=a.actor)
        verification.verify(a.db, attendance, household, person, method="register", by=a.actor)
        verification.late_arrival(a.db, a.meeting, attendance)
        return str(a.values["household"])
    # Someone who checked in with their flat shows their ID: the register's household and person.
    attendance = _attendance(a)
    household = a.db.get(Household, attendance.household_id) if attendance.household_id else None
    person = a.db.get(Person, attendance.person_id) if attendance.person_id else None
    if household is None or person is None or not _owns(a.db, person, household):
        raise HTTPException(409)  # only a registered owner's check-in is verified from here
    verification.verify(a.db, attendance, household, person, method="register", by=a.actor)
    verification.late_arrival(a.db, a.meeting, attendance)
    return str(attendance.id)


def revoke(a: Acting) -> str:
    attendance = _attendance(a)
    verification.revoke(a.db, attendance, by=a.actor)
    return str(attendance.id)


def admit(a: Acting) -> str:
    attendance = _attendance(a)
    attendance.admitted = True
    a.db.add(attendance)
    verification.late_arrival(a.db, a.meeting, attendance)
    return str(attendance.id)


def remove_device(a: Acting) -> str:
    attendance = _attendance(a)
    room.forget_device(a.db, attendance)
    return str(attendance.id)

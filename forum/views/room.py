"""The live meeting room's pages: the facilitator's console, residents' tablets, the hall's screen,
the shared tablet, joining by code, and the minutes.

The room's rules are :mod:`forum.room`'s; these views read the form, call them, commit and tell
the hub which parts changed. Every button is a real form POST answered by a redirect, so a room
works (with reloads) where websockets are blocked; htmx requests get the changed parts back at
once. Each button is a row of :data:`CONSOLE_ACTIONS` or :data:`TABLET_ACTIONS`: what it does,
which parts of the room it changes, which form fields it reads.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forum import audit, auth, joining, minutes, people, room, sessions, verification
from forum.forms import int_param
from forum.i18n import gettext as _
from forum.models import AgendaEntry, Household, Meeting, MeetingStatus, SpeakingRequest, User
from forum.views import verification as verification_views
from forum.views.room_common import (
    Acting,
    Refused,
    announce,
    answer,
    base_context,
    join_url,
    meeting_of,
    my_attendance,
    tablet_context,
    with_token,
)
from forum.web import form, kept, page, redirect, render, require, require_in

NAME_MAX, PLACE_MAX, COMMENT_MAX, DECISION_MAX = 60, 20, 1000, 4000
# The form fields buttons read, with the longest text kept of each; ids are read as numbers.
TEXT_FIELDS = {"name": NAME_MAX, "building": PLACE_MAX, "unit": PLACE_MAX, "room": PLACE_MAX,
               "decision": DECISION_MAX, "text": COMMENT_MAX, "code": 40, "up": 1}
ID_FIELDS = ("entry", "request", "household", "person", "attendance")


@dataclass(frozen=True)
class Button:
    """One of the room's buttons. ``run`` does it (a console's returns what the staff log keeps of
    it, by number, never a resident's name; a tablet's, whether anything changed); ``parts`` are
    the parts of the room it changes (None: all; or a function of the fields, where that depends
    on them); ``fields`` the form fields it reads."""

    run: Callable[[Acting], Any]
    parts: tuple[str, ...] | Callable[[Mapping[str, Any]], tuple[str, ...]] | None = ()
    fields: tuple[str, ...] = ()
    identified: bool = True  # a tablet's: only a device checked in may press it


def _values(data: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: int_param(data.get(name)) if name in ID_FIELDS
            else str(data.get(name, "")).strip()[:TEXT_FIELDS[name]] for name in names}


def _parts(request: Request, button: Button, values: Mapping[str, Any]) -> tuple[str, ...]:
    if button.parts is None:
        return tuple(request.app.state.hub.parts)
    return button.parts(values) if callable(button.parts) else button.parts


def _in_meeting(thing: Any, meeting: Meeting) -> Any:
    if thing is None or thing.meeting_id != meeting.id:
        raise HTTPException(404)
    return thing


# ---------------------------------------------------------------- the console's buttons


def _start(a: Acting) -> str:
    room.start(a.db, a.meeting, actor=a.actor)
    return ""


def _end(a: Acting) -> str:
    room.end(a.db, a.meeting, actor=a.actor)
    return ""


def _next(a: Acting) -> str:
    room.step(a.db, a.meeting, 1, actor=a.actor)
    return ""


def _previous(a: Acting) -> str:
    room.step(a.db, a.meeting, -1, actor=a.actor)
    return ""


def _jump(a: Acting) -> str:
    entry = _in_meeting(a.db.get(AgendaEntry, a.values["entry"] or 0), a.meeting)
    room.go_to(a.db, a.meeting, entry, actor=a.actor)
    return f"agenda entry {entry.id}"


def _floor(a: Acting) -> str:
    speaking = _in_meeting(a.db.get(SpeakingRequest, a.values["request"] or 0), a.meeting)
    room.give_floor(a.db, a.meeting, speaking)
    return f"speaking request {speaking.id}"


def _remove(a: Acting) -> str:
    speaking = _in_meeting(a.db.get(SpeakingRequest, a.values["request"] or 0), a.meeting)
    room.remove_request(a.db, speaking)
    return f"speaking request {speaking.id}"


def _next_speaker(a: Acting) -> str:
    room.next_speaker(a.db, a.meeting)
    return ""


def _clear(a: Acting) -> str:
    room.clear_queue(a.db, a.meeting)
    return ""


def _decision(a: Acting) -> str:
    entry = room.current_entry(a.db, a.meeting)
    if entry is None:
        raise HTTPException(409)
    room.record_decision(a.db, a.meeting, entry, a.values["decision"], actor=a.actor)
    return a.values["decision"]


def _check_in(a: Acting) -> str:
    household = a.db.get(Household, a.values["household"] or 0)
    if household is not None and household.community_id != a.meeting.community_id:
        household = None
    if not a.values["name"]:
        raise Refused({"name": _("Give the person's name.")})
    checked = room.check_in(a.db, a.meeting, name=a.values["name"], household=household, by=a.actor,
                            building=a.values["building"], unit=a.values["unit"], room=a.values["room"])
    verification.late_arrival(a.db, a.meeting, checked)  # offered the shared tablet in an open vote
    return f"attendance {checked.id}"


MOVED = ("agenda", "entry", "queue")  # another entry under discussion
CONSOLE_ACTIONS: dict[str, Button] = {
    "start": Button(_start, None),
    "end": Button(_end, None),
    "next": Button(_next, MOVED),
    "previous": Button(_previous, MOVED),
    "jump": Button(_jump, MOVED, ("entry",)),
    "floor": Button(_floor, ("queue",), ("request",)),
    "remove": Button(_remove, ("queue",), ("request",)),
    "next-speaker": Button(_next_speaker, ("queue",)),
    "clear": Button(_clear, ("queue",)),
    "decision": Button(_decision, ("entry", "agenda"), ("decision",)),
    "checkin": Button(_check_in, ("attendance", "status"), ("household", "name", "building", "unit", "room")),
    "rotate-code": Button(verification_views.rotate_code, ("status",)),
    # From the register, verifying checks the resident in too: the count changes.
    "verify": Button(verification_views.verify,
                     lambda v: ("attendance", "status") if v["household"] else ("attendance",),
                     ("household", "person", "attendance")),
    "revoke": Button(verification_views.revoke, ("attendance",), ("attendance",)),
    "admit": Button(verification_views.admit, ("attendance",), ("attendance",)),
    "remove-device": Button(verification_views.remove_device, ("attendance",), ("attendance",)),
}


# ---------------------------------------------------------------- the console


def _run(request: Request, db: Session) -> tuple[User, Meeting]:
    """The facilitator and the meeting they may run (another community's: 403)."""
    staff = require(request, auth.can_run_meetings)
    meeting = meeting_of(request, db)
    if not auth.can_run(staff, meeting):
        raise HTTPException(403)
    return staff, meeting


@page
def console(request: Request, db: Session) -> Response:
    staff, meeting = _run(request, db)
    query = str(request.query_params.get("q", ""))[:60]
    facilitator = db.get(User, meeting.facilitator_id) if meeting.facilitator_id else None
    context = base_context(request, db, meeting, "console") | {
        "staff": staff, "facilitator": facilitator, "q": query, "join_url": join_url(request, meeting),
        "results": room.search_households(db, meeting.community_id, query), "errors": {}, "values": {},
    }
    return render(request, "room_console.html", context)


@page
def household_search(request: Request, db: Session) -> Response:
    _staff, meeting = _run(request, db)
    query = str(request.query_params.get("q", ""))[:60]
    return render(request, "_partials/room_household_results.html",
                  {"meeting": meeting, "q": query, "results": room.search_households(db, meeting.community_id, query)})


@page
def console_action(request: Request, db: Session) -> Response:
    """Every button of the console: one POST endpoint per action name, dispatched by CONSOLE_ACTIONS."""
    staff, meeting = _run(request, db)
    action = request.path_params["action"]
    button = CONSOLE_ACTIONS.get(action)
    if button is None:
        raise HTTPException(404)
    data = form(request)
    acting = Acting(request, db, meeting, _values(data, button.fields), actor=staff.display_name)
    try:
        detail = button.run(acting)
    except Refused as refused:
        return _console_problem(request, db, meeting, staff, refused.errors, data)
    audit.record(db, request, f"room_{action.replace('-', '_')}", "meeting", meeting.id, detail,
                 community_id=meeting.community_id)
    db.commit()
    return answer(request, db, meeting, "console", request.url_for("room_console", id=meeting.id).path,
                  _parts(request, button, acting.values))


def _console_problem(request: Request, db: Session, meeting: Meeting, staff: User, errors: dict[str, str],
                     data: Any) -> Response:
    values = {k: str(data.get(k, ""))[:NAME_MAX] for k in ("name", "building", "unit", "room")}
    context = base_context(request, db, meeting, "console") | {
        "staff": staff, "facilitator": db.get(User, meeting.facilitator_id) if meeting.facilitator_id else None,
        "q": "", "join_url": join_url(request, meeting), "results": [], "errors": errors, "values": values,
    }
    return render(request, "room_console.html", context, status_code=422)


# ---------------------------------------------------------------- the screen and the shared tablet


@page
def screen(request: Request, db: Session) -> Response:
    meeting = meeting_of(request, db)
    return render(request, "room_screen.html", base_context(request, db, meeting, "screen"))


@page
def shared_tablet(request: Request, db: Session) -> Response:
    """GET: the meeting's shared tablet, which shows the ballot the facilitator opens for
    one voter at a time. POST (staff): make this device the shared tablet. That signs the staff
    member out here, so a tablet residents pass around never carries a staff sign-in."""
    meeting = meeting_of(request, db)
    if request.method == "POST":
        staff = require_in(request, auth.can_run_meetings, meeting.community_id)
        # The staff session ends in the database, so a copy of its cookie opens nothing either.
        audit.record(db, request, "shared_tablet", "meeting", meeting.id, community_id=meeting.community_id)
        sessions.end(db, request, "tablet")
        db.commit()
        request.session[auth.SHARED_TABLET_SESSION] = {"meeting": meeting.id, "by": staff.display_name}
        response = redirect(request, request.url_for("room_shared_tablet", id=meeting.id).path)
        # Nor anyone's check-in (whoever uses it could cast their ballot), nor staff pages one
        # Back away in the browser's cache.
        response.delete_cookie(auth.DEVICE_COOKIE)
        response.headers["Clear-Site-Data"] = '"cache"'
        return response
    if not auth.is_shared_tablet_of(request.session, meeting.id):
        require_in(request, auth.can_run_meetings, meeting.community_id)  # staff may look at it
    return render(request, "room_shared_tablet.html", base_context(request, db, meeting, "shared_tablet"))


# ---------------------------------------------------------------- joining


@page
def join(request: Request, db: Session) -> Response:
    """The code on the wall (or in the QR code) takes a tablet to its meeting, with a pass to check in."""
    source = form(request) if request.method == "POST" else request.query_params
    raw = str(source.get("code", ""))[:40]
    code = joining.normalise(raw)
    if request.method == "GET" and "code" not in request.query_params:
        return render(request, "join.html", {"values": {"code": ""}, "errors": {}})
    wait = joining.wait_seconds(db, request, None)
    if wait:
        return render(request, "join.html", {"values": {"code": raw}, "errors": {"code": joining.wait_message(wait)}},
                      status_code=429, headers={"Retry-After": str(wait)})
    meeting = joining.find_by_code(db, code)
    if meeting is not None:
        joining.give_pass(request.session, meeting)
        return RedirectResponse(request.url_for("room_tablet", id=meeting.id).path, status_code=303)
    joining.record_failure(db, request, None)
    db.commit()
    if not joining.CODE_RE.match(code):
        message, status = _("A meeting code is ten digits, like 482 913 0275. Check the code shown in the hall."), 422
    else:
        message, status = _("No meeting open for joining has the code %(code)s. Check the code shown in the hall.") % {
            "code": joining.grouped(code)}, 404
    return render(request, "join.html", {"values": {"code": raw}, "errors": {"code": message}}, status_code=status)


# ---------------------------------------------------------------- the tablet's buttons


def _join(a: Acting) -> bool:
    if a.meeting.status == MeetingStatus.ended:
        return False
    values = {k: a.values[k] for k in ("name", "building", "unit", "room")}
    # The meeting's current code (typed here, or the pass /join gave), before anything else.
    problem = joining.check_entry(a.db, a.request, a.meeting, a.values["code"])
    if problem is not None:
        status, message = problem
        raise Refused({"code": message}, status, values=values, counted=True)  # the failed guess is counted
    if not values["name"]:
        raise Refused({"name": _("Please give your name.")}, values=values)
    if not joining.admit_self_check_in(a.db, a.meeting):
        # The refusal is counted, for the console; nothing else is stored.
        raise Refused({"name": _("Many devices are checking in at once. Please wait a minute and try again, or ask "
                                 "the facilitator.")}, 429, values=values, counted=True, parts=("attendance",))
    a.token = auth.device_token(a.request.cookies) or secrets.token_urlsafe(24)
    room.forget_device(a.db, a.me)  # this tablet was someone else's: they stay checked in, the device is not theirs
    room.check_in(a.db, a.meeting, device_token=a.token, **values)
    return True


def _next_person(a: Acting) -> bool:
    # A shared tablet: the person stays checked in; the device forgets them and gets a new name.
    room.forget_device(a.db, a.me)
    a.token = secrets.token_urlsafe(24)
    return False


def _hand(a: Acting) -> bool:
    assert a.me is not None
    if a.values["up"] == "1":
        if a.meeting.status == MeetingStatus.live:
            room.raise_hand(a.db, a.meeting, a.me)
    else:
        room.lower_hand(a.db, a.me)
    return True


def _comment(a: Acting) -> bool:
    assert a.me is not None
    if not a.values["text"]:
        return False
    room.add_comment(a.db, a.meeting, a.me, a.values["text"])
    return True


TABLET_ACTIONS: dict[str, Button] = {
    "join": Button(_join, ("attendance", "status"), ("name", "building", "unit", "room", "code"), identified=False),
    "next-person": Button(_next_person, (), identified=False),
    "hand": Button(_hand, ("queue",), ("up",)),
    "comment": Button(_comment, ("comments",), ("text",)),
}


# ---------------------------------------------------------------- the tablet


@page
def tablet(request: Request, db: Session) -> Response:
    meeting = meeting_of(request, db)
    me = my_attendance(request, db, meeting)
    return render(request, "room_tablet.html", tablet_context(request, db, meeting, me))


@page
def tablet_action(request: Request, db: Session) -> Response:
    """Every button of a tablet, dispatched by TABLET_ACTIONS; a device checked in as nobody is
    sent back to its page by any button but joining."""
    meeting = meeting_of(request, db)
    action = request.path_params["action"]
    back = request.url_for("room_tablet", id=meeting.id).path
    me = my_attendance(request, db, meeting)
    button = TABLET_ACTIONS.get(action)
    if me is None and (button is None or button.identified):
        return RedirectResponse(back, status_code=303)
    if button is None:
        raise HTTPException(404)
    acting = Acting(request, db, meeting, _values(form(request), button.fields), me=me)
    try:
        changed = button.run(acting)
    except Refused as refused:
        return _tablet_problem(request, db, meeting, refused)
    db.commit()
    response = answer(request, db, meeting, "tablet", back, _parts(request, button, acting.values) if changed else ())
    return with_token(response, acting.token) if acting.token else response


def _tablet_problem(request: Request, db: Session, meeting: Meeting, refused: Refused) -> Response:
    if refused.counted:
        db.commit()
    if refused.parts:
        announce(request, meeting, *refused.parts)
    values = refused.values | {"code": "", "slip": ""}
    context = tablet_context(request, db, meeting, None, refused.errors, values)
    return render(request, "room_tablet.html", context, status_code=refused.status)


# ---------------------------------------------------------------- minutes


def _record(request: Request, db: Session) -> minutes.Record:
    meeting = meeting_of(request, db)
    return minutes.record(db, meeting, full=people.may_see(request.state.user, meeting.community_id),
                          sections=request.app.state.minutes_sections)


@page
@kept
def minutes_page(request: Request, db: Session) -> Response:
    rec = _record(request, db)
    return render(request, "minutes.html", {"rec": rec, "community": rec.community})


@page
def minutes_markdown(request: Request, db: Session) -> Response:
    rec = _record(request, db)
    meeting = rec.meeting
    text = minutes.markdown(rec)
    filename = f"minutes-{meeting.id}-{meeting.starts_at:%Y-%m-%d}.md"
    return Response(text.encode("utf-8"), media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


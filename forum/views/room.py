"""The live meeting room: the facilitator's console, residents' tablets, the hall's screen, joining by code.

The room's state lives in the database (Meeting.current_entry_id, AgendaEntry times, Attendance,
SpeakingRequest, Comment); views change it with the operations below, commit, and tell the hub
which parts changed. Every button is a real form POST answered by a redirect, so a room works
(with reloads) where websockets are blocked; htmx requests get the actor's own parts back at once.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from markupsafe import Markup
from sqlalchemy import or_
from sqlmodel import Session, col, func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from forum import (
    audit,
    auth,
    electorate,
    issue_registry,
    joining,
    lifecycle,
    live,
    minutes,
    people,
    sessions,
    verification,
)
from forum.i18n import gettext as _
from forum.lifecycle import Facts, Step
from forum.models import (
    AgendaEntry,
    Area,
    Attendance,
    Comment,
    Household,
    Issue,
    IssueEvent,
    Meeting,
    MeetingStatus,
    Ownership,
    Person,
    SpeakingRequest,
    User,
    Vote,
    VoteStatus,
    now,
)
from forum.web import form, get_or_404, int_param, is_htmx, page, redirect, render, require, require_in

SPEAKER_MINUTES = 3
NAME_MAX, PLACE_MAX, COMMENT_MAX, DECISION_MAX = 60, 20, 1000, 4000
ACTIVE = ("waiting", "speaking")


# ---------------------------------------------------------------- reading the room


def entries_of(db: Session, meeting: Meeting) -> list[AgendaEntry]:
    return list(db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)
                        .order_by(AgendaEntry.position, AgendaEntry.id)))


def current_entry(db: Session, meeting: Meeting) -> AgendaEntry | None:
    if meeting.current_entry_id is None:
        return None
    entry = db.get(AgendaEntry, meeting.current_entry_id)
    return entry if entry is not None and entry.meeting_id == meeting.id else None


def epoch_ms(moment: datetime) -> int:
    # Naive times are the server's local time, as models.now() writes them.
    return int(moment.timestamp() * 1000)


def timer(started: datetime | None, minutes: int) -> dict[str, Any] | None:
    """What a count-down needs: the deadline, and the server's clock so a tablet can allow for its own."""
    if started is None:
        return None
    deadline = started + timedelta(minutes=minutes)
    left = int((deadline - now()).total_seconds())
    return {"deadline": epoch_ms(deadline), "server_now": epoch_ms(now()), "left": left, "minutes": minutes}


def clock(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 60:02d}:{seconds % 60:02d}"


def queue_of(db: Session, meeting: Meeting) -> list[tuple[SpeakingRequest, Attendance]]:
    rows = db.exec(select(SpeakingRequest, Attendance).join(Attendance, SpeakingRequest.attendance_id == Attendance.id)
                   .where(SpeakingRequest.meeting_id == meeting.id, col(SpeakingRequest.status).in_(ACTIVE))
                   .order_by(SpeakingRequest.raised_at, SpeakingRequest.id)).all()
    # The speaker first, then hands in the order they went up.
    return sorted(rows, key=lambda r: r[0].status != "speaking")


def attendance_count(db: Session, meeting: Meeting) -> int:
    return db.exec(select(func.count()).select_from(Attendance).where(Attendance.meeting_id == meeting.id)).one()


@lru_cache(maxsize=256)
def qr_svg(url: str) -> Markup:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    return Markup(svg)


# ---------------------------------------------------------------- the parts of a room page


def status_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    return {"count": attendance_count(db, meeting), "qr": qr_svg}


def entry_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    entry = current_entry(db, meeting)
    issue = db.get(Issue, entry.issue_id) if entry else None
    history: list[IssueEvent] = []
    if issue is not None:
        history = list(db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id)
                               .order_by(col(IssueEvent.at).desc(), col(IssueEvent.id).desc()).limit(5)))
    entries = entries_of(db, meeting)
    number = entries.index(entry) + 1 if entry in entries else None
    return {"entry": entry, "issue": issue, "history": history, "number": number, "total": len(entries),
            "timer": timer(meeting.entry_started_at, entry.planned_minutes) if entry else None, "clock": clock}


def agenda_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    entries = entries_of(db, meeting)
    issues = {i.id: i for i in db.exec(select(Issue).where(col(Issue.id).in_([e.issue_id for e in entries])))}
    return {"entries": entries, "issues": issues, "current": meeting.current_entry_id}


def queue_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    rows = queue_of(db, meeting)
    speaker = rows[0] if rows and rows[0][0].status == "speaking" else None
    waiting = [r for r in rows if r[0].status == "waiting"]
    return {"speaker": speaker, "waiting": waiting, "clock": clock,
            "speaker_timer": timer(speaker[0].started_at, SPEAKER_MINUTES) if speaker else None}


def attendance_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    people = list(db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)
                          .order_by(col(Attendance.checked_in_at).desc(), col(Attendance.id).desc())))
    owners = set(db.exec(select(Ownership.person_id).where(
        col(Ownership.person_id).in_({a.person_id for a in people if a.person_id}))))
    return {"people": people, "verifications": verification.verifications_of(db, meeting), "owners": owners,
            "refused_check_ins": joining.refused_check_ins(db, meeting),
            "late_since": _opened_votes_since(db, meeting)}


def _opened_votes_since(db: Session, meeting: Meeting) -> datetime | None:
    # Who checked in after an open vote of those present began is marked on the console.
    return db.exec(select(func.min(Vote.opened_at)).where(Vote.meeting_id == meeting.id, Vote.scope == "attendance",
                                                          Vote.status == VoteStatus.open)).one()


def comments_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    rows = db.exec(select(Comment, Attendance).join(Attendance, Comment.attendance_id == Attendance.id, isouter=True)
                   .where(Comment.meeting_id == meeting.id)
                   .order_by(col(Comment.at).desc(), col(Comment.id).desc()).limit(50)).all()
    return {"comments": rows, "current": meeting.current_entry_id}


live.register_part("status", "_partials/room_status.html", status_context)
live.register_part("entry", "_partials/room_entry.html", entry_context)
live.register_part("agenda", "_partials/room_agenda.html", agenda_context, audiences=("console", "tablet"))
live.register_part("queue", "_partials/room_queue.html", queue_context)
live.register_part("attendance", "_partials/room_attendance.html", attendance_context, audiences=("console",))
live.register_part("comments", "_partials/room_comments.html", comments_context, audiences=("console",))


# ---------------------------------------------------------------- changing the room


def _move_issue(db: Session, issue: Issue | None, step: Step, *, actor: str, meeting: Meeting,
                facts: Facts = Facts(), note: str = "") -> None:
    # Issues brought back to a coordination or review meeting are past these steps already.
    if issue is None:
        return
    try:
        issue_registry.move(db, issue, step, actor=actor, facts=facts, note=note, meeting_id=meeting.id)
    except lifecycle.Refused:
        pass


def _finish_speaker(db: Session, meeting: Meeting) -> None:
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id,
                                                         SpeakingRequest.status == "speaking")):
        request.status, request.ended_at = "done", now()
        db.add(request)


def go_to(db: Session, meeting: Meeting, entry: AgendaEntry | None, *, actor: str) -> None:
    """Make ``entry`` the one under discussion; its clock starts again."""
    previous = current_entry(db, meeting)
    if previous is not None and previous is not entry:
        previous.ended_at = now()
        db.add(previous)
    _finish_speaker(db, meeting)
    meeting.current_entry_id = entry.id if entry else None
    meeting.entry_started_at = now() if entry else None
    if entry is not None:
        entry.started_at = entry.started_at or now()
        entry.ended_at = None
        db.add(entry)
        _move_issue(db, db.get(Issue, entry.issue_id), Step.discuss, actor=actor, meeting=meeting)
    db.add(meeting)


def start(db: Session, meeting: Meeting, *, actor: str) -> None:
    if meeting.status == MeetingStatus.live:
        return
    meeting.join_code = meeting.join_code or joining.new_join_code(db)
    meeting.status = MeetingStatus.live
    meeting.started_at = meeting.started_at or now()
    meeting.ended_at = None
    if current_entry(db, meeting) is None:
        entries = entries_of(db, meeting)
        go_to(db, meeting, entries[0] if entries else None, actor=actor)
    db.add(meeting)


def end(db: Session, meeting: Meeting, *, actor: str) -> None:
    entry = current_entry(db, meeting)
    if entry is not None:
        entry.ended_at = now()
        db.add(entry)
    _finish_speaker(db, meeting)
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id,
                                                         SpeakingRequest.status == "waiting")):
        request.status = "withdrawn"
        db.add(request)
    meeting.status = MeetingStatus.ended
    meeting.ended_at = now()
    meeting.current_entry_id = None
    meeting.entry_started_at = None
    db.add(meeting)


def step(db: Session, meeting: Meeting, delta: int, *, actor: str) -> None:
    entries = entries_of(db, meeting)
    if not entries:
        return
    entry = current_entry(db, meeting)
    index = entries.index(entry) + delta if entry in entries else 0
    go_to(db, meeting, entries[max(0, min(index, len(entries) - 1))], actor=actor)


def record_decision(db: Session, meeting: Meeting, entry: AgendaEntry, text: str, *, actor: str) -> None:
    entry.decision = text or None
    db.add(entry)
    if text:
        issue = db.get(Issue, entry.issue_id)
        _move_issue(db, issue, Step.decide, actor=actor, meeting=meeting, facts=Facts(decision=text), note=text)


def give_floor(db: Session, meeting: Meeting, request: SpeakingRequest | None) -> None:
    _finish_speaker(db, meeting)
    if request is not None:
        request.status, request.started_at = "speaking", now()
        request.agenda_entry_id = meeting.current_entry_id
        db.add(request)


def next_speaker(db: Session, meeting: Meeting) -> None:
    waiting = [r for r, _a in queue_of(db, meeting) if r.status == "waiting"]
    give_floor(db, meeting, waiting[0] if waiting else None)


def clear_queue(db: Session, meeting: Meeting) -> None:
    _finish_speaker(db, meeting)
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id,
                                                         SpeakingRequest.status == "waiting")):
        request.status, request.ended_at = "removed", now()
        db.add(request)


def raise_hand(db: Session, meeting: Meeting, attendance: Attendance) -> SpeakingRequest:
    existing = db.exec(select(SpeakingRequest).where(SpeakingRequest.attendance_id == attendance.id,
                                                     col(SpeakingRequest.status).in_(ACTIVE))).first()
    if existing is not None:
        return existing
    request = SpeakingRequest(meeting_id=meeting.id, attendance_id=attendance.id,
                              agenda_entry_id=meeting.current_entry_id)
    db.add(request)
    return request


def lower_hand(db: Session, attendance: Attendance) -> None:
    for request in db.exec(select(SpeakingRequest).where(SpeakingRequest.attendance_id == attendance.id,
                                                         SpeakingRequest.status == "waiting")):
        request.status, request.ended_at = "withdrawn", now()
        db.add(request)


def find_household(db: Session, community_id: int, building: str, unit: str, room: str) -> Household | None:
    if not (building and room):
        return None
    return db.exec(select(Household).where(Household.community_id == community_id, Household.building == building,
                                           Household.unit == unit, Household.room == room)).first()


def check_in(db: Session, meeting: Meeting, *, name: str, building: str = "", unit: str = "", room: str = "",
             household: Household | None = None, by: str = "self", device_token: str | None = None) -> Attendance:
    """One person at the meeting; matched to the household registry where their room is given,
    and to the owner where the name is the owner's. The same person twice is one attendance."""
    household = household or find_household(db, meeting.community_id, building, unit, room)
    person = None
    if household is not None:
        building, unit, room = household.building, household.unit, household.room
        # Its residents, and its owners wherever they live.
        owners = select(Ownership.person_id).where(Ownership.household_id == household.id)
        person = db.exec(select(Person).where(or_(Person.household_id == household.id, col(Person.id).in_(owners)),
                                              Person.name == name).order_by(Person.id)).first()
    existing = db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id, Attendance.name == name,
                                                Attendance.building == building, Attendance.unit == unit,
                                                Attendance.room == room)).first()
    if existing is not None and not verification.may_reuse(existing, by, device_token):
        existing = None  # typing someone's name and flat does not make a device theirs
    attendance = existing or Attendance(meeting_id=meeting.id, name=name, building=building, unit=unit, room=room,
                                        household_id=household.id if household else None,
                                        person_id=person.id if person else None, is_guest=household is None,
                                        checked_in_by=by, admitted=by != "self")
    if device_token:
        attendance.device_token = device_token
    db.add(attendance)
    db.flush()
    return attendance


def search_households(db: Session, community_id: int, query: str
                      ) -> list[tuple[Household, list[Person], set[int]]]:
    """Households by "5-2-301" (building-unit-room, any part) or by a member's name, each with its
    residents and owners, and which of them are owners."""
    query = query.strip()[:60]
    if not query:
        return []
    numbers = [p for p in re.split(r"[\s\-/#栋幢号楼单元室]+", query) if p]
    statement = select(Household).where(Household.community_id == community_id)
    if numbers and all(re.fullmatch(r"[0-9A-Za-z]+", p) for p in numbers):
        for column, value in zip((Household.building, Household.unit, Household.room), numbers, strict=False):
            statement = statement.where(column == value)
    else:
        like = f"%{query}%"
        members = select(Person.household_id).where(col(Person.name).like(like))
        owned = select(Ownership.household_id).join(Person, Person.id == Ownership.person_id) \
            .where(col(Person.name).like(like))
        statement = statement.where(or_(col(Household.id).in_(members), col(Household.id).in_(owned),
                                        col(Household.room).like(like)))
    households = list(db.exec(statement.order_by(Household.building, Household.unit, Household.room).limit(20)))
    people: dict[int, list[Person]] = {h.id: [] for h in households}
    owned = electorate.ownerships(db, people)
    if households:
        owner_ids = {pid for ids in owned.values() for pid in ids}
        for person in db.exec(select(Person).where(or_(col(Person.household_id).in_(list(people)),
                                                       col(Person.id).in_(sorted(owner_ids)))).order_by(Person.id)):
            for household_id in people:
                if person.household_id == household_id or person.id in owned.get(household_id, ()):
                    people[household_id].append(person)
    return [(h, people[h.id], owned.get(h.id, set())) for h in households]


# ---------------------------------------------------------------- helpers for views


def _meeting(request: Request, db: Session) -> Meeting:
    return get_or_404(db, Meeting, request.path_params["id"])


def _run(request: Request, db: Session) -> tuple[User, Meeting]:
    """The facilitator and the meeting they may run (another community's: 403)."""
    staff = require(request, auth.can_run_meetings)
    meeting = _meeting(request, db)
    if not live.can_run(staff, meeting):
        raise HTTPException(403)
    return staff, meeting


def origin_of(request: Request) -> str:
    """Where tablets reach forum: the configured public URL, never a request's Host header;
    without one (local use), the address this request came to, which the allowed hosts bound."""
    return request.app.state.settings.public_url or str(request.base_url).rstrip("/")


def join_url(request: Request, meeting: Meeting) -> str:
    return f"{origin_of(request)}/join?code={meeting.join_code}" if meeting.join_code else ""


def base_context(request: Request, db: Session, meeting: Meeting, audience: str) -> dict[str, Any]:
    """What every room page has: its audience's parts as they stand, and where its socket is."""
    hub = request.app.state.hub
    return {"meeting": meeting, "community": db.get(Area, meeting.community_id), "audience": audience,
            "parts": hub.renderer.page_parts(db, meeting, audience, origin_of(request)),
            "ws_url": f"/meetings/{meeting.id}/ws?audience={audience}",
            "heartbeat": request.app.state.settings.heartbeat_seconds}


def _changed(request: Request, meeting: Meeting, *parts: str) -> None:
    request.app.state.hub.changed(meeting.id, *parts)


def _done(request: Request, db: Session, meeting: Meeting, audience: str, back: str, *parts: str) -> Response:
    """After a change: tell the room, then answer htmx with this audience's parts, a browser with a redirect."""
    if parts:
        _changed(request, meeting, *parts)
    if is_htmx(request):
        db.refresh(meeting)
        rendered = request.app.state.hub.renderer.page_parts(db, meeting, audience, origin_of(request))
        body = "".join(f'<hx-partial hx-target="#room-{name}" hx-swap="outerHTML">{html}</hx-partial>'
                       for name, html in rendered.items())
        return HTMLResponse(body, headers={"Vary": "HX-Request"})
    return RedirectResponse(back, status_code=303)


# ---------------------------------------------------------------- the console


@page
def console(request: Request, db: Session) -> Response:
    staff, meeting = _run(request, db)
    query = str(request.query_params.get("q", ""))[:60]
    facilitator = db.get(User, meeting.facilitator_id) if meeting.facilitator_id else None
    context = base_context(request, db, meeting, "console") | {
        "staff": staff, "facilitator": facilitator, "q": query, "join_url": join_url(request, meeting),
        "results": search_households(db, meeting.community_id, query), "errors": {}, "values": {},
    }
    return render(request, "room_console.html", context)


@page
def household_search(request: Request, db: Session) -> Response:
    _staff, meeting = _run(request, db)
    query = str(request.query_params.get("q", ""))[:60]
    return render(request, "_partials/room_household_results.html",
                  {"meeting": meeting, "q": query, "results": search_households(db, meeting.community_id, query)})


def _field(data: Any, name: str, limit: int) -> str:
    return str(data.get(name, "")).strip()[:limit]


@page
def console_action(request: Request, db: Session) -> Response:
    """Every button of the console: one POST endpoint per action name."""
    staff, meeting = _run(request, db)
    action = request.path_params["action"]
    data = form(request)
    back = f"/meetings/{meeting.id}/run"
    actor = staff.display_name
    parts: tuple[str, ...]
    # What was acted on, by number: the staff audit log keeps no resident's name.
    detail = ""
    if action == "start":
        start(db, meeting, actor=actor)
        parts = tuple(live.PARTS)
    elif action == "end":
        end(db, meeting, actor=actor)
        parts = tuple(live.PARTS)
    elif action in ("next", "previous"):
        step(db, meeting, 1 if action == "next" else -1, actor=actor)
        parts = ("agenda", "entry", "queue")
    elif action == "jump":
        entry = db.get(AgendaEntry, int_param(data.get("entry")) or 0)
        if entry is None or entry.meeting_id != meeting.id:
            raise HTTPException(404)
        go_to(db, meeting, entry, actor=actor)
        parts, detail = ("agenda", "entry", "queue"), f"agenda entry {entry.id}"
    elif action in ("floor", "remove"):
        speaking = db.get(SpeakingRequest, int_param(data.get("request")) or 0)
        if speaking is None or speaking.meeting_id != meeting.id:
            raise HTTPException(404)
        detail = f"speaking request {speaking.id}"
        if action == "floor":
            give_floor(db, meeting, speaking)
        else:
            speaking.status, speaking.ended_at = "removed", now()
            db.add(speaking)
        parts = ("queue",)
    elif action == "next-speaker":
        next_speaker(db, meeting)
        parts = ("queue",)
    elif action == "clear":
        clear_queue(db, meeting)
        parts = ("queue",)
    elif action == "decision":
        entry = current_entry(db, meeting)
        if entry is None:
            raise HTTPException(409)
        detail = _field(data, "decision", DECISION_MAX)
        record_decision(db, meeting, entry, detail, actor=actor)
        parts = ("entry", "agenda")
    elif action == "checkin":
        household = db.get(Household, int_param(data.get("household")) or 0)
        if household is not None and household.community_id != meeting.community_id:
            household = None
        name = _field(data, "name", NAME_MAX)
        if not name:
            return _console_problem(request, db, meeting, staff, {"name": _("Give the person's name.")}, data)
        checked = check_in(db, meeting, name=name, household=household, by=actor,
                           building=_field(data, "building", PLACE_MAX), unit=_field(data, "unit", PLACE_MAX),
                           room=_field(data, "room", PLACE_MAX))
        verification.late_arrival(db, meeting, checked)  # offered the shared tablet in an open vote
        parts, detail = ("attendance", "status"), f"attendance {checked.id}"
    else:
        from forum.views import verification as verification_views  # it builds on this module

        parts = verification_views.console_action(request, db, staff, meeting, action, data)
        detail = str(data.get("attendance") or data.get("household") or "")[:40]
    audit.record(db, request, f"room_{action.replace('-', '_')}", "meeting", meeting.id, detail,
                 community_id=meeting.community_id)
    db.commit()
    return _done(request, db, meeting, "console", back, *parts)


def _console_problem(request: Request, db: Session, meeting: Meeting, staff: User, errors: dict[str, str],
                     data: Any) -> Response:
    values = {k: str(data.get(k, ""))[:NAME_MAX] for k in ("name", "building", "unit", "room")}
    context = base_context(request, db, meeting, "console") | {
        "staff": staff, "facilitator": db.get(User, meeting.facilitator_id) if meeting.facilitator_id else None,
        "q": "", "join_url": join_url(request, meeting), "results": [], "errors": errors, "values": values,
    }
    return render(request, "room_console.html", context, status_code=422)


# ---------------------------------------------------------------- the screen


@page
def screen(request: Request, db: Session) -> Response:
    meeting = _meeting(request, db)
    return render(request, "room_screen.html", base_context(request, db, meeting, "screen"))


@page
def shared_tablet(request: Request, db: Session) -> Response:
    """GET: the meeting's shared tablet (kiosk), which shows the ballot the facilitator opens for
    one voter at a time. POST (staff): make this device the shared tablet. That signs the staff
    member out here, so a tablet residents pass around never carries a staff sign-in."""
    meeting = _meeting(request, db)
    if request.method == "POST":
        staff = require_in(request, auth.can_run_meetings, meeting.community_id)
        # The staff session ends in the database, so a copy of its cookie opens nothing either.
        audit.record(db, request, "shared_tablet", "meeting", meeting.id, community_id=meeting.community_id)
        sessions.end(db, request, "tablet")
        db.commit()
        request.session[live.KIOSK_SESSION] = {"meeting": meeting.id, "by": staff.display_name}
        response = redirect(request, request.url_for("room_kiosk", id=meeting.id).path)
        # Nor anyone's check-in (whoever uses it could cast their ballot), nor staff pages one
        # Back away in the browser's cache.
        response.delete_cookie(live.DEVICE_COOKIE)
        response.headers["Clear-Site-Data"] = '"cache"'
        return response
    if not live.is_kiosk_of(request.session, meeting.id):
        require_in(request, auth.can_run_meetings, meeting.community_id)  # staff may look at it
    return render(request, "room_kiosk.html", base_context(request, db, meeting, "kiosk"))


# ---------------------------------------------------------------- joining and the tablet


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
        return RedirectResponse(f"/meetings/{meeting.id}/tablet", status_code=303)
    joining.record_failure(db, request, None)
    db.commit()
    if not joining.CODE_RE.match(code):
        message, status = _("A meeting code is ten digits, like 482 913 0275. Check the code shown in the hall."), 422
    else:
        message, status = _("No meeting open for joining has the code %(code)s. Check the code shown in the hall.") % {
            "code": joining.grouped(code)}, 404
    return render(request, "join.html", {"values": {"code": raw}, "errors": {"code": message}}, status_code=status)


def device_token(request: Request) -> str | None:
    token = request.cookies.get(live.DEVICE_COOKIE)
    return token if token and re.fullmatch(r"[A-Za-z0-9_\-]{16,64}", token) else None


def my_attendance(db: Session, request: Request, meeting: Meeting) -> Attendance | None:
    token = device_token(request)
    if token is None:
        return None
    return db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                            Attendance.device_token == token)).first()


def _tablet_context(request: Request, db: Session, meeting: Meeting, me: Attendance | None,
                    errors: dict | None = None, values: dict | None = None) -> dict[str, Any]:
    mine = None
    place = None
    if me is not None:
        for i, (req, att) in enumerate(queue_of(db, meeting)):
            if att.id == me.id:
                mine, place = req, i
    # Nobody else's name is offered here: joining as someone checked in takes their slip or the facilitator.
    return base_context(request, db, meeting, "tablet") | {
        "me": me, "my_request": mine, "place": place, "errors": errors or {},
        "values": values or {"name": "", "building": "", "unit": "", "room": "", "code": "",
                             "slip": str(request.session.get(verification.SLIP_SESSION, ""))[:40]},
        "has_pass": joining.has_pass(request.session, meeting), "open_for_joining": joining.open_for_joining(meeting),
        "my_verification": verification.verifications_of(db, meeting).get(me.id) if me is not None else None,
    }


@page
def tablet(request: Request, db: Session) -> Response:
    meeting = _meeting(request, db)
    me = my_attendance(db, request, meeting)
    return render(request, "room_tablet.html", _tablet_context(request, db, meeting, me))


def _with_token(response: Response, token: str) -> Response:
    # A year: a tablet in the hall stays itself across meetings until "next person" is pressed.
    response.set_cookie(live.DEVICE_COOKIE, token, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return response


@page
def tablet_action(request: Request, db: Session) -> Response:
    meeting = _meeting(request, db)
    action = request.path_params["action"]
    data = form(request)
    back = f"/meetings/{meeting.id}/tablet"
    me = my_attendance(db, request, meeting)
    if action == "join":
        if meeting.status == MeetingStatus.ended:
            return RedirectResponse(back, status_code=303)
        token = device_token(request) or secrets.token_urlsafe(24)
        values = {k: _field(data, k, NAME_MAX if k == "name" else PLACE_MAX)
                  for k in ("name", "building", "unit", "room")}
        # The meeting's current code (typed here, or the pass /join gave), before anything else.
        problem = joining.check_entry(db, request, meeting, str(data.get("code", "")))
        if problem is not None:
            db.commit()  # the failed guess is counted; nothing else is stored
            status, message = problem
            context = _tablet_context(request, db, meeting, None, {"code": message}, values | {"code": "", "slip": ""})
            return render(request, "room_tablet.html", context, status_code=status)
        if not values["name"]:
            context = _tablet_context(request, db, meeting, None, {"name": _("Please give your name.")},
                                      values | {"code": "", "slip": ""})
            return render(request, "room_tablet.html", context, status_code=422)
        if not joining.admit_self_check_in(db, meeting):
            db.commit()  # the refusal is counted, for the console; nothing else is stored
            _changed(request, meeting, "attendance")
            context = _tablet_context(request, db, meeting, None, {"name": _(
                "Many devices are checking in at once. Please wait a minute and try again, or ask the "
                "facilitator.")}, values | {"code": "", "slip": ""})
            return render(request, "room_tablet.html", context, status_code=429)
        if me is not None:  # this tablet was someone else's: they stay checked in, the device is not theirs
            me.device_token = None
            db.add(me)
        check_in(db, meeting, device_token=token, **values)
        db.commit()
        _changed(request, meeting, "attendance", "status")
        return _with_token(RedirectResponse(back, status_code=303), token)
    if action == "next-person":
        # A shared tablet: the person stays checked in; the device forgets them and gets a new name.
        if me is not None:
            me.device_token = None
            db.add(me)
            db.commit()
        return _with_token(RedirectResponse(back, status_code=303), secrets.token_urlsafe(24))
    if me is None:
        return RedirectResponse(back, status_code=303)
    if action == "hand":
        if data.get("up") == "1":
            if meeting.status == MeetingStatus.live:
                raise_hand(db, meeting, me)
        else:
            lower_hand(db, me)
        parts: tuple[str, ...] = ("queue",)
    elif action == "comment":
        text = _field(data, "text", COMMENT_MAX)
        if not text:
            return _done(request, db, meeting, "tablet", back)
        db.add(Comment(meeting_id=meeting.id, agenda_entry_id=meeting.current_entry_id, attendance_id=me.id, text=text))
        parts = ("comments",)
    else:
        raise HTTPException(404)
    db.commit()
    return _done(request, db, meeting, "tablet", back, *parts)


# ---------------------------------------------------------------- minutes


@page
def minutes_page(request: Request, db: Session) -> Response:
    meeting = _meeting(request, db)
    rec = minutes.record(db, meeting, full=people.may_see(request.state.user, meeting.community_id))
    return render(request, "minutes.html", {"rec": rec, "community": rec.community})


@page
def minutes_markdown(request: Request, db: Session) -> Response:
    meeting = _meeting(request, db)
    text = minutes.markdown(minutes.record(db, meeting, full=people.may_see(request.state.user, meeting.community_id)))
    filename = f"minutes-{meeting.id}-{meeting.starts_at:%Y-%m-%d}.md"
    return Response(text.encode("utf-8"), media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

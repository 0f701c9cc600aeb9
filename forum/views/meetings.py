"""Meeting series and meetings: occurrences from the RRULE, and the agenda a facilitator builds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from forum import agenda, audit, auth, issue_registry, lifecycle, recurrence
from forum.i18n import gettext as _
from forum.models import (
    CADENCES,
    AgendaEntry,
    Area,
    ForumFormat,
    Issue,
    Meeting,
    MeetingStatus,
    Organisation,
    Series,
    SeriesInvitee,
    User,
    now,
)
from forum.views import followup as followup_views
from forum.views.common import community_or_404, refusal
from forum.web import form, get_or_404, int_param, is_htmx, kept, page, redirect, render, require_in, user

PLANNED_MINUTES_MAX = 240


@page
@kept
def series_list(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    series = db.exec(select(Series).where(Series.community_id == community.id).order_by(Series.id)).all()
    upcoming = {s.id: recurrence.upcoming(s.rrule, s.dtstart, now(), 1) for s in series}
    return render(request, "series_list.html", {"community": community, "series": series, "upcoming": upcoming})


SERIES_FIELDS = ("title", "cadence", "rrule", "dtstart", "duration_minutes", "place", "forum_format")


def _series_form_context(db: Session, community: Area, values: dict, errors: dict) -> dict:
    formats = db.exec(select(ForumFormat).where(ForumFormat.community_id == community.id)).all()
    return {"community": community, "values": values, "errors": errors, "formats": formats,
            "presets": recurrence.PRESETS}


@page
def series_new(request: Request, db: Session) -> Response:
    """A new recurring meeting: the cadence picks a usual rule, which the facilitator may change."""
    community = community_or_404(db, request.path_params["community"])
    staff = require_in(request, auth.can_run_meetings, community.id)
    values = {"title": "", "cadence": "weekly", "rrule": recurrence.PRESETS["weekly"], "dtstart": "",
              "duration_minutes": "90", "place": "", "forum_format": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = form(request)
        values = {k: str(data.get(k, "")).strip() for k in SERIES_FIELDS}
        if not values["title"] or len(values["title"]) > 100:
            errors["title"] = _("Give the series a name of at most %(n)d characters.") % {"n": 100}
        if values["cadence"] not in CADENCES:
            errors["cadence"] = _("Choose how often it meets.")
        try:
            dtstart = datetime.fromisoformat(values["dtstart"])
        except ValueError:
            dtstart = None
            errors["dtstart"] = _("Enter the date and time of the first meeting.")
        if dtstart is not None:
            try:
                recurrence.parse(values["rrule"], dtstart)
            except recurrence.BadRule as bad:
                errors[bad.field] = _(bad.message) % bad.params if bad.params else _(bad.message)
        duration = int_param(values["duration_minutes"])
        if duration is None or not 10 <= duration <= 480:
            errors["duration_minutes"] = _("Length must be a whole number of minutes from 10 to 480.")
        if not values["place"] or len(values["place"]) > 100:
            errors["place"] = _("Say where it meets (at most %(n)d characters).") % {"n": 100}
        forum_format = db.get(ForumFormat, int_param(values["forum_format"]) or 0)
        if values["forum_format"] and (forum_format is None or forum_format.community_id != community.id):
            errors["forum_format"] = _("Choose one of this community's formats.")
        if not errors:
            series = Series(community_id=community.id, title=values["title"], cadence=values["cadence"],
                            rrule=values["rrule"].removeprefix("RRULE:"), dtstart=dtstart.replace(tzinfo=None),
                            duration_minutes=duration, place=values["place"],
                            forum_format_id=forum_format.id if forum_format else None, facilitator_id=staff.id)
            db.add(series)
            db.flush()
            audit.record(db, request, "series_create", "series", series.id, series.title, community_id=community.id)
            db.commit()
            return redirect(request, request.url_for("series", id=series.id).path)
    return render(request, "series_new.html", _series_form_context(db, community, values, errors),
                  status_code=422 if errors else 200)


def _series_context(db: Session, series: Series) -> dict:
    occurrences = recurrence.upcoming(series.rrule, series.dtstart, now(), 8)
    meetings = db.exec(select(Meeting).where(Meeting.series_id == series.id).order_by(Meeting.starts_at)).all()
    by_start = {m.starts_at: m for m in meetings}
    invitees = db.exec(select(SeriesInvitee).where(SeriesInvitee.series_id == series.id)).all()
    organisations = {o.id: o for o in db.exec(select(Organisation)).all()}
    return {
        "community": db.get(Area, series.community_id),
        "series": series,
        "occurrences": [(when, by_start.get(when)) for when in occurrences],
        "past": [m for m in reversed(meetings) if m.starts_at < now()],
        "facilitator": db.get(User, series.facilitator_id) if series.facilitator_id else None,
        "format": db.get(ForumFormat, series.forum_format_id) if series.forum_format_id else None,
        "invitees": [organisations[i.organisation_id] for i in invitees if i.organisation_id in organisations],
        "errors": {},
    }


@page
@kept
def series_detail(request: Request, db: Session) -> Response:
    series = get_or_404(db, Series, request.path_params["id"])
    return render(request, "series.html", _series_context(db, series))


@page
def series_create_meeting(request: Request, db: Session) -> Response:
    """Turn one computed occurrence into a meeting (idempotent: a second click opens the first)."""
    series = get_or_404(db, Series, request.path_params["id"])
    require_in(request, auth.can_run_meetings, series.community_id)
    raw = str(form(request).get("starts_at", ""))
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        when = None
    try:
        known = when is not None and recurrence.is_occurrence(series.rrule, series.dtstart, when)
    except recurrence.BadRule:  # a rule stored before today's checks
        known = False
    if not known:
        context = _series_context(db, series) | {"errors": {"starts_at": _("That is not a date of this series.")}}
        return render(request, "series.html", context, status_code=422)
    existing = db.exec(select(Meeting).where(Meeting.series_id == series.id, Meeting.starts_at == when)).first()
    if existing is None:
        existing = Meeting(community_id=series.community_id, series_id=series.id, title=series.title,
                           cadence=series.cadence, starts_at=when, duration_minutes=series.duration_minutes,
                           place=series.place, facilitator_id=series.facilitator_id)
        db.add(existing)
        try:
            db.flush()
            audit.record(db, request, "meeting_create", "meeting", existing.id, f"series {series.id}",
                         community_id=series.community_id)
            db.commit()
        except IntegrityError:  # two facilitators clicked at once: the other one made it
            db.rollback()
            existing = db.exec(select(Meeting).where(Meeting.series_id == series.id,
                                                     Meeting.starts_at == when)).one()
    return redirect(request, request.url_for("meeting", id=existing.id).path)


def _agenda_context(db: Session, meeting: Meeting, errors: dict | None = None, values: dict | None = None) -> dict:
    entries = agenda.entries_of(db, meeting.id)
    issues = {i.id: i for i in db.exec(select(Issue).where(col(Issue.id).in_([e.issue_id for e in entries])))}
    on_agenda = set(issues)
    candidates = [i for i in db.exec(select(Issue).where(
        Issue.community_id == meeting.community_id,
        col(Issue.status).in_([s.value for s in lifecycle.SCHEDULABLE])).order_by(col(Issue.id).desc()))
        if i.id not in on_agenda]
    return {
        "meeting": meeting,
        "entries": entries,
        "issues": issues,
        "candidates": candidates,
        "planned_total": sum(e.planned_minutes for e in entries),
        "errors": errors or {},
        "values": values or {},
        "editable": meeting.status != MeetingStatus.ended,
    }


@page
@kept
def meeting_detail(request: Request, db: Session) -> Response:
    meeting = get_or_404(db, Meeting, request.path_params["id"])
    # From the console's "follow-up action for this decision": that item chosen, its decision as the start.
    entry = db.get(AgendaEntry, int_param(request.query_params.get("entry", "")) or 0)
    values = {"entry": str(entry.id), "what": (entry.decision or "")[:300]} \
        if entry is not None and entry.meeting_id == meeting.id else None
    return meeting_page(request, db, meeting, action_values=values)


def meeting_page(request: Request, db: Session, meeting: Meeting, *, action_values: dict | None = None,
                 action_errors: dict | None = None, rating: tuple | None = None) -> Response:
    """The meeting's page; with a refused form (a new action, a rating), as typed, with its errors (422)."""
    context = _agenda_context(db, meeting) | {
        "community": db.get(Area, meeting.community_id),
        "series": db.get(Series, meeting.series_id) if meeting.series_id else None,
        "facilitator": db.get(User, meeting.facilitator_id) if meeting.facilitator_id else None,
    } | followup_views.meeting_followup_context(db, meeting, action_values, action_errors,
                                                personal=auth.sees_personal_data(user(request), meeting.community_id))
    if rating is not None:
        context |= {"rating_issue": rating[0], "rating_values": rating[1], "rating_errors": rating[2]}
    return render(request, "meeting.html", context, status_code=422 if action_errors or rating else 200)


def _agenda_response(request: Request, db: Session, meeting: Meeting, errors: dict | None = None,
                     values: dict | None = None) -> Response:
    """htmx gets the agenda fragment; a browser without JavaScript goes back to the page."""
    status = 422 if errors else 200
    if is_htmx(request):
        return render(request, "_partials/agenda.html", _agenda_context(db, meeting, errors, values),
                      status_code=status)
    if errors:
        context = _agenda_context(db, meeting, errors, values) | {
            "community": db.get(Area, meeting.community_id),
            "series": db.get(Series, meeting.series_id) if meeting.series_id else None,
            "facilitator": db.get(User, meeting.facilitator_id) if meeting.facilitator_id else None,
        } | followup_views.meeting_followup_context(
            db, meeting, personal=auth.sees_personal_data(user(request), meeting.community_id))
        return render(request, "meeting.html", context, status_code=status)
    return redirect(request, request.url_for("meeting", id=meeting.id).path)


def _editable_meeting(request: Request, db: Session) -> tuple[User, Meeting]:
    meeting = get_or_404(db, Meeting, request.path_params["id"])
    return require_in(request, auth.can_run_meetings, meeting.community_id), meeting


def _planned_minutes(raw: str) -> tuple[int | None, str | None]:
    minutes = int_param(raw)
    if minutes is None or not 1 <= minutes <= PLANNED_MINUTES_MAX:
        return None, _("Planned minutes must be a whole number from 1 to %(n)d.") % {"n": PLANNED_MINUTES_MAX}
    return minutes, None


@page
def agenda_add(request: Request, db: Session) -> Response:
    staff, meeting = _editable_meeting(request, db)
    data = form(request)
    values = {"issue": str(data.get("issue", "")), "planned_minutes": str(data.get("planned_minutes", "10")).strip()}
    errors = {}
    minutes, problem = _planned_minutes(values["planned_minutes"])
    if problem:
        errors["planned_minutes"] = problem
    issue = db.get(Issue, int_param(values["issue"]) or 0)
    if issue is None or issue.community_id != meeting.community_id:
        errors["issue"] = _("Choose an issue of this community.")
    if meeting.status == MeetingStatus.ended:
        errors["issue"] = _("This meeting has ended; its agenda is part of the record.")
    if not errors:
        try:
            issue_registry.place_on_agenda(db, issue, meeting, actor=staff.display_name, planned_minutes=minutes)
            audit.record(db, request, "agenda_add", "meeting", meeting.id, f"issue {issue.id}",
                         community_id=meeting.community_id)
        except lifecycle.Refused as refused:
            errors["issue"] = refusal(refused)
            db.rollback()
        else:
            db.commit()
            values = {}
    return _agenda_response(request, db, meeting, errors, values)


def _entry(db: Session, meeting: Meeting, entry_id: str) -> AgendaEntry:
    entry = get_or_404(db, AgendaEntry, entry_id)
    if entry.meeting_id != meeting.id:
        raise HTTPException(404)
    return entry


@page
def agenda_move(request: Request, db: Session) -> Response:
    _staff, meeting = _editable_meeting(request, db)
    entry = _entry(db, meeting, request.path_params["entry"])
    entries = agenda.entries_of(db, meeting.id)
    i = entries.index(entry)
    j = i - 1 if form(request).get("direction") == "up" else i + 1
    if 0 <= j < len(entries):
        entries[i], entries[j] = entries[j], entries[i]
        for position, each in enumerate(entries, start=1):
            each.position = position
            db.add(each)
        audit.record(db, request, "agenda_move", "meeting", meeting.id, f"issue {entry.issue_id} to {j + 1}",
                     community_id=meeting.community_id)
        db.commit()
    return _agenda_response(request, db, meeting)


@page
def agenda_remove(request: Request, db: Session) -> Response:
    staff, meeting = _editable_meeting(request, db)
    entry = _entry(db, meeting, request.path_params["entry"])
    if meeting.status == MeetingStatus.ended:
        return _agenda_response(request, db, meeting,
                                {"issue": _("This meeting has ended; its agenda is part of the record.")})
    issue_registry.take_off_agenda(db, entry, actor=staff.display_name)
    audit.record(db, request, "agenda_remove", "meeting", meeting.id, f"issue {entry.issue_id}",
                 community_id=meeting.community_id)
    db.commit()
    return _agenda_response(request, db, meeting)


@page
def agenda_minutes(request: Request, db: Session) -> Response:
    _staff, meeting = _editable_meeting(request, db)
    entry = _entry(db, meeting, request.path_params["entry"])
    raw = str(form(request).get("planned_minutes", "")).strip()
    minutes, problem = _planned_minutes(raw)
    if problem:
        return _agenda_response(request, db, meeting, {f"minutes-{entry.id}": problem}, {f"minutes-{entry.id}": raw})
    entry.planned_minutes = minutes
    db.add(entry)
    audit.record(db, request, "agenda_minutes", "meeting", meeting.id, f"issue {entry.issue_id}: {minutes} min",
                 community_id=meeting.community_id)
    db.commit()
    return _agenda_response(request, db, meeting)

"""CSV downloads of a community's public record: its issues (with the issue list's filters),
meetings, attendance counts and follow-up actions (with the action list's filters). Headings and
labels in the reader's language; nothing personal (an action a person owns says "a person")."""

from __future__ import annotations

from sqlmodel import Session, col, func, select
from starlette.requests import Request
from starlette.responses import Response

from forum import action_query, exports, figures, issue_query, oversight
from forum.followup import STATUS_LABELS as ACTION_STATUSES
from forum.i18n import gettext as _
from forum.lifecycle import STATUS_LABELS
from forum.models import (
    CADENCES,
    CATEGORIES,
    COMMITTEE_NAMES,
    MEETING_STATUSES,
    SOURCES,
    AgendaEntry,
    Attendance,
    Issue,
    Meeting,
    now,
)
from forum.views.common import committees_of, community_or_404
from forum.web import page, render

# The most rows one download holds: a district-year is 4,500 issues and 5,400 meetings a year, a
# community's far fewer; past this, narrow the filters (the file says so in its last line).
ROWS_MAX = 20_000


def _label(labels: dict, key: str) -> str:
    label = labels.get(key)
    return _(label) if label else key


def _download(header, rows, filename: str) -> Response:
    return Response(exports.csv_bytes([_(h) for _k, h in header], rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _days(issue: Issue) -> int | str:
    return (issue.resolved_at - issue.raised_at).days if issue.resolved_at else ""


@page
def issues_csv(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    filters = issue_query.read(request.query_params)
    try:
        conditions = issue_query.where(filters)
    except issue_query.BadDate as bad:
        return render(request, "error.html", {"status": 400, "message": _(
            "“%(field)s” is a date written YYYY-MM-DD.") % {"field": bad.field}}, status_code=400)
    committees = {c.id: _label(COMMITTEE_NAMES, c.kind) for c in committees_of(db, community.id)}
    rows = db.exec(select(Issue).where(Issue.community_id == community.id, *conditions)
                   .order_by(col(Issue.id)).limit(ROWS_MAX)).all()
    lines = [[i.id, i.title, _label(CATEGORIES, i.category), _label(STATUS_LABELS, i.status),
              committees.get(i.committee_id, ""), i.place, _label(SOURCES, i.source),
              i.raised_at.isoformat(sep=" ", timespec="minutes"),
              i.resolved_at.isoformat(sep=" ", timespec="minutes") if i.resolved_at else "", _days(i), i.description]
             for i in rows]
    return _download(exports.ISSUE_COLUMNS, lines, f"issues-{community.slug}.csv")


def _meetings(db: Session, community_id: int) -> list[Meeting]:
    return list(db.exec(select(Meeting).where(Meeting.community_id == community_id)
                        .order_by(Meeting.starts_at, Meeting.id).limit(ROWS_MAX)).all())


@page
def meetings_csv(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    meetings = _meetings(db, community.id)
    ids = [m.id for m in meetings]
    entries = dict(db.exec(select(AgendaEntry.meeting_id, func.count()).where(col(AgendaEntry.meeting_id).in_(ids))
                           .group_by(AgendaEntry.meeting_id)).all())
    decided = dict(db.exec(select(AgendaEntry.meeting_id, func.count())
                           .where(col(AgendaEntry.meeting_id).in_(ids), col(AgendaEntry.decision).is_not(None),
                                  AgendaEntry.decision != "").group_by(AgendaEntry.meeting_id)).all())
    present = dict(db.exec(select(Attendance.meeting_id, func.count()).where(col(Attendance.meeting_id).in_(ids))
                           .group_by(Attendance.meeting_id)).all())
    lines = [[m.id, m.starts_at.isoformat(sep=" ", timespec="minutes"), m.title, _label(CADENCES, m.cadence), m.place,
              _label(MEETING_STATUSES, m.status), entries.get(m.id, 0), decided.get(m.id, 0), present.get(m.id, 0)]
             for m in meetings]
    return _download(exports.MEETING_COLUMNS, lines, f"meetings-{community.slug}.csv")


@page
def attendance_csv(request: Request, db: Session) -> Response:
    """参与人次 per meeting, residents and guests counted apart; never who."""
    community = community_or_404(db, request.path_params["community"])
    meetings = _meetings(db, community.id)
    counts: dict[tuple[int, bool], int] = {
        (meeting_id, guest): n for meeting_id, guest, n in db.exec(
            select(Attendance.meeting_id, Attendance.is_guest, func.count())
            .where(col(Attendance.meeting_id).in_([m.id for m in meetings]))
            .group_by(Attendance.meeting_id, Attendance.is_guest)).all()}
    lines = []
    for m in meetings:
        residents, guests = counts.get((m.id, False), 0), counts.get((m.id, True), 0)
        lines.append([m.id, m.starts_at.isoformat(sep=" ", timespec="minutes"), m.title, _label(CADENCES, m.cadence),
                      residents, guests, residents + guests])
    return _download(exports.ATTENDANCE_COLUMNS, lines, f"attendance-{community.slug}.csv")


@page
def actions_csv(request: Request, db: Session) -> Response:
    """The community's follow-up actions as the action list selects them (same filters)."""
    community = community_or_404(db, request.path_params["community"])
    filters = action_query.read(request.query_params)
    try:
        found, _total = action_query.listing(db, [community.id], filters, now(), ROWS_MAX)
        at = action_query.moment(filters, now())
    except action_query.BadFilter as bad:
        return render(request, "error.html", {"status": 400, "message": _(bad.message)}, status_code=400)
    owners = oversight.owner_names(db, sorted({figures.owner_key(a.owner_committee_id, a.owner_organisation_id)
                                               for a in found}))
    lines = [[r["action"].id, r["action"].what, r["owner"] or _("A person (not named)"), r["action"].due.isoformat(),
              _label(ACTION_STATUSES, r["action"].status), _("yes") if r["overdue"] else "", r["late"] or "",
              r["action"].issue_id, r["issue"].title if r["issue"] else "",
              r["action"].done_at.isoformat(sep=" ", timespec="minutes") if r["action"].done_at else ""]
             for r in action_query.public_rows(db, found, at, owners)]
    return _download(exports.ACTION_COLUMNS, lines, f"actions-{community.slug}.csv")

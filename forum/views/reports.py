"""Reports: a community's quarterly review report (A4 page, .docx, CSV) and minutes as .docx."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from forum import minutes, people, reports
from forum.models import Meeting
from forum.views.common import community_or_404
from forum.views.dashboards import BadQuery, guard, period_of, refuse
from forum.web import get_or_404, page, render

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _report(request: Request, db: Session) -> reports.QuarterReport:
    community = community_or_404(db, request.path_params["community"])
    guard(request, community.id)
    return reports.quarterly(db, community, period_of(request), date.today())


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@page
def quarter_report(request: Request, db: Session) -> Response:
    try:
        report = _report(request, db)
    except BadQuery as bad:
        return refuse(request, bad)
    return render(request, "report.html", {"report": report, "community": report.community,
                                           "title": reports.title_of(report)})


@page
def quarter_report_docx(request: Request, db: Session) -> Response:
    try:
        report = _report(request, db)
    except BadQuery as bad:
        return refuse(request, bad)
    return _download(reports.report_docx(report), DOCX,
                     f"report-{report.community.slug}-{report.period.label}.docx")


@page
def quarter_report_csv(request: Request, db: Session) -> Response:
    try:
        report = _report(request, db)
    except BadQuery as bad:
        return refuse(request, bad)
    return _download(reports.report_csv(report), "text/csv; charset=utf-8",
                     f"report-{report.community.slug}-{report.period.label}.csv")


@page
def minutes_docx(request: Request, db: Session) -> Response:
    """The minutes as Word: names and flats for the community's staff, the public record for others."""
    meeting = get_or_404(db, Meeting, request.path_params["id"])
    rec = minutes.record(db, meeting, full=people.may_see(request.state.user, meeting.community_id),
                         sections=request.app.state.minutes_sections)
    return _download(reports.minutes_docx(rec), DOCX, f"minutes-{meeting.id}-{meeting.starts_at:%Y-%m-%d}.docx")

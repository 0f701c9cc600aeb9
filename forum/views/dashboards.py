"""Dashboards for a community, a street or the district, and a committee, for a quarter; an
area's issue list (every community under a street or district) that their numbers link to; a
community's meetings in a period, behind the participation figures.

What they show is the public record counted (forum.figures), so they are public, like the lists
behind their numbers; ``auth.sees_dashboard`` is where that would change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, func, select
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from forum import api, auth, figures, issue_query, oversight
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.models import Area, Committee, Issue, Meeting, MeetingStatus
from forum.views.common import community_or_404
from forum.web import get_or_404, page, render, url_for, user

# Sections that follow-up actions and ratings (issue #12) add: each takes (db, scope, period) and
# returns a section's context for ``_partials/dashboard_followup.html``, or None when it has
# nothing to show. Empty until forum/models/followup.py lands on main; figures.overdue_by_owner
# and figures.satisfaction_rate are the pure parts, ready.
FOLLOWUP: list[Callable[[Session, oversight.Scope, figures.Period], dict[str, Any] | None]] = []
QUARTERS_OFFERED = 12
RANKING_LABELS = {"median_days": N_("Median days"), "raised": N_("Raised"), "resolved": N_("Resolved"),
                  "open": N_("Open now"), "participation": N_("Participation")}


class BadQuery(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def period_of(request: Request) -> figures.Period:
    raw = request.query_params.get("quarter", "")
    if not raw:
        return figures.quarter_of(date.today())
    try:
        return figures.parse_quarter(raw)
    except figures.BadPeriod:
        raise BadQuery(_("“quarter” is a quarter written like 2026Q3, from 2000 to 2100.")) from None


def _sort(request: Request) -> str:
    by = request.query_params.get("sort", "median_days")
    if by not in oversight.RANKINGS:
        raise BadQuery(_("“sort” is one of: %(choices)s.") % {"choices": ", ".join(oversight.RANKINGS)})
    return by


def refuse(request: Request, bad: BadQuery) -> Response:
    return render(request, "error.html", {"status": 400, "message": bad.message}, status_code=400)


def _linker(base: URL, fixed: dict[str, Any]) -> Callable[..., str]:
    """A link to the list behind a number: the list's address with the dashboard's own filters."""

    def link(**params: Any) -> str:
        return str(base.include_query_params(**{k: v for k, v in (fixed | params).items() if v not in (None, "")}))

    return link


def _context(request: Request, db: Session, scope: oversight.Scope, period: figures.Period, *, title: str,
             issues: Callable[..., str], here: str, area: Area | None = None) -> dict[str, Any]:
    board = oversight.dashboard(db, scope, period, date.today())
    if "ranking" in board:
        board["ranking"] = oversight.ranked(board["ranking"], _sort(request))
    offered = figures.quarters_ending(figures.quarter_of(date.today()), QUARTERS_OFFERED)[::-1]
    if period not in offered:
        offered.insert(0, period)
    return board | {
        "title": title, "scope": scope, "area": area, "issues_link": issues, "here": here,
        "quarters": offered, "sort": request.query_params.get("sort", "median_days"),
        "names_of": {c.id: c.name for c in scope.communities}, "RANKING_LABELS": RANKING_LABELS,
        "followup": [s for s in (section(db, scope, period) for section in FOLLOWUP) if s],
        "community_issues": lambda c, **p: str(url_for(request, "issues", community=c.slug).include_query_params(
            **{k: v for k, v in p.items() if v not in (None, "")})),
    }


def guard(request: Request, area_id: int | None) -> None:
    if not auth.sees_dashboard(user(request), area_id):
        raise HTTPException(403)


@page
def community_dashboard(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    guard(request, community.id)
    try:
        period = period_of(request)
        context = _context(request, db, oversight.Scope([community]), period, title=community.name,
                           issues=_linker(request.url_for("issues", community=community.slug), {}),
                           here=str(request.url_for("community_dashboard", community=community.slug)))
    except BadQuery as bad:
        return refuse(request, bad)
    context |= {"community": community,
                "meetings_link": _linker(request.url_for("meeting_list", community=community.slug), {})}
    return render(request, "dashboard.html", context)


@page
def area_dashboard(request: Request, db: Session) -> Response:
    area = db.exec(select(Area).where(Area.slug == request.path_params["area"][:60])).first()
    if area is None:
        raise HTTPException(404)
    guard(request, area.id)
    try:
        period = period_of(request)
        context = _context(request, db, oversight.Scope(oversight.communities_under(db, area)), period,
                           title=area.name, issues=_linker(request.url_for("area_issues", area=area.slug), {}),
                           here=str(request.url_for("area_dashboard", area=area.slug)), area=area)
    except BadQuery as bad:
        return refuse(request, bad)
    return render(request, "dashboard.html", context)


@page
def committee_dashboard(request: Request, db: Session) -> Response:
    committee = get_or_404(db, Committee, request.path_params["id"])
    community = db.get(Area, committee.community_id)
    guard(request, community.id)
    try:
        period = period_of(request)
        context = _context(request, db, oversight.Scope([community], committee_id=committee.id), period,
                           title=committee.name, here=str(request.url_for("committee_dashboard", id=committee.id)),
                           issues=_linker(request.url_for("issues", community=community.slug),
                                          {"committee": committee.id}))
    except BadQuery as bad:
        return refuse(request, bad)
    return render(request, "dashboard.html", context | {"community": community, "committee": committee})


@page
def area_issues(request: Request, db: Session) -> Response:
    """The issue list of every community under a street or the district, with the list's filters."""
    area = db.exec(select(Area).where(Area.slug == request.path_params["area"][:60])).first()
    if area is None:
        raise HTTPException(404)
    communities = oversight.communities_under(db, area)
    filters = issue_query.read(request.query_params)
    try:
        conditions = issue_query.where(filters)
    except issue_query.BadDate as bad:
        return render(request, "error.html", {"status": 400, "message": _(
            "“%(field)s” is a date written YYYY-MM-DD.") % {"field": bad.field}}, status_code=400)
    conditions.append(col(Issue.community_id).in_([c.id for c in communities]))
    issues = db.exec(select(Issue).where(*conditions).order_by(col(Issue.updated_at).desc(), col(Issue.id).desc())
                     .limit(PAGE_SIZE + 1)).all()
    # One query for every community's committees, not one each (79 under a district).
    committees = {c.id: c for c in db.exec(select(Committee).where(
        col(Committee.community_id).in_([c.id for c in communities])))} if len(communities) <= 100 else {}
    return render(request, "area_issues.html", {
        "area": area, "issues": issues[:PAGE_SIZE], "more": len(issues) > PAGE_SIZE, "filters": filters,
        "total": db.exec(select(func.count()).select_from(Issue).where(*conditions)).one(),
        "committees": committees, "names": {c.id: c.name for c in communities}})


PAGE_SIZE = 50
MEETINGS_MAX = 500  # a quarter of a daily series is 92


@page
def meeting_list(request: Request, db: Session) -> Response:
    """A community's meetings held in a quarter (or a month of it), with their participation."""
    community = community_or_404(db, request.path_params["community"])
    try:
        period = period_of(request)
    except BadQuery as bad:
        return refuse(request, bad)
    month = request.query_params.get("month", "")
    if month:
        first = _month(month)
        if first is None or not period.holds(first):
            return refuse(request, BadQuery(_("“month” is a month of the quarter written like 2026-07.")))
        period = figures.Period(first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1), month)
    # The meetings that took place, as the dashboard counts them (a planned one is not yet held).
    meetings = db.exec(select(Meeting).where(Meeting.community_id == community.id,
                                             Meeting.status != MeetingStatus.planned,
                                             Meeting.starts_at >= period.first_moment,
                                             Meeting.starts_at < period.after_moment)
                       .order_by(Meeting.starts_at).limit(MEETINGS_MAX)).all()
    counts = api.attendance_counts(db, [m.id for m in meetings])
    return render(request, "meeting_list.html", {"community": community, "period": period, "meetings": meetings,
                                                 "counts": counts, "total": sum(counts.values())})


def _month(text: str) -> date | None:
    try:
        return date.fromisoformat(text + "-01") if len(text) == 7 and text.isascii() else None
    except ValueError:
        return None

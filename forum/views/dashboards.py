"""Dashboards for a community, a street or the district, and a committee, for a quarter; an
area's issue list (every community under a street or district) that their numbers link to; a
community's meetings in a period, behind the participation figures; the action list (a community's
or an area's) behind the overdue actions.

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

from forum import action_query, api, auth, figures, issue_query, oversight
from forum.followup import STATUS_LABELS as ACTION_STATUSES
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.models import Area, Committee, Issue, Meeting, MeetingStatus, now
from forum.views.common import community_or_404
from forum.web import get_or_404, kept, page, render, url_for, user

QUARTERS_OFFERED = 12
RANKING_LABELS = {"median_days": N_("Median days"), "raised": N_("Raised"), "resolved": N_("Resolved"),
                  "open": N_("Open now"), "participation": N_("Participation"), "overdue": N_("Overdue actions"),
                  "satisfaction": N_("Satisfaction rate")}


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
             issues: Callable[..., str], actions: Callable[..., str], here: str,
             area: Area | None = None) -> dict[str, Any]:
    board = oversight.dashboard(db, scope, period, date.today(), now())
    if "ranking" in board:
        board["ranking"] = oversight.ranked(board["ranking"], _sort(request))
    offered = figures.quarters_ending(figures.quarter_of(date.today()), QUARTERS_OFFERED)[::-1]
    if period not in offered:
        offered.insert(0, period)
    return board | {
        "title": title, "scope": scope, "area": area, "issues_link": issues, "here": here,
        "quarters": offered, "sort": request.query_params.get("sort", "median_days"),
        "names_of": {c.id: c.name for c in scope.communities}, "RANKING_LABELS": RANKING_LABELS,
        "actions_link": actions, "percent": figures.percent,
        "owner_names": oversight.owner_names(db, list(board["overdue_by_owner"]),
                                             {c.id: c.name for c in scope.communities} if area else None),
        "community_issues": lambda c, **p: str(url_for(request, "issues", community=c.slug).include_query_params(
            **{k: v for k, v in p.items() if v not in (None, "")})),
    }


def guard(request: Request, area_id: int | None) -> None:
    if not auth.sees_dashboard(user(request), area_id):
        raise HTTPException(403)


@page
@kept
def community_dashboard(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    guard(request, community.id)
    try:
        period = period_of(request)
        context = _context(request, db, oversight.Scope([community]), period, title=community.name,
                           issues=_linker(request.url_for("issues", community=community.slug), {}),
                           actions=_linker(request.url_for("community_actions", community=community.slug), {}),
                           here=str(request.url_for("community_dashboard", community=community.slug)))
    except BadQuery as bad:
        return refuse(request, bad)
    context |= {"community": community,
                "meetings_link": _linker(request.url_for("meeting_list", community=community.slug), {})}
    return render(request, "dashboard.html", context)


@page
@kept
def area_dashboard(request: Request, db: Session) -> Response:
    area = db.exec(select(Area).where(Area.slug == request.path_params["area"][:60])).first()
    if area is None:
        raise HTTPException(404)
    guard(request, area.id)
    try:
        period = period_of(request)
        context = _context(request, db, oversight.Scope(oversight.communities_under(db, area)), period,
                           title=area.name, issues=_linker(request.url_for("area_issues", area=area.slug), {}),
                           actions=_linker(request.url_for("area_actions", area=area.slug), {}),
                           here=str(request.url_for("area_dashboard", area=area.slug)), area=area)
    except BadQuery as bad:
        return refuse(request, bad)
    return render(request, "dashboard.html", context)


@page
@kept
def committee_dashboard(request: Request, db: Session) -> Response:
    committee = get_or_404(db, Committee, request.path_params["id"])
    community = db.get(Area, committee.community_id)
    guard(request, community.id)
    try:
        period = period_of(request)
        context = _context(request, db, oversight.Scope([community], committee_id=committee.id), period,
                           title=committee.name, here=str(request.url_for("committee_dashboard", id=committee.id)),
                           issues=_linker(request.url_for("issues", community=community.slug),
                                          {"committee": committee.id}),
                           actions=_linker(request.url_for("community_actions", community=community.slug),
                                           {"committee": committee.id}))
    except BadQuery as bad:
        return refuse(request, bad)
    return render(request, "dashboard.html", context | {"community": community, "committee": committee})


@page
@kept
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
@kept
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


ACTIONS_PAGE = 100


def _action_list(request: Request, db: Session, communities: list[Area], *, title: str, here: str,
                 **context: Any) -> Response:
    """The actions of those communities that the filters select, as anyone may see them."""
    filters = action_query.read(request.query_params)
    at = now()
    try:
        found, total = action_query.listing(db, [c.id for c in communities], filters, at, ACTIONS_PAGE)
        at = action_query.moment(filters, at)
    except action_query.BadFilter as bad:
        return refuse(request, BadQuery(_(bad.message)))
    names = {c.id: c.name for c in communities}
    keys = action_query.owner_keys(db, list(names))
    owners = oversight.owner_names(db, keys, names if len(communities) > 1 else None)
    return render(request, "actions.html", context | {
        "owner_options": [(k, owners[k]) for k in keys if k in owners],
        "title": title, "here": here, "filters": filters, "total": total, "more": total > len(found),
        "rows": action_query.public_rows(db, found, at, owners), "reckoned_at": at, "names": names,
        "ACTION_STATUSES": ACTION_STATUSES, "quarters": figures.quarters_ending(
            figures.quarter_of(date.today()), QUARTERS_OFFERED)[::-1]})


@page
@kept
def community_actions(request: Request, db: Session) -> Response:
    """A community's follow-up actions, filtered as the dashboards' numbers count them."""
    community = community_or_404(db, request.path_params["community"])
    guard(request, community.id)
    return _action_list(request, db, [community], title=community.name, community=community,
                        here=str(request.url_for("community_actions", community=community.slug)),
                        back=request.url_for("community_dashboard", community=community.slug))


@page
@kept
def area_actions(request: Request, db: Session) -> Response:
    """The follow-up actions of every community under a street or the district."""
    area = db.exec(select(Area).where(Area.slug == request.path_params["area"][:60])).first()
    if area is None:
        raise HTTPException(404)
    guard(request, area.id)
    return _action_list(request, db, oversight.communities_under(db, area), title=area.name, area=area,
                        here=str(request.url_for("area_actions", area=area.slug)),
                        back=request.url_for("area_dashboard", area=area.slug))

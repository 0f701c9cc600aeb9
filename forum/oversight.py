"""The dashboards' data: a few bounded queries that turn the database into forum.figures' plain
rows, and one assembly of the figures for a scope (a community, a street or the district, a
committee) and a quarter. Reads only.

The work per dashboard is bounded by the period: issues raised or resolved within the chart's
two years, open issues (what is open now), the period's meetings and their attendance counts.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from forum import action_query, figures, lifecycle, recurrence
from forum.figures import ActionRow, IssueRow, Period, RatingRow
from forum.models import (
    Action,
    Area,
    AreaKind,
    Attendance,
    Committee,
    FiguresVersion,
    Issue,
    Meeting,
    MeetingStatus,
    Organisation,
    Rating,
    Series,
)
from forum.models import now as current_time

EXPECTED_MAX = 400  # a series' expected dates in one quarter: a daily rule has 92


@dataclass
class Scope:
    """What a dashboard covers: communities (one, or every one under a street or district),
    and for a committee's dashboard that committee's issues only."""

    communities: list[Area]
    committee_id: int | None = None
    ids: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = [c.id for c in self.communities]


def communities_under(db: Session, area: Area) -> list[Area]:
    """The communities in an area's subtree (the area itself if it is one), archived ones left out."""
    areas = db.exec(select(Area).where(col(Area.archived_at).is_(None))).all()
    children: dict[int | None, list[Area]] = {}
    for a in areas:
        children.setdefault(a.parent_id, []).append(a)
    out, todo, seen = [], [area], set()
    while todo:
        current = todo.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        if current.kind == AreaKind.community:
            out.append(current)
        todo.extend(children.get(current.id, []))
    return sorted(out, key=lambda a: a.id)


def issue_rows(db: Session, scope: Scope, since: datetime) -> list[IssueRow]:
    """Issues of the scope that are open now, or were raised or resolved since ``since``."""
    if not scope.ids:
        return []
    where = [col(Issue.community_id).in_(scope.ids),
             or_(col(Issue.status).in_([s.value for s in lifecycle.OPEN]), col(Issue.raised_at) >= since,
                 col(Issue.resolved_at) >= since)]
    if scope.committee_id is not None:
        where.append(Issue.committee_id == scope.committee_id)
    rows = db.exec(select(Issue.id, Issue.community_id, Issue.committee_id, Issue.category, Issue.status,
                          Issue.raised_at, Issue.resolved_at).where(*where)).all()
    return [IssueRow(*r) for r in rows]


def attendance_rows(db: Session, scope: Scope, period: Period) -> list[tuple[int, datetime, int]]:
    """(community, a meeting's start, how many attended it) for the period's meetings that took
    place (ended or live: a planned one is not yet held)."""
    if not scope.ids:
        return []
    rows = db.exec(select(Meeting.community_id, Meeting.starts_at, func.count(col(Attendance.id)))
                   .join(Attendance, col(Attendance.meeting_id) == Meeting.id, isouter=True)
                   .where(col(Meeting.community_id).in_(scope.ids), Meeting.status != MeetingStatus.planned,
                          Meeting.starts_at >= period.first_moment,
                          Meeting.starts_at < period.after_moment)
                   .group_by(col(Meeting.id))).all()
    return [(c, s, n) for c, s, n in rows]


@dataclass(frozen=True)
class SeriesCadence:
    series: Series
    cadence: figures.Cadence


def cadences(db: Session, scope: Scope, period: Period, today: date) -> list[SeriesCadence]:
    """Each series of the scope: the dates its rule expected in the period up to today, against the
    meetings that took place (ended or live)."""
    if not scope.ids:
        return []
    until = min(period.after_moment, datetime.combine(today, datetime.min.time()))
    series = db.exec(select(Series).where(col(Series.community_id).in_(scope.ids)).order_by(Series.id)).all()
    held: dict[int, list[datetime]] = {}
    for series_id, starts_at in db.exec(
            select(Meeting.series_id, Meeting.starts_at).where(
                col(Meeting.series_id).in_([s.id for s in series]), Meeting.status != MeetingStatus.planned,
                Meeting.starts_at >= period.first_moment, Meeting.starts_at < period.after_moment)).all():
        held.setdefault(series_id, []).append(starts_at)
    out = []
    for one in series:
        expected = _expected(one, period.first_moment, until)
        tolerance = figures.TOLERANCE.get(one.cadence, figures.DEFAULT_TOLERANCE)
        out.append(SeriesCadence(one, figures.held_against(expected, held.get(one.id, []), tolerance)))
    return out


def _expected(series: Series, start: datetime, until: datetime) -> list[datetime]:
    """The dates the series' rule gives from ``start`` to before ``until`` (none for a rule stored
    before today's checks that they refuse: its meetings still count as held)."""
    if until <= start:
        return []
    return list(_expected_of_rule(series.rrule, series.dtstart, start, until))


# Kept by the rule's own text and first date, so an edited series is a new key, never a stale
# answer. Expanding each series' rule from its first date was a third of a district's dashboard
# (235 series, every request); a district's series for a few quarters fit many times over.
@lru_cache(maxsize=8192)
def _expected_of_rule(rule: str, dtstart: datetime, start: datetime, until: datetime) -> tuple[datetime, ...]:
    try:
        checked = recurrence.check(rule, dtstart)  # a rule that gives no date gives none here
    except recurrence.BadRule:
        return ()
    out = []
    for when in recurrence.expand(checked, until):
        if when >= until or len(out) >= EXPECTED_MAX:
            break
        if when >= start:
            out.append(when)
    return tuple(out)


# ---------------------------------------------------------------- follow-up (issue #12)


def _committee_issues(scope: Scope, column) -> list:
    if scope.committee_id is None:
        return []
    return [col(column).in_(select(Issue.id).where(Issue.committee_id == scope.committee_id))]


def action_rows(db: Session, scope: Scope, at: datetime) -> list[ActionRow]:
    """The scope's actions overdue at ``at`` (action_query's conditions: the list behind the number
    selects with the same ones)."""
    if not scope.ids:
        return []
    rows = db.exec(select(Action.id, Action.community_id, Action.owner_committee_id, Action.owner_organisation_id,
                          Action.status, Action.due, Action.done_at)
                   .where(col(Action.community_id).in_(scope.ids), *action_query.overdue_at(at),
                          *_committee_issues(scope, Action.issue_id))).all()
    return [ActionRow(n, c, figures.owner_key(committee, organisation), status, due, done_at)
            for n, c, committee, organisation, status, due, done_at in rows]


def rating_rows(db: Session, scope: Scope, period: Period) -> list[RatingRow]:
    """The ratings given at the scope's quarterly reviews held in the period."""
    if not scope.ids:
        return []
    rows = db.exec(select(Rating.issue_id, Rating.community_id, Rating.satisfied, Rating.basically,
                          Rating.dissatisfied)
                   .where(col(Rating.community_id).in_(scope.ids), Rating.quarter == period.label,
                          *_committee_issues(scope, Rating.issue_id))).all()
    return [RatingRow(*r) for r in rows]


def owner_names(db: Session, keys: list[str], communities: dict[int, str] | None = None) -> dict[str, str]:
    """Committees' and organisations' names for owner keys ("c12", "o3"); with ``communities``
    (a street's or the district's page) a committee's name says whose it is: every community has
    one of each kind. A person has no name here."""
    committees = [int(k[1:]) for k in keys if k.startswith("c")]
    organisations = [int(k[1:]) for k in keys if k.startswith("o")]
    out: dict[str, str] = {}
    if committees:
        for c in db.exec(select(Committee).where(col(Committee.id).in_(committees))).all():
            where = (communities or {}).get(c.community_id)
            out[f"c{c.id}"] = f"{where} · {c.name}" if where else c.name
    if organisations:
        found = db.exec(select(Organisation).where(col(Organisation.id).in_(organisations))).all()
        out |= {f"o{o.id}": o.name for o in found}
    return out


def summary(rows: list[IssueRow], attendance: list[tuple[int, datetime, int]], period: Period) -> dict[str, Any]:
    """The headline figures of one set of rows (a scope, or one community of a ranking)."""
    resolved = figures.resolved_in(rows, period)
    return {
        "raised": len(figures.raised_in(rows, period)),
        "resolved": len(resolved),
        "open": sum(figures.is_open(r) for r in rows),
        "median_days": figures.median([figures.days_to_resolve(r) for r in resolved]),
        "participation": sum(n for _c, _s, n in attendance),
        "meetings": len(attendance),
    }


def followup_summary(actions: list[ActionRow], ratings: list[RatingRow], at: datetime) -> dict[str, Any]:
    """The follow-up figures of one set of rows: actions overdue at ``at``, the satisfaction rate."""
    rated = figures.satisfaction(ratings)
    return {"overdue": sum(figures.is_overdue_at(a, at) for a in actions), "satisfaction": rated.rate,
            "rated": rated}


def dashboard(db: Session, scope: Scope, period: Period, today: date, now: datetime | None = None) -> dict[str, Any]:
    # The version first: the rows read after it are at least as new, so figures are never kept
    # under a version newer than the data they were counted from.
    version = figures_version(db)
    key = (tuple(scope.ids), scope.committee_id, period)
    kept = _kept_for(db)
    counted = kept.get(key, version)
    if counted is None:
        counted = _counted(db, scope, period)
        kept.put(key, version, counted)
    # Actions and ratings are read afresh: overdue changes with the clock, not only with writes,
    # and the version's triggers watch issues, meetings and attendance only.
    at = figures.reckoning(period, now or current_time())
    actions, ratings = action_rows(db, scope, at), rating_rows(db, scope, period)
    out = dict(counted) | followup_summary(actions, ratings, at) | {
        "reckoned_at": at,
        "overdue_by_owner": figures.overdue_by_owner(actions, at),
        "period": period,
        "cadences": cadences(db, scope, period, today) if scope.committee_id is None else [],
    }
    if "ranking" in out:
        actions_of: dict[int, list[ActionRow]] = {}
        for one in actions:
            actions_of.setdefault(one.community_id, []).append(one)
        ratings_of: dict[int, list[RatingRow]] = {}
        for rating in ratings:
            ratings_of.setdefault(rating.community_id, []).append(rating)
        out["ranking"] = [(c, out["ranking"][c.id] | followup_summary(actions_of.get(c.id, []),
                                                                      ratings_of.get(c.id, []), at))
                          for c in scope.communities]
    return out


def _counted(db: Session, scope: Scope, period: Period) -> dict[str, Any]:
    """The figures counted from the scope's issues and attendance (plain values only: kept across
    requests, they hold no row of any session; the ranking is by community id)."""
    quarters = figures.quarters_ending(period)
    rows = issue_rows(db, scope, quarters[0].first_moment)
    attendance = attendance_rows(db, scope, period) if scope.committee_id is None else []
    out = summary(rows, attendance, period) | {
        "open_by_status": figures.open_by(rows, "status"),
        "open_by_category": figures.open_by(rows, "category"),
        "medians": figures.median_days_by_quarter(rows, quarters),
        "participation_by_month": figures.participation_by_month([(s, n) for _c, s, n in attendance], period),
    }
    out["chart"] = figures.bars([(q.period.label, q.median_days) for q in out["medians"]])
    if len(scope.communities) > 1:
        # Grouped once: 79 communities each filtering every row was most of a district's page.
        rows_of: dict[int, list[IssueRow]] = {}
        for r in rows:
            rows_of.setdefault(r.community_id, []).append(r)
        attended_of: dict[int, list[tuple[int, datetime, int]]] = {}
        for a in attendance:
            attended_of.setdefault(a[0], []).append(a)
        out["ranking"] = {c.id: summary(rows_of.get(c.id, []), attended_of.get(c.id, []), period)
                          for c in scope.communities}
    return out


def figures_version(db: Session) -> int | None:
    """What the database has counted of changes to issues, meetings and attendance (triggers of
    migration 0013_page_indexes); None where the row is missing, and nothing is kept then."""
    return db.exec(select(FiguresVersion.version).where(FiguresVersion.id == 1)).first()


class _Kept:
    """Figures by (scope, period), each with the version it was counted at; the least recently
    used go first. Shared by the server's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, tuple[int, dict[str, Any]]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, version: int | None) -> dict[str, Any] | None:
        if version is None:
            return None
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] != version:
                return None
            self.entries.move_to_end(key)
            return found[1]

    def put(self, key: tuple, version: int | None, counted: dict[str, Any]) -> None:
        if version is None:
            return
        with self.lock:
            self.entries[key] = (version, counted)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


# Each database its own (an engine each); a district's 79 communities, 11 streets, the district
# and their committees, for a few quarters.
KEPT_SIZE = 1024
_FIGURES: weakref.WeakKeyDictionary[Any, _Kept] = weakref.WeakKeyDictionary()
_FIGURES_LOCK = threading.Lock()


def _kept_for(db: Session) -> _Kept:
    engine = db.get_bind()
    engine = getattr(engine, "engine", engine)  # a session bound to a connection: its engine
    with _FIGURES_LOCK:
        kept = _FIGURES.get(engine)
        if kept is None:
            kept = _FIGURES[engine] = _Kept(KEPT_SIZE)
        return kept


RANKINGS = ("median_days", "raised", "resolved", "open", "participation", "overdue", "satisfaction")


def ranked(ranking: list[tuple[Area, dict[str, Any]]], by: str) -> list[tuple[Area, dict[str, Any]]]:
    """Fastest first for days to resolve (communities with nothing resolved last); the most
    satisfied first (none rated last); most first otherwise (overdue: those to chase first)."""
    if by == "median_days":
        return sorted(ranking, key=lambda pair: (pair[1]["median_days"] is None, pair[1]["median_days"] or 0,
                                                 pair[0].id))
    if by == "satisfaction":
        return sorted(ranking, key=lambda pair: (pair[1]["satisfaction"] is None, -(pair[1]["satisfaction"] or 0),
                                                 pair[0].id))
    return sorted(ranking, key=lambda pair: (-pair[1][by], pair[0].id))

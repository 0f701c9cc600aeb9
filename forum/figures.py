"""The oversight figures as pure functions over plain rows: no database, no I/O, hand-countable.

What the district watches (domain.md): issues raised and resolved in a period, what is open by
status and by category, the median days from raised to resolved per quarter, participation
(参与人次) per month, and meetings held against their series' cadence, gaps shown.

Definitions, so a figure can be checked by hand:
- *resolved in a period*: the issue's resolution (``resolved_at``, the latest one: an issue
  reopened and resolved again counts once, at its last resolution; one reopened and not yet
  resolved again is not resolved) falls in the period;
- *days to resolve*: from raised to that resolution, in days (fractions kept until the median);
- *median*: the middle value, and for an even count the mean of the two middle values; none for
  an empty period (shown as "—", never as 0);
- *held against the cadence*: each date the series' rule expected, up to the period's end or
  today, is held when a meeting of the series started within the cadence's tolerance of it
  (a weekly talk moved by a day or two is held, not a gap).

- *overdue*: an action past its due day and not done, counted at the period's end (or now, for
  the quarter that runs): one done after that moment was still overdue at it;
- *satisfaction rate*: residents' 满意 + 基本满意 over all their ratings at the quarter's reviews
  (forum.review), none with no rating (shown as "—", never as 0%).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median as _median

from forum import lifecycle
from forum.lifecycle import Status

QUARTER_MONTHS = 3
HISTORY_QUARTERS = 8  # the median chart's reach: two years, ending with the chosen quarter
YEARS = (2000, 2100)  # the periods forum accepts (recurrence.py's range of first meetings)
TOLERANCE = {"weekly": timedelta(days=3), "monthly": timedelta(days=10), "quarterly": timedelta(days=30)}
DEFAULT_TOLERANCE = timedelta(days=1)


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """Whole days from ``start`` to ``end``, both included."""

    start: date
    end: date
    label: str

    def holds(self, when: datetime | date | None) -> bool:
        if when is None:
            return False
        day = when.date() if isinstance(when, datetime) else when
        return self.start <= day <= self.end

    @property
    def first_moment(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time())

    @property
    def after_moment(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time())


def quarter(year: int, number: int) -> Period:
    if not (YEARS[0] <= year <= YEARS[1] and 1 <= number <= 4):
        raise BadPeriod(f"{year}Q{number}")
    start = date(year, 3 * number - 2, 1)
    following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return Period(start, following - timedelta(days=1), f"{year}Q{number}")


def quarter_of(day: date) -> Period:
    return quarter(day.year, (day.month - 1) // QUARTER_MONTHS + 1)


def parse_quarter(text: str) -> Period:
    """``2026Q3`` (or ``2026q3``) → that quarter; anything else is ``BadPeriod``."""
    text = text.strip().upper()
    if len(text) != 6 or not text.isascii() or text[4] != "Q" or not text[:4].isdigit() or text[5] not in "1234":
        raise BadPeriod(text[:20])
    return quarter(int(text[:4]), int(text[5]))


def previous(period: Period) -> Period:
    return quarter_of(period.start - timedelta(days=1))


def quarters_ending(period: Period, count: int = HISTORY_QUARTERS) -> list[Period]:
    """``count`` quarters, oldest first, the last being ``period`` (none before forum's first year)."""
    out = [period]
    while len(out) < count and out[-1].start > date(YEARS[0], 1, 1):
        out.append(previous(out[-1]))
    return out[::-1]


# ---------------------------------------------------------------- issues


@dataclass(frozen=True)
class IssueRow:
    id: int
    community_id: int
    committee_id: int | None
    category: str
    status: str
    raised_at: datetime
    resolved_at: datetime | None


def is_open(row: IssueRow) -> bool:
    return Status(row.status) in lifecycle.OPEN


def raised_in(rows: Iterable[IssueRow], period: Period) -> list[IssueRow]:
    return [r for r in rows if period.holds(r.raised_at)]


def resolved_in(rows: Iterable[IssueRow], period: Period) -> list[IssueRow]:
    return [r for r in rows if period.holds(r.resolved_at)]


def open_by(rows: Iterable[IssueRow], key: str) -> dict[str, int]:
    """Open issues counted by ``status`` or ``category``, largest first."""
    return dict(Counter(getattr(r, key) for r in rows if is_open(r)).most_common())


def days_to_resolve(row: IssueRow) -> float:
    assert row.resolved_at is not None
    return (row.resolved_at - row.raised_at).total_seconds() / 86400


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle ones for an even count; None for none."""
    return float(_median(values)) if values else None


@dataclass(frozen=True)
class QuarterMedian:
    period: Period
    median_days: float | None
    resolved: int


def median_days_by_quarter(rows: Sequence[IssueRow], periods: Sequence[Period]) -> list[QuarterMedian]:
    out = []
    for period in periods:
        days = [days_to_resolve(r) for r in resolved_in(rows, period)]
        out.append(QuarterMedian(period, median(days), len(days)))
    return out


def last_resolution(events: Iterable[tuple[datetime, str, str]]) -> datetime | None:
    """From an issue's history (at, action, to_status), oldest first: when it was last resolved,
    or None if it was reopened since (what ``Issue.resolved_at`` holds, derived independently)."""
    resolved: datetime | None = None
    for at, action, to_status in events:
        if to_status == Status.resolved:
            resolved = at
        elif action == lifecycle.Step.reopen:
            resolved = None
    return resolved


# ---------------------------------------------------------------- participation and meetings


def months_of(period: Period) -> list[date]:
    """The first day of every month the period touches."""
    out, day = [], period.start.replace(day=1)
    while day <= period.end:
        out.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return out


def participation_by_month(rows: Iterable[tuple[datetime, int]], period: Period) -> list[tuple[date, int]]:
    """参与人次 per month: rows are (a meeting's start, how many attended it)."""
    counts: Counter[date] = Counter()
    for starts_at, attended in rows:
        if period.holds(starts_at):
            counts[starts_at.date().replace(day=1)] += attended
    return [(month, counts.get(month, 0)) for month in months_of(period)]


@dataclass(frozen=True)
class Cadence:
    expected: int
    held: int
    gaps: list[datetime]
    extra: int  # meetings of the series that matched no expected date


def held_against(expected: Sequence[datetime], held: Sequence[datetime], tolerance: timedelta) -> Cadence:
    """Each expected date is held by the nearest unused meeting within ``tolerance``."""
    free = sorted(held)
    gaps = []
    for when in sorted(expected):
        near = [h for h in free if abs(h - when) <= tolerance]
        if near:
            free.remove(min(near, key=lambda h: abs(h - when)))
        else:
            gaps.append(when)
    return Cadence(len(expected), len(expected) - len(gaps), gaps, len(free))


# ---------------------------------------------------------------- follow-up: overdue actions, satisfaction

# An action's owner as the figures group it: a committee ("c12"), an organisation ("o3"), or a
# person, whoever they are ("person"): a staff member or a landlord is counted, never named.
PERSON = "person"


@dataclass(frozen=True)
class ActionRow:
    id: int
    community_id: int
    owner: str  # owner_key's
    status: str
    due: date
    done_at: datetime | None


def owner_key(committee_id: int | None, organisation_id: int | None) -> str:
    """The owner's group: its committee, its organisation, else a person (staff member or not)."""
    if committee_id is not None:
        return f"c{committee_id}"
    if organisation_id is not None:
        return f"o{organisation_id}"
    return PERSON


def reckoning(period: Period, now: datetime) -> datetime:
    """The moment a period's overdue actions are counted at: its end, or now while it runs."""
    return min(now, period.after_moment)


def is_overdue_at(row: ActionRow, moment: datetime) -> bool:
    """Past its due day at ``moment`` and not done by then (due that day is not late yet; an
    action done after the moment was still overdue at it). A "done" without a recorded time is done."""
    if row.due >= moment.date():
        return False
    return not (row.status == "done" and (row.done_at is None or row.done_at < moment))


def overdue_by_owner(rows: Iterable[ActionRow], moment: datetime) -> dict[str, int]:
    """Overdue actions at ``moment`` counted by owner, most first; a tie in the owners' order."""
    counts = Counter(r.owner for r in rows if is_overdue_at(r, moment))
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


@dataclass(frozen=True)
class RatingRow:
    """One rating at a quarterly review: how many residents gave each verdict."""

    issue_id: int
    community_id: int
    satisfied: int
    basically: int
    dissatisfied: int


@dataclass(frozen=True)
class Satisfaction:
    issues: int  # issues rated
    satisfied: int  # residents' ratings of each kind
    basically: int
    dissatisfied: int

    @property
    def ratings(self) -> int:
        return self.satisfied + self.basically + self.dissatisfied

    @property
    def rate(self) -> float | None:
        """(满意 + 基本满意) over all ratings (domain.md); None with none: no rate, never 0%."""
        return (self.satisfied + self.basically) / self.ratings if self.ratings else None


def satisfaction(rows: Iterable[RatingRow]) -> Satisfaction:
    """The residents' ratings of the rows summed, as forum.review.satisfaction_rate counts them."""
    given = list(rows)
    return Satisfaction(len({r.issue_id for r in given}), sum(r.satisfied for r in given),
                        sum(r.basically for r in given), sum(r.dissatisfied for r in given))


def percent(rate: float | None) -> str:
    """A rate as the dashboards write it: one decimal, "—" for none."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


# ---------------------------------------------------------------- the chart


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    x: float
    y: float
    width: float
    height: float


def bars(points: Sequence[tuple[str, float | None]], width: float = 640, height: float = 220,
         gutter: float = 8, top: float = 20, bottom: float = 28) -> list[Bar]:
    """Bar geometry for an SVG chart: equal slots, heights to scale of the largest value."""
    if not points:
        return []
    largest = max((v for _l, v in points if v), default=0) or 1
    slot = width / len(points)
    room = height - top - bottom
    out = []
    for n, (label, value) in enumerate(points):
        h = room * (value or 0) / largest
        out.append(Bar(label, value, n * slot + gutter / 2, top + room - h, slot - gutter, h))
    return out

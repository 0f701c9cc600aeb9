"""Meeting series recurrence (RFC 5545 RRULE) as pure functions over dateutil's rrule.

A rule is typed by a facilitator and expanded on every view of its series, anonymous ones
included, so both steps are bounded whatever was typed:

- ``parse`` reads the rule part by part and refuses what is no meeting rhythm or could make
  expansion run away: sub-daily frequencies and BYHOUR/BYMINUTE/BYSECOND, an interval below 1,
  a COUNT or UNTIL beyond sane limits, values out of range, a first meeting before MIN_YEAR or
  after MAX_YEAR.
- expansion stops at the rule's own COUNT (counted here, not by dateutil), at a window after
  the point asked about, after MAX_OCCURRENCES occurrences walked, and after MAX_DAYS of calendar
  tried, period by period (a day, a week, a month or a year at a time). The last matters for a
  rule that matches nothing, such as 30 February: dateutil would try every period until the
  year 9999 (8 s for a daily rule), and no UNTIL stops it, since dateutil checks UNTIL only
  against dates it found.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

import dateutil.rrule
from dateutil.rrule import rrule, rrulestr

from forum.i18n import N_

log = logging.getLogger("forum.recurrence")

# What a new series offers for each cadence: the rhythm of 每周一次恳谈、每月一次协调、每季度一次评议.
PRESETS = {
    "weekly": "FREQ=WEEKLY;BYDAY=TU",
    "monthly": "FREQ=MONTHLY;BYDAY=1TH",
    "quarterly": "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR",
}

RULE_MAX = 200  # the column's length
MIN_YEAR, MAX_YEAR = 2000, 2100  # a first meeting outside these years is a typing mistake
UNTIL_MAX_YEAR = 2200
INTERVAL_MAX = 100
COUNT_MAX = 1000
# A century and a half of calendar, whatever the period: a daily rule from MIN_YEAR asked about
# MAX_YEAR fits, and no expansion costs more than about a tenth of a second of CPU.
MAX_DAYS = 55_000
MAX_OCCURRENCES = 55_000
WINDOW = timedelta(days=366 * 50)  # how far past the point asked about a search looks

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
SUB_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Each BY* list part: (lowest absolute value, highest, may be negative).
BY_RANGES = {
    "BYMONTH": (1, 12, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYSETPOS": (1, 366, True),
}
INTEGER = re.compile(r"^[+-]?\d{1,4}$")
BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
UNTIL = re.compile(r"^(\d{8})(T\d{6}Z?)?$")

AT_MOST_DAILY = N_("Meetings repeat at most daily, every 1 or more days, weeks, months or years.")
NOT_UNDERSTOOD = N_("This is not a recurrence rule forum understands (RFC 5545 RRULE).")
NEVER = N_("This rule never produces a meeting.")


class BadRule(ValueError):
    """A rule refused, with a message (a msgid) and its parameters for the person who typed it.

    ``field`` says which form field it belongs by: the rule, or the first meeting's date."""

    def __init__(self, message: str, params: dict | None = None, field: str = "rrule") -> None:
        super().__init__(message)
        self.message = message
        self.params = params or {}
        self.field = field


@dataclass
class Budget:
    """What one call may spend: the days of calendar dateutil tried, period by period."""

    days: int = MAX_DAYS
    spent: int = 0

    def spend(self, days: int) -> None:
        self.spent += days
        if self.spent > self.days:
            raise _OutOfSteps


class _OutOfSteps(Exception):
    pass


class _CountedIterInfo(dateutil.rrule._iterinfo):  # type: ignore[name-defined]
    """dateutil's per-expansion helper, which it calls once per period tried: the only place
    inside its loop where a run that finds nothing can be counted and stopped. Rules built here
    carry a ``_forum_budget``; every other rrule (the demo's, anyone's) is untouched."""

    def _spend(self, days: int) -> None:
        budget = getattr(self.rrule, "_forum_budget", None)
        if budget is not None:
            budget.spend(days)

    def ydayset(self, year, month, day):
        self._spend(366)
        return super().ydayset(year, month, day)

    def mdayset(self, year, month, day):
        self._spend(31)
        return super().mdayset(year, month, day)

    def wdayset(self, year, month, day):
        self._spend(7)
        return super().wdayset(year, month, day)

    def ddayset(self, year, month, day):
        self._spend(1)
        return super().ddayset(year, month, day)


dateutil.rrule._iterinfo = _CountedIterInfo  # type: ignore[attr-defined]


@dataclass
class Rule:
    """A checked rule: dateutil's rrule without COUNT and UNTIL, which expansion applies itself."""

    rrule: rrule
    count: int | None = None
    until: datetime | None = None
    parts: dict[str, str] = field(default_factory=dict)


def _parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for chunk in text.upper().split(";"):
        if not chunk.strip():
            continue  # "FREQ=WEEKLY;" as calendars often write it
        name, sep, value = chunk.strip().partition("=")
        name = name.strip()
        if not sep or not value or name in parts:
            raise BadRule(NOT_UNDERSTOOD)
        parts[name] = value.strip()
    return parts


def _check_parts(parts: dict[str, str]) -> None:
    freq = parts.get("FREQ")
    if freq in SUB_DAILY or any(p in parts for p in ("BYHOUR", "BYMINUTE", "BYSECOND")):
        raise BadRule(AT_MOST_DAILY)
    if freq not in FREQUENCIES:
        raise BadRule(NOT_UNDERSTOOD)
    known = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", *BY_RANGES}
    if set(parts) - known:
        raise BadRule(NOT_UNDERSTOOD)
    interval = parts.get("INTERVAL", "1")
    # Digits only: "+0" and "-1" are what str.isdigit once let through, and they never end.
    if not (interval.isascii() and interval.isdigit() and len(interval) <= 3 and 1 <= int(interval) <= INTERVAL_MAX):
        raise BadRule(N_("The interval (INTERVAL) must be a whole number from 1 to %(n)d."), {"n": INTERVAL_MAX})
    if "COUNT" in parts and "UNTIL" in parts:
        raise BadRule(N_("Give COUNT or UNTIL, not both."))
    count = parts.get("COUNT")
    if count is not None and not (
            count.isascii() and count.isdigit() and len(count) <= 4 and 1 <= int(count) <= COUNT_MAX):
        raise BadRule(N_("COUNT must be a whole number from 1 to %(n)d."), {"n": COUNT_MAX})
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        raise BadRule(NOT_UNDERSTOOD)
    for name, (low, high, signed) in BY_RANGES.items():
        for item in parts.get(name, "").split(",") if name in parts else ():
            if not INTEGER.match(item) or (item[0] in "+-" and not signed) or not low <= abs(int(item)) <= high:
                raise BadRule(N_("%(part)s takes whole numbers from %(low)d to %(high)d."),
                              {"part": name, "low": -high if signed else low, "high": high})
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else ():
        match = BYDAY.match(item)
        if not match:
            raise BadRule(NOT_UNDERSTOOD)
        if match.group(1) is not None and not 1 <= abs(int(match.group(1))) <= 53:
            raise BadRule(N_("%(part)s takes whole numbers from %(low)d to %(high)d."),
                          {"part": "BYDAY", "low": -53, "high": 53})


def _until(value: str) -> datetime:
    match = UNTIL.match(value)
    try:
        if not match:
            raise ValueError
        # A trailing Z (UTC) is read as local time: series times are the community's wall clock.
        when = datetime.strptime(match.group(1) + (match.group(2) or "T235959")[:7], "%Y%m%dT%H%M%S")
    except ValueError:
        when = None
    if when is None or not MIN_YEAR <= when.year <= UNTIL_MAX_YEAR:
        raise BadRule(N_("UNTIL must be a date from %(low)d to %(high)d, written like 20271231."),
                      {"low": MIN_YEAR, "high": UNTIL_MAX_YEAR})
    return when


def check(rule: str, dtstart: datetime) -> Rule:
    """The checked rule, or BadRule; nothing is expanded here."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:].strip()
    if not text:
        raise BadRule(N_("Enter a recurrence rule, for example FREQ=WEEKLY;BYDAY=TU."))
    if len(text) > RULE_MAX:
        raise BadRule(N_("A recurrence rule has at most %(n)d characters."), {"n": RULE_MAX})
    if not MIN_YEAR <= dtstart.year <= MAX_YEAR:
        raise BadRule(N_("The first meeting must be in a year from %(low)d to %(high)d."),
                      {"low": MIN_YEAR, "high": MAX_YEAR}, field="dtstart")
    parts = _parts(text)
    _check_parts(parts)
    until = _until(parts["UNTIL"]) if "UNTIL" in parts else None
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    body = ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))
    try:
        parsed = rrulestr(body, dtstart=dtstart.replace(tzinfo=None))
    except (ValueError, TypeError, OverflowError):
        raise BadRule(NOT_UNDERSTOOD) from None
    if not isinstance(parsed, rrule):
        raise BadRule(NOT_UNDERSTOOD)
    return Rule(parsed, count, until, parts)


def expand(checked: Rule, stop: datetime, budget: Budget | None = None) -> Iterator[datetime]:
    """The rule's dates in order, up to ``stop``, within the rule's COUNT and the budget."""
    budget = budget or Budget()
    until = min(checked.until, stop) if checked.until else stop
    bounded = checked.rrule.replace(until=until)
    bounded._forum_budget = budget  # type: ignore[attr-defined]
    walked = 0
    try:
        for when in bounded:
            walked += 1
            if walked > MAX_OCCURRENCES:
                break
            yield when
            if checked.count is not None and walked >= checked.count:
                return
        else:
            return
    except _OutOfSteps:
        pass
    log.info("recurrence expansion stopped by its limits after %d periods and %d dates", budget.spent, walked)


def _stop(after: datetime) -> datetime:
    year_max = datetime(UNTIL_MAX_YEAR, 12, 31, 23, 59, 59)
    return year_max if after > year_max - WINDOW else after + WINDOW


def parse(rule: str, dtstart: datetime, budget: Budget | None = None) -> Rule:
    """The checked rule, or BadRule with a message for the person who typed it, also when it
    produces no meeting within the years forum plans for."""
    checked = check(rule, dtstart)
    if next(expand(checked, _stop(dtstart), budget), None) is None:
        raise BadRule(NEVER)
    return checked


def occurrences(rule: str, dtstart: datetime, after: datetime, count: int = 8,
                budget: Budget | None = None) -> list[datetime]:
    """The next ``count`` occurrences strictly after ``after`` (fewer when the limits stop the search)."""
    budget = budget or Budget()
    checked = parse(rule, dtstart, budget)
    found = (when for when in expand(checked, _stop(after), budget) if when > after)
    return list(islice(found, max(0, min(count, MAX_OCCURRENCES))))


def upcoming(rule: str, dtstart: datetime, after: datetime, count: int = 8) -> list[datetime]:
    """``occurrences`` for a rule already stored: one saved before today's checks may be refused
    now, and then its series simply shows no coming dates rather than failing the page."""
    try:
        return occurrences(rule, dtstart, after, count)
    except BadRule:
        return []


def is_occurrence(rule: str, dtstart: datetime, when: datetime, budget: Budget | None = None) -> bool:
    budget = budget or Budget()
    checked = parse(rule, dtstart, budget)
    if when.tzinfo is not None or not MIN_YEAR <= when.year <= UNTIL_MAX_YEAR:
        return False
    return any(candidate == when for candidate in expand(checked, when, budget))

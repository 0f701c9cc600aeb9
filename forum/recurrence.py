"""Meeting series recurrence (RFC 5545 RRULE) as pure functions over dateutil's rrule."""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from dateutil.rrule import rrulestr

from forum.i18n import N_

# What a new series offers for each cadence: the rhythm of 每周一次恳谈、每月一次协调、每季度一次评议.
PRESETS = {
    "weekly": "FREQ=WEEKLY;BYDAY=TU",
    "monthly": "FREQ=MONTHLY;BYDAY=1TH",
    "quarterly": "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR",
}


class BadRule(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse(rule: str, dtstart: datetime):
    """The rrule of a series, or BadRule with a message for the person who typed it."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        raise BadRule(N_("Enter a recurrence rule, for example FREQ=WEEKLY;BYDAY=TU."))
    # A zero or negative interval loops forever in dateutil, and sub-daily rules are no meeting rhythm.
    fields = dict(part.partition("=")[::2] for part in text.upper().split(";"))
    interval = fields.get("INTERVAL", "1")
    if fields.get("FREQ") in ("HOURLY", "MINUTELY", "SECONDLY") or (
            interval.lstrip("-").isdigit() and int(interval) < 1):
        raise BadRule(N_("Meetings repeat at most daily, every 1 or more days, weeks, months or years."))
    try:
        parsed = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError):
        raise BadRule(N_("This is not a recurrence rule forum understands (RFC 5545 RRULE).")) from None
    if next(iter(parsed), None) is None:
        raise BadRule(N_("This rule never produces a meeting."))
    return parsed


def occurrences(rule: str, dtstart: datetime, after: datetime, count: int = 8) -> list[datetime]:
    """The next ``count`` occurrences strictly after ``after``."""
    parsed = parse(rule, dtstart)
    return list(islice(parsed.xafter(after, inc=False), count))


def is_occurrence(rule: str, dtstart: datetime, when: datetime) -> bool:
    parsed = parse(rule, dtstart)
    return parsed.after(when, inc=True) == when

"""The issue list's filters, one reading for every page that takes them: a community's issue list,
an area's (street, district) and the CSV export, so a dashboard's number links to the list behind
it with the same parameters, and the list counts exactly what the number counted. (The JSON API
reads the same names strictly, refusing what it does not know: forum.api.issue_filters.)

Filters are read leniently (a value forum does not know filters nothing, as the list's form always
did), except dates, whose mistakes are reported: a list that silently ignored "raised_to" would
show more than the number that linked to it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, or_, select

from forum import lifecycle
from forum.forms import int_param
from forum.lifecycle import Status
from forum.models import CATEGORIES, Issue, Rating

TEXT_KEYS = ("status", "category", "committee", "q", "rated")
DATE_KEYS = ("raised_from", "raised_to", "resolved_from", "resolved_to")
KEYS = TEXT_KEYS + DATE_KEYS


class BadDate(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def read(params: Any) -> dict[str, str]:
    return {k: str(params.get(k, "")).strip()[:100] for k in KEYS}


def _day(filters: dict[str, str], key: str) -> date | None:
    raw = filters.get(key, "")
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadDate(key) from None


def _start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def where(filters: dict[str, str]) -> list:
    """The query's conditions (raises ``BadDate`` naming a date that is no date)."""
    out: list = []
    if filters["status"] == "open":
        out.append(col(Issue.status).in_([s.value for s in lifecycle.OPEN]))
    elif filters["status"] in Status.__members__:
        out.append(Issue.status == filters["status"])
    if filters["category"] in CATEGORIES:
        out.append(Issue.category == filters["category"])
    if int_param(filters["committee"]) is not None:
        out.append(Issue.committee_id == int(filters["committee"]))
    if filters["q"]:
        # autoescape: a resident typing "%" or "_" means those characters, not wildcards.
        out.append(or_(*(col(c).contains(filters["q"], autoescape=True)
                         for c in (Issue.title, Issue.description, Issue.place))))
    if filters["rated"]:
        # Rated at a quarterly review of that quarter ("2026Q3"): behind the satisfaction rate. A
        # quarter misspelt matches no rating, so the list shows less, never more, than its number.
        out.append(col(Issue.id).in_(select(Rating.issue_id).where(Rating.quarter == filters["rated"].upper())))
    for key, column in (("raised", Issue.raised_at), ("resolved", Issue.resolved_at)):
        start, end = _day(filters, f"{key}_from"), _day(filters, f"{key}_to")
        if start is not None:
            out.append(col(column) >= _start(start))
        if end is not None:
            out.append(col(column) < _start(end) + timedelta(days=1))
    return out

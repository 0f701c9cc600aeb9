"""The action list's filters, one reading for every place that takes them: a community's or an
area's action list, the actions' CSV and the dashboards' links, so a number links to a list that
counts exactly what it counted. (The JSON API reads its own few names: forum.api.action_filters.)

Filters are read strictly: an owner, status or quarter forum does not know is refused by name,
since a list that ignored it would show more than the number that linked to it.

- ``status``: one of the actions' statuses, or ``unfinished`` (anything but done);
- ``owner``: ``c12`` a committee, ``o3`` an organisation, ``person`` any person (a staff member or
  someone without a sign-in: grouped, never named);
- ``committee``: actions serving the issues of that committee (its dashboard's scope);
- ``quarter`` with ``overdue=1``: overdue at the end of that quarter (now, for the running one);
  ``overdue=1`` alone: overdue now; ``quarter`` alone: due in that quarter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, and_, col, or_, select

from forum import figures
from forum.followup import Status
from forum.forms import int_param
from forum.i18n import N_
from forum.models import Action, Issue

KEYS = ("status", "owner", "committee", "overdue", "quarter")
UNFINISHED = "unfinished"


class BadFilter(ValueError):
    """A filter forum cannot use: the field, and a message id to translate where it is shown."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def read(params: Any) -> dict[str, str]:
    return {k: str(params.get(k, "")).strip()[:40] for k in KEYS}


def period(filters: dict[str, str]) -> figures.Period | None:
    if not filters.get("quarter"):
        return None
    try:
        return figures.parse_quarter(filters["quarter"])
    except figures.BadPeriod:
        raise BadFilter("quarter", N_("“quarter” is a quarter written like 2026Q3, from 2000 to 2100.")) from None


def moment(filters: dict[str, str], now: datetime) -> datetime:
    """When "overdue" is counted: the end of the quarter asked for, or now."""
    chosen = period(filters)
    return figures.reckoning(chosen, now) if chosen else now


def overdue_at(at: datetime) -> list:
    """The SQL of figures.is_overdue_at: past its due day at ``at``, and not done by then."""
    return [col(Action.due) < at.date(),
            or_(Action.status != Status.done, and_(col(Action.done_at).is_not(None), col(Action.done_at) >= at))]


def _owner(value: str) -> list:
    if value == figures.PERSON:
        return [col(Action.owner_committee_id).is_(None), col(Action.owner_organisation_id).is_(None)]
    number = int_param(value[1:]) if value[:1] in ("c", "o") else None
    if number is None:
        raise BadFilter("owner", N_("“owner” is c and a committee's number, o and an organisation's, or “person”."))
    column = Action.owner_committee_id if value[0] == "c" else Action.owner_organisation_id
    return [column == number]


def where(filters: dict[str, str], now: datetime) -> list:
    """The query's conditions (raises ``BadFilter`` naming what it cannot use)."""
    out: list = []
    status = filters.get("status", "")
    if status == UNFINISHED:
        out.append(Action.status != Status.done)
    elif status in Status.__members__:
        out.append(Action.status == status)
    elif status:
        raise BadFilter("status", N_("“status” is one of the actions' statuses, or “unfinished”."))
    if filters.get("owner"):
        out += _owner(filters["owner"])
    if filters.get("committee"):
        committee = int_param(filters["committee"])
        if committee is None:
            raise BadFilter("committee", N_("“committee” is a committee's number."))
        out.append(col(Action.issue_id).in_(select(Issue.id).where(Issue.committee_id == committee)))
    chosen = period(filters)
    if filters.get("overdue") not in ("", "0", "1"):
        raise BadFilter("overdue", N_("“overdue” is 1 (only overdue actions) or 0."))
    if filters.get("overdue") == "1":
        out += overdue_at(moment(filters, now))
    elif chosen is not None:
        out += [col(Action.due) >= chosen.start, col(Action.due) <= chosen.end]
    return out


def listing(db: Session, community_ids: list[int], filters: dict[str, str], now: datetime,
            limit: int) -> tuple[list[Action], int]:
    """The actions the filters select among those communities', most overdue first (earliest due),
    at most ``limit`` of them, and how many there are in all."""
    if not community_ids:
        return [], 0
    conditions = [col(Action.community_id).in_(community_ids), *where(filters, now)]
    found = db.exec(select(Action).where(*conditions).order_by(col(Action.due), col(Action.id)).limit(limit)).all()
    total = db.exec(select(func.count()).select_from(Action).where(*conditions)).one()
    return list(found), total


def public_rows(db: Session, actions: list[Action], at: datetime, owner_names: dict[str, str]) -> list[dict]:
    """What a public list shows of each action: owner by group (a person unnamed), overdue at ``at``
    and by how many days, its issue."""
    issues = {i.id: i for i in db.exec(select(Issue).where(col(Issue.id).in_([a.issue_id for a in actions])))
              } if actions else {}
    out = []
    for a in actions:
        key = figures.owner_key(a.owner_committee_id, a.owner_organisation_id)
        row = figures.ActionRow(a.id, a.community_id, key, a.status, a.due, a.done_at)
        overdue = figures.is_overdue_at(row, at)
        out.append({"action": a, "owner_key": key, "owner": owner_names.get(key), "overdue": overdue,
                    "late": (at.date() - a.due).days if overdue else 0, "issue": issues.get(a.issue_id)})
    return out


def owner_keys(db: Session, community_ids: list[int]) -> list[str]:
    """Every owner group with an action in those communities (the list's owner choices)."""
    if not community_ids:
        return []
    pairs = db.exec(select(Action.owner_committee_id, Action.owner_organisation_id)
                    .where(col(Action.community_id).in_(community_ids)).distinct()).all()
    return sorted({figures.owner_key(c, o) for c, o in pairs})

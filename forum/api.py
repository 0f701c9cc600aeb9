"""The public record as data, for the read-only JSON API (/api/v1) and the open-data exports.

Each function returns plain dicts of what anyone may see on forum's public pages, never what
forum keeps about people: no names of residents (an issue's ``raised_by``, an event's actor, an
attendance's name), no phones, no buildings or rooms, no ballots of a voter. Secret and open
votes alike appear as totals. The shapes are those of the OpenAPI document (forum.openapi),
which tests check every answer against.

Lists are paginated with a bounded page size, so no request reads an unbounded table.

Follow-up actions are public as the dashboards count them: an owner that is a committee or an
organisation by name, a person (a staff member, a landlord) as "a person", never named, in the
action and in the notes of its issue's timeline alike.

A parameter's mistake is a ``BadParameter`` whose message is a message id with its values, put in
the reader's language where it is answered (forum.views.api).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, not_
from sqlmodel import Session, and_, col, select

from forum import action_query, agenda, figures, followup, lifecycle, oversight, owner_privacy
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.lifecycle import Status
from forum.models import (
    CATEGORIES,
    Action,
    AgendaEntry,
    Area,
    AreaKind,
    Attendance,
    Issue,
    IssueEvent,
    Meeting,
    Vote,
    VoteReceipt,
    VoteStatus,
)

PER_PAGE = 50
PER_PAGE_MAX = 200
PAGE_MAX = 10_000  # deep offsets are slow and nobody pages that far: filter instead
_DAY = timedelta(days=1)
AFTER = N_("“%(parameter)s” comes on or after “%(other)s”.")


class BadParameter(ValueError):
    """A query parameter forum cannot use, with the parameter named and what it takes: a message id
    (``N_``) and the values it is filled with once translated."""

    def __init__(self, parameter: str, message: str, **values: Any) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message
        self.values = {"parameter": parameter} | values

    def text(self) -> str:
        """The message in the current language."""
        return _(self.message) % self.values


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _bounded_int(params: Any, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not low <= int(raw) <= high:
        raise BadParameter(name, N_("“%(parameter)s” is a whole number from %(low)d to %(high)d."), low=low, high=high)
    return int(raw)


def paging(params: Any) -> Paging:
    return Paging(_bounded_int(params, "page", 1, 1, PAGE_MAX),
                  _bounded_int(params, "per_page", PER_PAGE, 1, PER_PAGE_MAX))


def day_param(params: Any, name: str) -> date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad_day(name)
    except ValueError:
        return _bad_day(name)


def _bad_day(name: str) -> date:
    raise BadParameter(name, N_("“%(parameter)s” is a date written YYYY-MM-DD."))


def choice_param(params: Any, name: str, allowed: Any) -> str | None:
    raw = params.get(name)
    if not raw:
        return None
    if raw not in allowed:
        raise BadParameter(name, N_("“%(parameter)s” is one of: %(choices)s."), choices=", ".join(sorted(allowed)))
    return raw


def community_param(db: Session, params: Any, name: str = "community") -> Area | None:
    raw = params.get(name)
    if not raw:
        return None
    area = db.exec(select(Area).where(Area.slug == raw[:60], Area.kind == AreaKind.community)).first()
    if area is None:
        raise BadParameter(name, N_("“%(parameter)s” is a community's address name (see /api/v1/areas)."))
    return area


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value is not None else None


def _page(db: Session, query, count_query, paging: Paging, shape) -> dict[str, Any]:
    total = db.exec(count_query).one()
    rows = db.exec(query.offset(paging.offset).limit(paging.per_page)).all()
    return {"items": [shape(r) for r in rows], "page": paging.page, "per_page": paging.per_page, "total": total,
            "pages": max(1, -(-total // paging.per_page))}


# ---------------------------------------------------------------- areas


def area_dict(area: Area) -> dict[str, Any]:
    return {"id": area.id, "name": area.name, "kind": area.kind, "parent_id": area.parent_id, "slug": area.slug,
            "archived": area.archived_at is not None}


def areas(db: Session, paging: Paging) -> dict[str, Any]:
    return _page(db, select(Area).order_by(Area.id), select(func.count()).select_from(Area), paging, area_dict)


# ---------------------------------------------------------------- issues


def issue_dict(issue: Issue) -> dict[str, Any]:
    # Who raised it is a resident's name: left out (README, residents' personal data).
    return {"id": issue.id, "community_id": issue.community_id, "committee_id": issue.committee_id,
            "title": issue.title, "description": issue.description, "category": issue.category,
            "place": issue.place, "source": issue.source, "status": issue.status,
            "open": Status(issue.status) in lifecycle.OPEN, "merged_into_id": issue.merged_into_id,
            "raised_at": _when(issue.raised_at), "resolved_at": _when(issue.resolved_at),
            "updated_at": _when(issue.updated_at)}


def issue_filters(db: Session, params: Any) -> list:
    """The issue list's filters (community, status or ``open``, category, committee, raised from/to)."""
    where = []
    community = community_param(db, params)
    if community is not None:
        where.append(Issue.community_id == community.id)
    status = choice_param(params, "status", set(Status.__members__) | {"open"})
    if status == "open":
        where.append(col(Issue.status).in_([s.value for s in lifecycle.OPEN]))
    elif status:
        where.append(Issue.status == status)
    category = choice_param(params, "category", set(CATEGORIES))
    if category:
        where.append(Issue.category == category)
    committee = _bounded_int(params, "committee", 0, 1, 10**15)
    if committee:
        where.append(Issue.committee_id == committee)
    start, end = day_param(params, "raised_from"), day_param(params, "raised_to")
    if start and end and start > end:
        raise BadParameter("raised_to", AFTER, other="raised_from")
    if start:
        where.append(Issue.raised_at >= datetime.combine(start, datetime.min.time()))
    if end:
        where.append(Issue.raised_at < datetime.combine(end, datetime.min.time()) + _DAY)
    return where


def issues(db: Session, params: Any, paging: Paging) -> dict[str, Any]:
    where = issue_filters(db, params)
    query = select(Issue).where(*where).order_by(col(Issue.id))
    return _page(db, query, select(func.count()).select_from(Issue).where(*where), paging, issue_dict)


def event_dict(event: IssueEvent, unnaming: owner_privacy.Unnaming | None = None) -> dict[str, Any]:
    # The actor is left out: for "raise" it is the resident who raised the issue. An action's line
    # names its owner: a person's name is replaced, as in the action itself (forum.owner_privacy).
    note = unnaming.event(event.action, event.note) if unnaming else event.note
    return {"at": _when(event.at), "action": event.action, "from_status": event.from_status,
            "to_status": event.to_status, "note": note, "meeting_id": event.meeting_id}


def issue_detail(db: Session, issue: Issue, now: datetime) -> dict[str, Any]:
    events = db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id)
                     .order_by(IssueEvent.at, IssueEvent.id)).all()
    actions = db.exec(select(Action).where(Action.issue_id == issue.id).order_by(Action.due, Action.id)).all()
    unnaming = owner_privacy.unnaming(db, issue.community_id, actions) \
        if owner_privacy.any_names_owners(events) else None
    entries = db.exec(select(AgendaEntry, Meeting).join(Meeting, col(Meeting.id) == AgendaEntry.meeting_id)
                      .where(AgendaEntry.issue_id == issue.id).order_by(Meeting.starts_at)).all()
    return issue_dict(issue) | {
        "timeline": [event_dict(e, unnaming) for e in events],
        "actions": action_dicts(db, list(actions), now),
        "meetings": [{"meeting_id": m.id, "title": m.title, "starts_at": _when(m.starts_at),
                      "decision": e.decision or None} for e, m in entries],
    }


# ---------------------------------------------------------------- meetings


def meeting_dict(meeting: Meeting, attendance: int) -> dict[str, Any]:
    return {"id": meeting.id, "community_id": meeting.community_id, "series_id": meeting.series_id,
            "title": meeting.title, "cadence": meeting.cadence, "starts_at": _when(meeting.starts_at),
            "duration_minutes": meeting.duration_minutes, "place": meeting.place, "status": meeting.status,
            "started_at": _when(meeting.started_at), "ended_at": _when(meeting.ended_at),
            "attendance": attendance}


def attendance_counts(db: Session, meeting_ids: list[int]) -> dict[int, int]:
    """参与人次 per meeting: one person attending one meeting."""
    if not meeting_ids:
        return {}
    rows = db.exec(select(Attendance.meeting_id, func.count()).where(col(Attendance.meeting_id).in_(meeting_ids))
                   .group_by(Attendance.meeting_id)).all()
    return dict(rows)


def meeting_filters(db: Session, params: Any) -> list:
    where = []
    community = community_param(db, params)
    if community is not None:
        where.append(Meeting.community_id == community.id)
    series = _bounded_int(params, "series", 0, 1, 10**15)
    if series:
        where.append(Meeting.series_id == series)
    start, end = day_param(params, "from"), day_param(params, "to")
    if start and end and start > end:
        raise BadParameter("to", AFTER, other="from")
    if start:
        where.append(Meeting.starts_at >= datetime.combine(start, datetime.min.time()))
    if end:
        where.append(Meeting.starts_at < datetime.combine(end, datetime.min.time()) + _DAY)
    return where


def meetings(db: Session, params: Any, paging: Paging) -> dict[str, Any]:
    where = meeting_filters(db, params)
    total = db.exec(select(func.count()).select_from(Meeting).where(*where)).one()
    rows = db.exec(select(Meeting).where(*where).order_by(Meeting.starts_at, Meeting.id)
                   .offset(paging.offset).limit(paging.per_page)).all()
    counts = attendance_counts(db, [m.id for m in rows])
    return {"items": [meeting_dict(m, counts.get(m.id, 0)) for m in rows], "page": paging.page,
            "per_page": paging.per_page, "total": total, "pages": max(1, -(-total // paging.per_page))}


def meeting_detail(db: Session, meeting: Meeting) -> dict[str, Any]:
    entries = agenda.entries_of(db, meeting.id)
    titles = dict(db.exec(select(Issue.id, Issue.title).where(col(Issue.id).in_([e.issue_id for e in entries]))).all()
                  ) if entries else {}
    votes = db.exec(select(Vote.id).where(Vote.meeting_id == meeting.id, Vote.status != VoteStatus.draft)
                    .order_by(Vote.id)).all()
    return meeting_dict(meeting, attendance_counts(db, [meeting.id]).get(meeting.id, 0)) | {
        "agenda": [{"position": n, "issue_id": e.issue_id, "issue_title": titles.get(e.issue_id, ""),
                    "planned_minutes": e.planned_minutes, "decision": e.decision or None}
                   for n, e in enumerate(entries, 1)],
        "vote_ids": list(votes),
    }


# ---------------------------------------------------------------- votes


def vote_dict(db: Session, vote: Vote) -> dict[str, Any]:
    """A vote's public record. The counted result only once closed (a secret vote's sums are
    written in batches while open, and a running count is the room's, not the record's); always
    totals, never a voter's choice."""
    ballots = db.exec(select(func.count()).select_from(VoteReceipt).where(VoteReceipt.vote_id == vote.id)).one()
    result = _in_language(json.loads(vote.result)) if vote.status == VoteStatus.closed and vote.result else None
    return {"id": vote.id, "community_id": vote.community_id, "meeting_id": vote.meeting_id,
            "issue_id": vote.issue_id, "question": vote.question, "kind": vote.kind, "rule": vote.rule,
            "scope": vote.scope, "counting_unit": vote.counting_unit, "secret": vote.secret, "status": vote.status,
            "opened_at": _when(vote.opened_at), "closed_at": _when(vote.closed_at), "ballots": ballots,
            "result": result}


def _in_language(result: dict[str, Any]) -> dict[str, Any]:
    """The counted result as kept (its labels as written in the source) in the reader's language: a
    label that is no message of forum's (a choice the facilitator typed) stays as it is."""
    if isinstance(result.get("rule_label"), str):
        result["rule_label"] = _(result["rule_label"])
    for total in result.get("totals") or []:
        if isinstance(total, dict) and isinstance(total.get("label"), str) and total["label"]:
            total["label"] = _(total["label"])
    return result


def public_votes(db: Session, params: Any, paging: Paging) -> dict[str, Any]:
    where = [Vote.status != VoteStatus.draft]  # a draft is the facilitator's, not yet the record's
    community = community_param(db, params)
    if community is not None:
        where.append(Vote.community_id == community.id)
    meeting = _bounded_int(params, "meeting", 0, 1, 10**15)
    if meeting:
        where.append(Vote.meeting_id == meeting)
    query = select(Vote).where(*where).order_by(Vote.id)
    return _page(db, query, select(func.count()).select_from(Vote).where(*where), paging,
                 lambda v: vote_dict(db, v))



# ---------------------------------------------------------------- follow-up actions

OWNER_KINDS = ("committee", "organisation", "person")


def action_dicts(db: Session, actions: list[Action], now: datetime) -> list[dict[str, Any]]:
    """Actions as the public record shows them; overdue as of ``now``. No person's name, no notes
    (a progress note may name a resident: the issue's timeline has them, names replaced), no photos."""
    keys = sorted({figures.owner_key(a.owner_committee_id, a.owner_organisation_id) for a in actions})
    names = oversight.owner_names(db, keys)
    out = []
    for a in actions:
        key = figures.owner_key(a.owner_committee_id, a.owner_organisation_id)
        kind = "committee" if key.startswith("c") else "organisation" if key.startswith("o") else "person"
        row = figures.ActionRow(a.id, a.community_id, key, a.status, a.due, a.done_at)
        out.append({"id": a.id, "issue_id": a.issue_id, "community_id": a.community_id, "meeting_id": a.meeting_id,
                    "what": a.what, "owner": {"kind": kind, "id": None if kind == "person" else int(key[1:]),
                                              "name": names.get(key)},
                    "due": a.due.isoformat(), "status": a.status, "overdue": figures.is_overdue_at(row, now),
                    "created_at": _when(a.created_at), "updated_at": _when(a.updated_at), "done_at": _when(a.done_at)})
    return out


ACTION_STATUSES = {s.value for s in followup.Status} | {action_query.UNFINISHED}


def action_filters(db: Session, params: Any, now: datetime) -> list:
    """community, status (or ``unfinished``), overdue (true/false, as of now), issue."""
    where = []
    community = community_param(db, params)
    if community is not None:
        where.append(Action.community_id == community.id)
    status = choice_param(params, "status", ACTION_STATUSES)
    if status == action_query.UNFINISHED:
        where.append(Action.status != followup.Status.done)
    elif status:
        where.append(Action.status == status)
    overdue = choice_param(params, "overdue", {"true", "false"})
    if overdue:
        late = and_(*action_query.overdue_at(now))
        where.append(late if overdue == "true" else not_(late))
    issue = _bounded_int(params, "issue", 0, 1, 10**15)
    if issue:
        where.append(Action.issue_id == issue)
    return where


def actions(db: Session, params: Any, paging: Paging, now: datetime) -> dict[str, Any]:
    where = action_filters(db, params, now)
    total = db.exec(select(func.count()).select_from(Action).where(*where)).one()
    rows = db.exec(select(Action).where(*where).order_by(Action.id).offset(paging.offset).limit(paging.per_page)).all()
    return {"items": action_dicts(db, list(rows), now), "page": paging.page, "per_page": paging.per_page,
            "total": total, "pages": max(1, -(-total // paging.per_page))}

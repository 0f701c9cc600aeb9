"""The cycle drafts the agenda: what forum proposes for the next meeting of a series, by cadence.

    weekly talk            newly accepted issues (reopened ones come back accepted) and issues
                           with overdue actions
    monthly coordination   issues marked as needing outside parties, or with actions an
                           organisation owns still open; and those organisations, to invite
    quarterly review       issues resolved in the quarter and not yet rated, each to be rated

A pure function of facts and a day, so it is tested with a frozen clock; the facilitator edits
the draft as any agenda (forum.views.meetings).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from forum import followup
from forum.lifecycle import SCHEDULABLE, Status

# "Resolved in the quarter": a review is held near the quarter's end or just after it, so the
# three months before the meeting's day, whichever calendar quarter that is.
QUARTER = timedelta(days=92)


@dataclass(frozen=True)
class IssueFacts:
    id: int
    status: str
    needs_outside: bool = False
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ActionFacts:
    issue_id: int
    status: str
    due: date
    organisation_id: int | None = None


@dataclass(frozen=True)
class Draft:
    issue_ids: list[int]
    invite_organisation_ids: list[int] = field(default_factory=list)


def draft(cadence: str, issues: Iterable[IssueFacts], actions: Iterable[ActionFacts], *, day: date,
          already: Iterable[int] = ()) -> Draft:
    """The proposed agenda of a meeting of that cadence held on ``day``; ``already``: issues on it."""
    issues, actions, skip = list(issues), list(actions), set(already)
    open_actions = [a for a in actions if followup.Status(a.status) is not followup.Status.done]
    if cadence == "weekly":
        late = {a.issue_id for a in open_actions if followup.is_overdue(a.status, a.due, day)}
        chosen = [i for i in issues if i.status == Status.accepted or
                  (i.id in late and Status(i.status) in SCHEDULABLE)]
        return Draft(_ids(chosen, skip))
    if cadence == "monthly":
        with_organisation = {a.issue_id for a in open_actions if a.organisation_id is not None}
        chosen = [i for i in issues if Status(i.status) in SCHEDULABLE and Status(i.status) is not Status.resolved
                  and (i.needs_outside or i.id in with_organisation)]
        ids = _ids(chosen, skip)
        invite = sorted({a.organisation_id for a in open_actions if a.organisation_id is not None})
        return Draft(ids, invite)
    if cadence == "quarterly":
        start = datetime.combine(day, datetime.min.time()) - QUARTER
        end = datetime.combine(day + timedelta(days=1), datetime.min.time())
        chosen = [i for i in issues if i.status == Status.resolved and i.resolved_at is not None
                  and start <= i.resolved_at < end]
        return Draft(_ids(chosen, skip))
    return Draft([])


def _ids(issues: list[IssueFacts], skip: set[int]) -> list[int]:
    return sorted(i.id for i in issues if i.id not in skip)

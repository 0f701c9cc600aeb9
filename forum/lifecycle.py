"""The issue lifecycle of domain.md as a pure function: no I/O, exhaustively tested.

    raised → accepted (committee assigned) → on agenda → discussed → decided → in progress →
    resolved → reviewed (closed); reopen goes back to accepted; decline and merge end it.

``apply(status, action, ...)`` returns the next status or raises ``Refused`` with a reason a
person can read. Placing an issue on a later meeting's agenda (a monthly coordination, a
quarterly review) does not move it back: only an accepted issue becomes "on agenda".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from forum.i18n import N_


class Status(StrEnum):
    raised = "raised"
    accepted = "accepted"
    on_agenda = "on_agenda"
    discussed = "discussed"
    decided = "decided"
    in_progress = "in_progress"
    resolved = "resolved"
    reviewed = "reviewed"
    declined = "declined"
    merged = "merged"


class Action(StrEnum):
    accept = "accept"
    schedule = "schedule"
    unschedule = "unschedule"
    discuss = "discuss"
    decide = "decide"
    start = "start"
    resolve = "resolve"
    review = "review"
    reopen = "reopen"
    decline = "decline"
    merge = "merge"


STATUS_LABELS = {
    Status.raised: N_("Raised"),
    Status.accepted: N_("Accepted"),
    Status.on_agenda: N_("On agenda"),
    Status.discussed: N_("Discussed"),
    Status.decided: N_("Decided"),
    Status.in_progress: N_("In progress"),
    Status.resolved: N_("Resolved"),
    Status.reviewed: N_("Reviewed (closed)"),
    Status.declined: N_("Declined"),
    Status.merged: N_("Merged"),
}

ACTION_LABELS = {
    Action.accept: N_("Accepted and assigned"),
    Action.schedule: N_("Placed on agenda"),
    Action.unschedule: N_("Taken off agenda"),
    Action.discuss: N_("Discussed"),
    Action.decide: N_("Decided"),
    Action.start: N_("Work started"),
    Action.resolve: N_("Resolved"),
    Action.review: N_("Reviewed"),
    Action.reopen: N_("Reopened"),
    Action.decline: N_("Declined"),
    Action.merge: N_("Merged"),
}

# What the button that takes each step says.
ACTION_BUTTONS = {
    Action.discuss: N_("Mark as discussed"),
    Action.decide: N_("Record the decision"),
    Action.start: N_("Start the work"),
    Action.resolve: N_("Mark as resolved"),
    Action.review: N_("Record residents' review"),
}

# Statuses in which an issue still needs somebody's attention.
OPEN = frozenset(Status) - {Status.reviewed, Status.declined, Status.merged}
ENDED = frozenset({Status.reviewed, Status.declined, Status.merged})

# action → (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.accept: (frozenset({Status.raised}), Status.accepted),
    Action.schedule: (frozenset({Status.accepted}), Status.on_agenda),
    Action.unschedule: (frozenset({Status.on_agenda}), Status.accepted),
    Action.discuss: (frozenset({Status.on_agenda}), Status.discussed),
    Action.decide: (frozenset({Status.on_agenda, Status.discussed}), Status.decided),
    Action.start: (frozenset({Status.decided}), Status.in_progress),
    Action.resolve: (frozenset({Status.decided, Status.in_progress}), Status.resolved),
    Action.review: (frozenset({Status.resolved}), Status.reviewed),
    Action.reopen: (frozenset({Status.resolved, Status.reviewed}), Status.accepted),
    Action.decline: (frozenset({Status.raised, Status.accepted, Status.on_agenda}), Status.declined),
    Action.merge: (frozenset({Status.raised, Status.accepted, Status.on_agenda}), Status.merged),
}

# Statuses from which an issue may still be placed on a meeting's agenda; only ``accepted``
# changes status in doing so, the later ones are carried to coordination or review as they are.
SCHEDULABLE = frozenset({Status.accepted, Status.on_agenda, Status.discussed, Status.decided,
                         Status.in_progress, Status.resolved})


class Refused(ValueError):
    """An action that the lifecycle does not allow, with a reason for the person who tried."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason % params if params else reason)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class Facts:
    """What the caller knows that some transitions need."""

    committee_id: int | None = None
    reason: str = ""
    merge_into: int | None = None
    issue_id: int | None = None
    decision: str = ""


def allowed_actions(status: Status | str) -> list[Action]:
    status = Status(status)
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def apply(status: Status | str, action: Action | str, facts: Facts = Facts()) -> Status:
    """The status after ``action``, or ``Refused`` saying why not."""
    status, action = Status(status), Action(action)
    sources, target = TRANSITIONS[action]
    if status not in sources:
        if status in ENDED:
            raise Refused(N_("This issue is closed (%(status)s); reopen it first or raise a new one."),
                          status=status.value)
        raise Refused(N_("An issue that is %(status)s cannot be %(action)s."),
                      status=status.value, action=action.value)
    if action is Action.accept and facts.committee_id is None:
        raise Refused(N_("Choose the committee responsible before accepting."))
    if action in (Action.decline, Action.reopen) and not facts.reason.strip():
        raise Refused(N_("Give a reason."))
    if action is Action.merge:
        if facts.merge_into is None:
            raise Refused(N_("Choose the issue to merge into."))
        if facts.merge_into == facts.issue_id:
            raise Refused(N_("An issue cannot be merged into itself."))
    if action is Action.decide and not facts.decision.strip():
        raise Refused(N_("Write down the decision."))
    return target

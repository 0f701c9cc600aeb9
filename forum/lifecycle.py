"""The issue lifecycle of domain.md as a pure function: no I/O, exhaustively tested.

    raised → accepted (committee assigned) → on agenda → discussed → decided → in progress →
    resolved → reviewed (closed); reopen goes back to accepted; decline and merge end it.

``apply(status, step, ...)`` returns the next status or raises ``Refused`` with a reason a
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


class Step(StrEnum):
    """A step of an issue's lifecycle, recorded in its history. Not a follow-up action (跟进事项):
    that is work with an owner and a due date, which these steps only start and finish."""

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

STEP_LABELS = {
    Step.accept: N_("Accepted and assigned"),
    Step.schedule: N_("Placed on agenda"),
    Step.unschedule: N_("Taken off agenda"),
    Step.discuss: N_("Discussed"),
    Step.decide: N_("Decided"),
    Step.start: N_("Work started"),
    Step.resolve: N_("Resolved"),
    Step.review: N_("Reviewed"),
    Step.reopen: N_("Reopened"),
    Step.decline: N_("Declined"),
    Step.merge: N_("Merged"),
}

# What the button that takes each step says.
STEP_BUTTONS = {
    Step.discuss: N_("Mark as discussed"),
    Step.decide: N_("Record the decision"),
    Step.start: N_("Start the work"),
    Step.resolve: N_("Mark as resolved"),
    Step.review: N_("Record residents' review"),
}

# Statuses in which an issue still needs somebody's attention.
OPEN = frozenset(Status) - {Status.reviewed, Status.declined, Status.merged}
ENDED = frozenset({Status.reviewed, Status.declined, Status.merged})

# step → (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[Step, tuple[frozenset[Status], Status]] = {
    Step.accept: (frozenset({Status.raised}), Status.accepted),
    Step.schedule: (frozenset({Status.accepted}), Status.on_agenda),
    Step.unschedule: (frozenset({Status.on_agenda}), Status.accepted),
    Step.discuss: (frozenset({Status.on_agenda}), Status.discussed),
    Step.decide: (frozenset({Status.on_agenda, Status.discussed}), Status.decided),
    Step.start: (frozenset({Status.decided}), Status.in_progress),
    Step.resolve: (frozenset({Status.decided, Status.in_progress}), Status.resolved),
    Step.review: (frozenset({Status.resolved}), Status.reviewed),
    Step.reopen: (frozenset({Status.resolved, Status.reviewed}), Status.accepted),
    Step.decline: (frozenset({Status.raised, Status.accepted, Status.on_agenda}), Status.declined),
    Step.merge: (frozenset({Status.raised, Status.accepted, Status.on_agenda}), Status.merged),
}

# Statuses from which an issue may still be placed on a meeting's agenda; only ``accepted``
# changes status in doing so, the later ones are carried to coordination or review as they are.
SCHEDULABLE = frozenset({Status.accepted, Status.on_agenda, Status.discussed, Status.decided,
                         Status.in_progress, Status.resolved})


class Refused(ValueError):
    """A step that the lifecycle does not allow, with a reason for the person who tried."""

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


def allowed_steps(status: Status | str) -> list[Step]:
    status = Status(status)
    return [step for step, (sources, _) in TRANSITIONS.items() if status in sources]


def apply(status: Status | str, step: Step | str, facts: Facts = Facts()) -> Status:
    """The status after ``step``, or ``Refused`` saying why not."""
    status, step = Status(status), Step(step)
    sources, target = TRANSITIONS[step]
    if status not in sources:
        if status in ENDED:
            raise Refused(N_("This issue is closed (%(status)s); reopen it first or raise a new one."),
                          status=status.value)
        # "action" names the step in the catalog's message, whose id (and so its key) stays as translated.
        raise Refused(N_("An issue that is %(status)s cannot be %(action)s."),
                      status=status.value, action=step.value)
    if step is Step.accept and facts.committee_id is None:
        raise Refused(N_("Choose the committee responsible before accepting."))
    if step in (Step.decline, Step.reopen) and not facts.reason.strip():
        raise Refused(N_("Give a reason."))
    if step is Step.merge:
        if facts.merge_into is None:
            raise Refused(N_("Choose the issue to merge into."))
        if facts.merge_into == facts.issue_id:
            raise Refused(N_("An issue cannot be merged into itself."))
    if step is Step.decide and not facts.decision.strip():
        raise Refused(N_("Write down the decision."))
    return target

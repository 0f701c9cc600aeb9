"""Follow-up actions (跟进事项) as pure rules: no I/O, tested exhaustively.

An action is work agreed for an issue: what, an owner (a committee, an organisation or a staff
member), a due date and a status. Who may change what:

    liaison            the actions their organisation owns: progress, start, done, blocked
    committee member   the actions their committee owns or that serve their committee's issues:
                       all of the above, and reassigning or moving the due date (with a reason)
    facilitator/admin  every action of the communities they act for: everything

An issue offers "resolved" once it has actions and every one is done; the committee confirms.
``Refused`` carries a message id and the form field it belongs by.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from forum.i18n import N_


class Status(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    blocked = "blocked"


STATUS_LABELS = {
    # Not "Open", whose translation is a vote's (投票中).
    Status.open: N_("Not started"),
    Status.in_progress: N_("In progress"),
    Status.done: N_("Done"),
    Status.blocked: N_("Blocked"),
}


class Change(StrEnum):
    """What one update does; each is recorded on the action and on its issue's timeline."""

    create = "create"
    progress = "progress"  # a dated note, status unchanged
    status = "status"
    reassign = "reassign"
    due = "due"


CHANGE_LABELS = {
    Change.create: N_("Action agreed"),
    Change.progress: N_("Progress noted"),
    Change.status: N_("Action status changed"),
    Change.reassign: N_("Action reassigned"),
    Change.due: N_("Due date moved"),
}

# The changes only those who coordinate the work make: owners report, they do not re-plan.
PLANNING = frozenset({Change.reassign, Change.due})

# How long ahead a due date may be set: a follow-up is weeks or months, not years; a typo such as
# 2062 for 2026 is caught instead of hiding the action from every overdue list.
MAX_AHEAD = timedelta(days=366 * 2)
DUE_SOON = timedelta(days=3)
WHAT_MAX = 300
REASON_MAX = 500


class Refused(ValueError):
    """A change the rules do not allow: a message (translatable) for the field it concerns."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Owner:
    """Exactly one is set: a committee, an organisation, a staff member (who reports themselves) or
    a person without a sign-in (a landlord: staff report for them)."""

    committee_id: int | None = None
    organisation_id: int | None = None
    user_id: int | None = None
    person_id: int | None = None

    def is_set(self) -> bool:
        return sum(x is not None for x in (self.committee_id, self.organisation_id, self.user_id,
                                           self.person_id)) == 1


@dataclass(frozen=True)
class Actor:
    """Who is acting, as far as these rules need: role, whether they act for the action's
    community (forum.auth.acts_for), and what they belong to."""

    role: str | None  # None: nobody signed in
    in_community: bool = False
    user_id: int | None = None
    committee_id: int | None = None
    organisation_id: int | None = None


@dataclass(frozen=True)
class Facts:
    """An action, as far as these rules need."""

    owner: Owner
    issue_committee_id: int | None = None
    status: Status | str = Status.open
    due: date | None = None


def parse_owner(value: str) -> Owner | None:
    """The owner a form's select names: "c12" a committee, "o3" an organisation, "u7" a staff
    member, "p9" a person."""
    value = (value or "").strip()
    kinds = {"c": "committee_id", "o": "organisation_id", "u": "user_id", "p": "person_id"}
    if len(value) < 2 or value[0] not in kinds or not value[1:].isdigit() or len(value) > 19:
        return None
    return Owner(**{kinds[value[0]]: int(value[1:])})


def owner_key(owner: Owner) -> str:
    if owner.committee_id is not None:
        return f"c{owner.committee_id}"
    if owner.organisation_id is not None:
        return f"o{owner.organisation_id}"
    if owner.person_id is not None:
        return f"p{owner.person_id}"
    return f"u{owner.user_id}" if owner.user_id is not None else ""


def check_new(what: str, owner: Owner | None, due: date | None, today: date) -> None:
    """A new action's fields, each refused by its own field."""
    check_what(what)
    if owner is None or not owner.is_set():
        raise Refused("owner", N_("Choose who will do it: a committee, an organisation or a person."))
    check_due(due, today)


def check_what(what: str) -> None:
    if not what.strip():
        raise Refused("what", N_("Say what is to be done."))
    if len(what) > WHAT_MAX:
        raise Refused("what", N_("Keep it under 300 characters."))


def check_due(due: date | None, today: date) -> None:
    if due is None:
        raise Refused("due", N_("Give a due date, as year-month-day."))
    if due < today:
        raise Refused("due", N_("The due date is in the past; choose today or a later day."))
    if due > today + MAX_AHEAD:
        raise Refused("due", N_("The due date is more than two years away; check the year."))


def check_reason(reason: str) -> None:
    if not reason.strip():
        raise Refused("reason", N_("Give a reason."))
    if len(reason) > REASON_MAX:
        raise Refused("reason", N_("Keep the reason under 500 characters."))


def may_see_controls(actor: Actor, facts: Facts) -> bool:
    """May report on this action at all (progress, status)."""
    if actor.role is None or not actor.in_community and actor.role != "liaison":
        return False
    if actor.role in ("facilitator", "admin"):
        return True
    if actor.role == "liaison":
        return actor.organisation_id is not None and facts.owner.organisation_id == actor.organisation_id
    if actor.role == "committee":
        return actor.committee_id is not None and actor.committee_id in (facts.owner.committee_id,
                                                                         facts.issue_committee_id)
    return False


def may_change(actor: Actor, facts: Facts, change: Change | str) -> bool:
    """Whether ``actor`` may make ``change`` to the action."""
    change = Change(change)
    if change is Change.create:
        return actor.role in ("facilitator", "admin", "committee") and actor.in_community
    if not may_see_controls(actor, facts):
        return False
    return not (change in PLANNING and actor.role == "liaison")


def new_status(facts: Facts, to: Status | str, reason: str = "") -> Status:
    """The status an update leads to, or ``Refused``: blocking needs a reason; nothing changes to
    what it already is (so the timeline never says "done → done")."""
    try:
        target = Status(to)
    except ValueError:
        raise Refused("status", N_("Choose a status.")) from None
    if target == Status(facts.status):
        raise Refused("status", N_("The action is already in that state."))
    if target is Status.blocked:
        check_reason(reason)
    return target


def check_reassign(facts: Facts, owner: Owner | None, reason: str) -> Owner:
    if owner is None or not owner.is_set():
        raise Refused("owner", N_("Choose who will do it: a committee, an organisation or a person."))
    if owner == facts.owner:
        raise Refused("owner", N_("That is who owns it already."))
    check_reason(reason)
    return owner


def check_move_due(facts: Facts, due: date | None, reason: str, today: date) -> date:
    check_due(due, today)
    if due == facts.due:
        raise Refused("due", N_("That is the due date already."))
    check_reason(reason)
    assert due is not None
    return due


def is_overdue(status: Status | str, due: date, today: date) -> bool:
    """Past its due day and not done (due today is not late yet)."""
    return Status(status) is not Status.done and due < today


def is_due_soon(status: Status | str, due: date, today: date) -> bool:
    return Status(status) is not Status.done and today <= due <= today + DUE_SOON


def days_late(due: date, today: date) -> int:
    return max(0, (today - due).days)


def resolvable(statuses: Iterable[Status | str]) -> bool:
    """An issue may be marked resolved once it has actions and all of them are done."""
    found = [Status(s) for s in statuses]
    return bool(found) and all(s is Status.done for s in found)


def work_order(items: Sequence[tuple[Status | str, date]], today: date) -> list[int]:
    """Indices of ``(status, due)`` pairs as "my work" lists them: overdue first, then by due date,
    done last."""
    def key(i: int) -> tuple[int, date]:
        status, due = items[i]
        if Status(status) is Status.done:
            return (2, due)
        return (0 if is_overdue(status, due, today) else 1, due)

    return sorted(range(len(items)), key=key)


_CHANGE = re.compile(r"\b(open|in_progress|done|blocked) → (open|in_progress|done|blocked)\b")


def status_words(text: str, translate: Callable[[str], str]) -> str:
    """A recorded note's "open → done" (stored in codes, so it reads in every language) in words."""
    return _CHANGE.sub(lambda m: f"{translate(STATUS_LABELS[Status(m[1])])} → {translate(STATUS_LABELS[Status(m[2])])}",
                       text)

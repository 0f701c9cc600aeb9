"""Notices of actions due and overdue, and the daily digest ``forum notify`` writes.

Notices of assignment and of reopened issues are written with the change that causes them
(forum.action_registry); due and overdue ones depend only on the day, so the daily command writes
them, at most once a day per action and person, and then puts each person's unread notices into an
email-ready text (sending mail is left to the installation: print it, or write one file a person).

A running server writes them too, so they are on the notices page without a cron job:
:class:`Notices` runs :func:`sweep` from the vote closer's loop once an hour, in one worker at a
time, under the ``notices`` lease (forum.lease); ``forum notify`` takes the same lease to write,
so a sweep never runs twice at once and a notice is written once a day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from forum import action_registry, followup, i18n
from forum.i18n import N_
from forum.lease import Lease
from forum.models import Action, Issue, Notice, User, now

LEASE_NAME = "notices"
EVERY = timedelta(hours=1)  # a sweep reads every open action: often enough to catch today's changes
RETRY = timedelta(minutes=1)  # another worker holds the lease: ask again this much later
FIRST = timedelta(minutes=1)  # after a server starts, its first sweep: not in the rush of starting

KINDS = {
    "assigned": N_("Assigned to you or your organisation"),
    "due_soon": N_("Due within 3 days"),
    "overdue": N_("Overdue"),
    "reopened": N_("Reopened by residents"),
}


def sweep(db: Session, today: date) -> int:
    """Write today's due-soon and overdue notices for the owners of open actions (and, for overdue
    ones, the members of the issue's committee, who chase them); how many were written."""
    written = 0
    for action in db.exec(select(Action).where(Action.status != followup.Status.done)):
        if followup.is_overdue(action.status, action.due, today):
            kind = "overdue"
        elif followup.is_due_soon(action.status, action.due, today):
            kind = "due_soon"
        else:
            continue
        people = {u.id: u for u in action_registry.users_owning(db, action_registry.owner_of(action))}
        issue = db.get(Issue, action.issue_id)
        if kind == "overdue" and issue is not None and issue.committee_id is not None:
            people |= {u.id: u for u in db.exec(select(User).where(User.committee_id == issue.committee_id,
                                                                    col(User.disabled_at).is_(None)))}
        written += action_registry.notify(db, people.values(), kind, action_id=action.id, issue_id=action.issue_id,
                                          day=today)
    return written


def until_next_sweep(local: datetime) -> timedelta:
    """An hour, or less so that the first sweep of a new day comes just after midnight."""
    midnight = datetime.combine(local.date() + timedelta(days=1), time())
    return min(EVERY, midnight - local + timedelta(seconds=1))


def sweep_held(engine: Engine, lease: Lease, local: datetime, keep: bool) -> int | None:
    """:func:`sweep` for ``local``'s day if ``lease`` can be taken; how many were written, or None if
    another worker or command holds it (and has swept within the hour, or is sweeping). ``keep``
    holds it until the next sweep is due (a server's loop); otherwise it is released after."""
    if not lease.hold(until_next_sweep(local) if keep else EVERY):
        return None
    try:
        with Session(engine) as db:
            written = sweep(db, local.date())
            db.commit()
    except BaseException:
        lease.release()  # nothing was written: the next to ask may try at once
        raise
    if not keep:
        lease.release()
    return written


class Notices:
    """The server's part: called every round of the vote closer's loop (in every worker), it sweeps
    when the hour since its last sweep is up and no other worker has swept meanwhile."""

    def __init__(self, engine: Engine, lease: Lease | None = None, local: Callable[[], datetime] = now) -> None:
        self.engine = engine
        self.lease = lease or Lease(engine, LEASE_NAME, EVERY)
        self.local = local  # the community's time, whose date the notices are of
        self._next: datetime | None = None  # the lease's clock (UTC)

    def __call__(self) -> int | None:
        at = self.lease.clock()
        if self._next is None:
            self._next = at + FIRST
        if at < self._next:
            return None
        local = self.local()
        written = sweep_held(self.engine, self.lease, local, keep=True)
        self._next = at + (RETRY if written is None else until_next_sweep(local))
        return written


@dataclass(frozen=True)
class Digest:
    username: str
    text: str


def digests(db: Session, today: date, base_url: str, language: str) -> list[Digest]:
    """Each person with unread notices: a plain text of them, in ``language``, with links."""
    token = i18n.set_language(language)
    try:
        out = []
        for person in db.exec(select(User).where(col(User.disabled_at).is_(None)).order_by(User.username)):
            unread = db.exec(select(Notice).where(Notice.user_id == person.id, col(Notice.read_at).is_(None))
                             .order_by(Notice.at, Notice.id)).all()
            if unread:
                out.append(Digest(person.username, _text(db, person, unread, today, base_url)))
        return out
    finally:
        i18n.reset_language(token)


def _text(db: Session, person: User, unread: list[Notice], today: date, base_url: str) -> str:
    _ = i18n.gettext
    lines = [f"{person.display_name}:", "", _("forum — what needs you on %(day)s") % {"day": today.isoformat()}, ""]
    for notice in unread:
        action = db.get(Action, notice.action_id) if notice.action_id else None
        issue = db.get(Issue, notice.issue_id) if notice.issue_id else None
        what = action.what if action else (issue.title if issue else "")
        line = f"- [{_(KINDS.get(notice.kind, notice.kind))}] {what}"
        if action is not None:
            line += f" ({_('due')} {action.due.isoformat()})"
            link = f"{base_url}/actions/{action.id}"
        else:
            link = f"{base_url}/issues/{notice.issue_id}"
        lines += [line, f"  {link}"]
    lines += ["", _("Your work, overdue first: %(url)s") % {"url": f"{base_url}/my-work"}, ""]
    return "\n".join(lines)

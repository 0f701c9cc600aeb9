"""Notices of actions due and overdue, and the daily digest ``forum notify`` writes.

Notices of assignment and of reopened issues are written with the change that causes them
(forum.action_registry); due and overdue ones depend only on the day, so the daily command writes
them, at most once a day per action and person, and then puts each person's unread notices into an
email-ready text (sending mail is left to the installation: print it, or write one file a person).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from forum import action_registry, followup, i18n
from forum.i18n import N_
from forum.models import Action, Issue, Notice, User

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

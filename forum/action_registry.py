"""Follow-up actions in the database: agreeing them and every later change, always recorded on the
action (``ActionNote``), on its issue's timeline (``IssueEvent``) and, for whoever owns the work, as
a notice. The rules are forum.followup's; this module only asks them and writes.

The caller adds the audit entry and commits, as for every other change by staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, col, or_, select

from forum import followup
from forum.followup import Change, Owner, Refused, Status
from forum.i18n import N_
from forum.models import (
    Action,
    ActionNote,
    ActionPhoto,
    Committee,
    Household,
    Issue,
    IssueEvent,
    Notice,
    Organisation,
    Person,
    User,
    now,
)
from forum.photos import Processed


def owner_of(action: Action) -> Owner:
    return Owner(committee_id=action.owner_committee_id, organisation_id=action.owner_organisation_id,
                 user_id=action.owner_user_id, person_id=action.owner_person_id)


def facts_of(db: Session, action: Action) -> followup.Facts:
    issue = db.get(Issue, action.issue_id)
    return followup.Facts(owner=owner_of(action), issue_committee_id=issue.committee_id if issue else None,
                          status=action.status, due=action.due)


def actor_of(user: User | None, in_community: bool) -> followup.Actor:
    if user is None:
        return followup.Actor(None)
    return followup.Actor(user.role, in_community=in_community, user_id=user.id, committee_id=user.committee_id,
                          organisation_id=user.organisation_id)


def owner_name(db: Session, owner: Owner) -> str:
    if owner.committee_id is not None:
        committee = db.get(Committee, owner.committee_id)
        return committee.name if committee else "—"
    if owner.organisation_id is not None:
        organisation = db.get(Organisation, owner.organisation_id)
        return organisation.name if organisation else "—"
    if owner.person_id is not None:
        resident = db.get(Person, owner.person_id)
        return resident.name if resident else "—"
    person = db.get(User, owner.user_id) if owner.user_id is not None else None
    return person.display_name if person else "—"


def owner_in_scope(db: Session, owner: Owner, community_id: int) -> bool:
    """The owner may take work in that community: its own committee, any organisation (departments
    serve many communities), a staff member of the community or of none."""
    if owner.committee_id is not None:
        committee = db.get(Committee, owner.committee_id)
        return committee is not None and committee.community_id == community_id
    if owner.organisation_id is not None:
        return db.get(Organisation, owner.organisation_id) is not None
    if owner.person_id is not None:
        resident = db.get(Person, owner.person_id)
        household = db.get(Household, resident.household_id) if resident and resident.household_id else None
        return resident is not None and (household is None or household.community_id == community_id)
    person = db.get(User, owner.user_id) if owner.user_id is not None else None
    return person is not None and person.disabled_at is None and person.community_id in (None, community_id)


def _event(db: Session, action: Action, change: Change, actor: str, note: str) -> None:
    issue = db.get(Issue, action.issue_id)
    # The issue's own status is unchanged by its actions: from and to are the same, and the
    # timeline shows the change by its kind ("action_status" …) and the note.
    db.add(IssueEvent(issue_id=action.issue_id, actor=actor, action=f"action_{change.value}",
                      from_status=issue.status, to_status=issue.status, note=note,
                      meeting_id=action.meeting_id if change is Change.create else None))


def _note(db: Session, action: Action, change: Change, actor: str, text: str) -> None:
    db.add(ActionNote(action_id=action.id, by=actor, kind=change.value, text=text))


def create(db: Session, issue: Issue, *, what: str, owner: Owner | None, due: date | None, actor: str,
           today: date, meeting_id: int | None = None) -> Action:
    """A new action for the issue, or ``Refused`` by the field at fault."""
    what = what.strip()
    followup.check_new(what, owner, due, today)
    assert owner is not None and due is not None
    if not owner_in_scope(db, owner, issue.community_id):
        raise Refused("owner", N_("Choose who will do it: a committee, an organisation or a person."))
    action = Action(issue_id=issue.id, community_id=issue.community_id, meeting_id=meeting_id, what=what,
                    owner_committee_id=owner.committee_id, owner_organisation_id=owner.organisation_id,
                    owner_user_id=owner.user_id, owner_person_id=owner.person_id, due=due, created_by=actor)
    db.add(action)
    db.flush()
    _note(db, action, Change.create, actor, f"{owner_name(db, owner)} · {due.isoformat()}")
    _event(db, action, Change.create, actor, f"{what} — {owner_name(db, owner)} · {due.isoformat()}")
    notify_owner(db, action, "assigned")
    return action


def set_status(db: Session, action: Action, to: str, *, actor: str, note: str = "") -> Status:
    target = followup.new_status(facts_of(db, action), to, reason=note)
    before = action.status
    action.status = target
    action.blocked_reason = note.strip() if target is Status.blocked else ""
    action.done_at = now() if target is Status.done else None
    action.updated_at = now()
    db.add(action)
    text = f"{before} → {target.value}" + (f": {note.strip()}" if note.strip() else "")
    _note(db, action, Change.status, actor, text)
    _event(db, action, Change.status, actor, f"{action.what} — {text}")
    return target


def add_progress(db: Session, action: Action, *, actor: str, text: str) -> None:
    text = text.strip()
    if not text:
        raise Refused("note", N_("Write what has been done."))
    if len(text) > 2000:
        raise Refused("note", N_("Keep the note under 2000 characters."))
    action.updated_at = now()
    db.add(action)
    _note(db, action, Change.progress, actor, text)
    _event(db, action, Change.progress, actor, f"{action.what} — {text}")


def reassign(db: Session, action: Action, owner: Owner | None, *, reason: str, actor: str) -> None:
    owner = followup.check_reassign(facts_of(db, action), owner, reason)
    if not owner_in_scope(db, owner, action.community_id):
        raise Refused("owner", N_("Choose who will do it: a committee, an organisation or a person."))
    before = owner_name(db, owner_of(action))
    action.owner_committee_id, action.owner_organisation_id, action.owner_user_id, action.owner_person_id = (
        owner.committee_id, owner.organisation_id, owner.user_id, owner.person_id)
    action.updated_at = now()
    db.add(action)
    text = f"{before} → {owner_name(db, owner)}: {reason.strip()}"
    _note(db, action, Change.reassign, actor, text)
    _event(db, action, Change.reassign, actor, f"{action.what} — {text}")
    notify_owner(db, action, "assigned")


def move_due(db: Session, action: Action, due: date | None, *, reason: str, actor: str, today: date) -> None:
    due = followup.check_move_due(facts_of(db, action), due, reason, today)
    text = f"{action.due.isoformat()} → {due.isoformat()}: {reason.strip()}"
    action.due = due
    action.updated_at = now()
    db.add(action)
    _note(db, action, Change.due, actor, text)
    _event(db, action, Change.due, actor, f"{action.what} — {text}")


def overdue_issue_ids(db: Session, issue_ids: Iterable[int], today: date) -> set[int]:
    """Which of these issues have an action past its due day and not done (lists mark them)."""
    ids = list(issue_ids)
    if not ids:
        return set()
    return set(db.exec(select(Action.issue_id).where(col(Action.issue_id).in_(ids), Action.status != Status.done,
                                                     Action.due < today)).all())


def rows(db: Session, actions: Iterable[Action], today: date) -> list[dict]:
    """What a list of actions shows for each: owner, overdue (and by how much), due soon, its issue."""
    return [{"action": a, "owner": owner_name(db, owner_of(a)), "overdue": followup.is_overdue(a.status, a.due, today),
             "late": followup.days_late(a.due, today), "soon": followup.is_due_soon(a.status, a.due, today),
             "issue": db.get(Issue, a.issue_id)} for a in actions]


def of_issue(db: Session, issue_id: int) -> list[Action]:
    return list(db.exec(select(Action).where(Action.issue_id == issue_id).order_by(Action.due, Action.id)))


def notes_of(db: Session, action_id: int) -> list[ActionNote]:
    return list(db.exec(select(ActionNote).where(ActionNote.action_id == action_id)
                        .order_by(ActionNote.at, ActionNote.id)))


def may_resolve(db: Session, issue_id: int) -> bool:
    """An issue with actions is resolved once every one is done; one without (settled on the spot
    at a weekly talk) may be resolved as before."""
    actions = of_issue(db, issue_id)
    return not actions or followup.resolvable(a.status for a in actions)


# ---------------------------------------------------------------- whose work, notices


def work_of(db: Session, user: User) -> list[Action]:
    """The actions a staff member answers for: owned by them, by their organisation or their committee."""
    owned = [Action.owner_user_id == user.id]
    if user.organisation_id is not None:
        owned.append(Action.owner_organisation_id == user.organisation_id)
    if user.committee_id is not None:
        owned.append(Action.owner_committee_id == user.committee_id)
    return list(db.exec(select(Action).where(or_(*owned))))


def sorted_work(actions: list[Action], today: date) -> list[Action]:
    order = followup.work_order([(a.status, a.due) for a in actions], today)
    return [actions[i] for i in order]


def users_owning(db: Session, owner: Owner) -> list[User]:
    """The sign-ins that answer for an owner: the person, the organisation's liaisons, the committee's members."""
    query = select(User).where(col(User.disabled_at).is_(None))
    if owner.person_id is not None:
        return []  # no sign-in: staff report for them
    if owner.user_id is not None:
        query = query.where(User.id == owner.user_id)
    elif owner.organisation_id is not None:
        query = query.where(User.organisation_id == owner.organisation_id)
    else:
        query = query.where(User.committee_id == owner.committee_id)
    return list(db.exec(query))


def notify(db: Session, users: Iterable[User], kind: str, *, action_id: int | None = None,
           issue_id: int | None = None, day: date | None = None) -> int:
    """One unread notice per user; a due or overdue notice at most once a day per action."""
    written = 0
    for person in users:
        if day is not None and db.exec(select(Notice).where(Notice.user_id == person.id, Notice.kind == kind,
                                                            Notice.action_id == action_id, Notice.day == day)).first():
            continue
        db.add(Notice(user_id=person.id, kind=kind, action_id=action_id, issue_id=issue_id, day=day))
        written += 1
    return written


def notify_owner(db: Session, action: Action, kind: str) -> None:
    notify(db, users_owning(db, owner_of(action)), kind, action_id=action.id, issue_id=action.issue_id)


def notify_reopened(db: Session, issue: Issue) -> None:
    if issue.committee_id is not None:
        members = db.exec(select(User).where(User.committee_id == issue.committee_id,
                                             col(User.disabled_at).is_(None))).all()
        notify(db, members, "reopened", issue_id=issue.id)


def unread_count(db: Session, user: User | None) -> int:
    if user is None:
        return 0
    return len(db.exec(select(Notice.id).where(Notice.user_id == user.id, col(Notice.read_at).is_(None))).all())



# ---------------------------------------------------------------- photo evidence


def attach_photo(db: Session, action: Action, photo: Processed, *, actor: str) -> ActionPhoto:
    """The photo goes with the note (and its timeline line) just written for the action, in the
    same transaction: the newest of each is that one."""
    db.flush()
    note = db.exec(select(ActionNote).where(ActionNote.action_id == action.id)
                   .order_by(col(ActionNote.id).desc())).first()
    event = db.exec(select(IssueEvent).where(IssueEvent.issue_id == action.issue_id,
                                             col(IssueEvent.action).startswith("action_"))
                    .order_by(col(IssueEvent.id).desc())).first()
    kept = ActionPhoto(action_id=action.id, note_id=note.id if note else None, event_id=event.id if event else None,
                       content_type=photo.content_type, width=photo.width, height=photo.height,
                       large=photo.large, thumb=photo.thumb, by=actor)
    db.add(kept)
    db.flush()
    return kept


def photos_by_note(db: Session, action_id: int) -> dict[int, int]:
    """The photo of each note of the action that has one (ids only: the bytes stay in the database)."""
    rows = db.exec(select(ActionPhoto.note_id, ActionPhoto.id).where(ActionPhoto.action_id == action_id)).all()
    return {note_id: photo_id for note_id, photo_id in rows if note_id is not None}


def photos_by_event(db: Session, event_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """For an issue's timeline: each event's photo, as (action id, photo id)."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = db.exec(select(ActionPhoto.event_id, ActionPhoto.action_id, ActionPhoto.id)
                   .where(col(ActionPhoto.event_id).in_(ids))).all()
    return {event_id: (action_id, photo_id) for event_id, action_id, photo_id in rows}

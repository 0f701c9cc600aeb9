"""The issue registry: raising issues and moving them through their lifecycle, with history.

Every status change goes through ``move``, which asks the pure lifecycle whether it is allowed
and writes an ``IssueEvent`` beside it in the same transaction, so the history can't disagree
with the status.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from forum import agenda, cycle, lifecycle
from forum.i18n import N_
from forum.lifecycle import Facts, Status, Step
from forum.models import Action, AgendaEntry, Issue, IssueEvent, Meeting, now


def raise_issue(session: Session, *, community_id: int, title: str, description: str, category: str,
                place: str, source: str, raised_by: str, actor: str | None = None,
                meeting_id: int | None = None) -> Issue:
    issue = Issue(community_id=community_id, title=title, description=description, category=category,
                  place=place, source=source, raised_by=raised_by)
    session.add(issue)
    session.flush()
    session.add(IssueEvent(issue_id=issue.id, actor=actor or raised_by, action="raise", from_status=None,
                           to_status=Status.raised, meeting_id=meeting_id))
    return issue


def move(session: Session, issue: Issue, step: Step | str, *, actor: str, facts: Facts = Facts(),
         note: str = "", meeting_id: int | None = None) -> Issue:
    """Apply ``step`` (or raise ``lifecycle.Refused``) and record it in the issue's history."""
    step = Step(step)
    target = lifecycle.apply(issue.status, step, Facts(**{**facts.__dict__, "issue_id": issue.id}))
    session.add(IssueEvent(issue_id=issue.id, actor=actor, action=step, from_status=issue.status,
                           to_status=target, note=note or facts.reason or facts.decision, meeting_id=meeting_id))
    if step is Step.accept:
        issue.committee_id = facts.committee_id
    if step is Step.merge:
        issue.merged_into_id = facts.merge_into
    if target is Status.resolved:
        issue.resolved_at = now()
    elif step is Step.reopen:
        issue.resolved_at = None
    issue.status = target
    issue.updated_at = now()
    session.add(issue)
    return issue


def place_on_agenda(session: Session, issue: Issue, meeting: Meeting, *, actor: str,
                    planned_minutes: int = 10) -> AgendaEntry:
    """Put an issue on a meeting's agenda; an accepted issue becomes "on agenda", a later one
    (brought to coordination or review) keeps its status and the step is still recorded."""
    if Status(issue.status) not in lifecycle.SCHEDULABLE:
        raise lifecycle.Refused(N_("Only an accepted issue can be placed on an agenda; this one is %(status)s."),
                                status=issue.status)
    existing = session.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id,
                                                      AgendaEntry.issue_id == issue.id)).first()
    if existing:
        raise lifecycle.Refused(N_("This issue is already on that meeting's agenda."))
    last = session.exec(select(AgendaEntry.position).where(AgendaEntry.meeting_id == meeting.id)
                        .order_by(AgendaEntry.position.desc())).first()
    entry = AgendaEntry(meeting_id=meeting.id, issue_id=issue.id, position=(last or 0) + 1,
                        planned_minutes=planned_minutes)
    session.add(entry)
    if issue.status == Status.accepted:
        move(session, issue, Step.schedule, actor=actor, meeting_id=meeting.id)
    else:
        session.add(IssueEvent(issue_id=issue.id, actor=actor, action=Step.schedule, from_status=issue.status,
                               to_status=issue.status, meeting_id=meeting.id))
    return entry


def take_off_agenda(session: Session, entry: AgendaEntry, *, actor: str) -> None:
    """Remove an agenda entry; an issue left on no agenda of a meeting yet to happen goes back to accepted."""
    issue = session.get(Issue, entry.issue_id)
    meeting_id = entry.meeting_id
    session.delete(entry)
    session.flush()
    if issue and issue.status == Status.on_agenda:
        elsewhere = session.exec(select(AgendaEntry).where(AgendaEntry.issue_id == issue.id)).first()
        if elsewhere is None:
            move(session, issue, Step.unschedule, actor=actor, meeting_id=meeting_id)
    # Positions stay dense so "move up/down" swaps neighbours.
    for i, other in enumerate(agenda.entries_of(session, meeting_id), start=1):
        other.position = i
        session.add(other)


def draft_for(session: Session, meeting: Meeting, *, day: date) -> tuple[cycle.Draft, dict[int, Issue]]:
    """What the cycle (forum.cycle) proposes for a meeting's agenda, and the issues it names."""
    issues = session.exec(select(Issue).where(Issue.community_id == meeting.community_id,
                                              col(Issue.status).in_([s.value for s in lifecycle.SCHEDULABLE]))).all()
    actions = session.exec(select(Action).where(Action.community_id == meeting.community_id)).all()
    already = session.exec(select(AgendaEntry.issue_id).where(AgendaEntry.meeting_id == meeting.id)).all()
    proposed = cycle.draft(meeting.cadence,
                           [cycle.IssueFacts(i.id, i.status, i.needs_outside, i.resolved_at) for i in issues],
                           [cycle.ActionFacts(a.issue_id, a.status, a.due, a.owner_organisation_id) for a in actions],
                           day=day, already=already)
    return proposed, {i.id: i for i in issues}


def propose_agenda(session: Session, meeting: Meeting, *, actor: str, day: date) -> list[int]:
    """Place the cycle's draft on a meeting's agenda, for the facilitator to edit; the issues placed."""
    proposed, by_id = draft_for(session, meeting, day=day)
    for issue_id in proposed.issue_ids:
        place_on_agenda(session, by_id[issue_id], meeting, actor=actor)
    return proposed.issue_ids


def history(session: Session, issue_id: int) -> list[IssueEvent]:
    return list(session.exec(select(IssueEvent).where(IssueEvent.issue_id == issue_id)
                             .order_by(IssueEvent.at, IssueEvent.id)).all())

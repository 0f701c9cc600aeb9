"""The cycle drafts the agenda, with a frozen clock: what each cadence's next meeting is proposed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from forum import cycle, issue_registry, review
from forum.cycle import ActionFacts, IssueFacts
from forum.lifecycle import Facts
from forum.models import AgendaEntry, Area, Committee, Issue, Meeting

DAY = date(2026, 12, 2)  # a Wednesday: the weekly talk
NOON = datetime(2026, 12, 2, 12)

ISSUES = [
    IssueFacts(1, "raised"),  # not yet accepted: triage first, not the agenda
    IssueFacts(2, "accepted"),  # newly accepted (or reopened): the weekly talk
    IssueFacts(3, "in_progress"),  # its action is overdue: the weekly talk
    IssueFacts(4, "in_progress"),  # its action is due later: not the weekly talk
    IssueFacts(5, "decided", needs_outside=True),  # the monthly coordination
    IssueFacts(6, "in_progress"),  # an organisation owns an open action: the monthly coordination
    IssueFacts(7, "resolved", resolved_at=NOON - timedelta(days=30)),  # the quarterly review
    IssueFacts(8, "resolved", resolved_at=NOON - timedelta(days=120)),  # an earlier quarter's
    IssueFacts(9, "reviewed", resolved_at=NOON - timedelta(days=10)),  # rated already
    IssueFacts(10, "declined"),
    IssueFacts(11, "in_progress"),  # its organisation's action is done: nothing to coordinate
]
ACTIONS = [
    ActionFacts(3, "open", DAY - timedelta(days=1)),
    ActionFacts(4, "in_progress", DAY + timedelta(days=5)),
    ActionFacts(6, "blocked", DAY + timedelta(days=20), organisation_id=40),
    ActionFacts(11, "done", DAY - timedelta(days=9), organisation_id=41),
    ActionFacts(3, "done", DAY - timedelta(days=30), organisation_id=42),
]


@pytest.mark.parametrize(("cadence", "issues", "invite"), [
    ("weekly", [2, 3], []),
    ("monthly", [5, 6], [40]),
    ("quarterly", [7], []),
    ("other", [], []),
])
def test_each_cadence_gets_its_draft(cadence, issues, invite):
    draft = cycle.draft(cadence, ISSUES, ACTIONS, day=DAY)
    assert draft.issue_ids == issues
    assert draft.invite_organisation_ids == invite


def test_an_action_due_today_is_not_late_yet():
    assert cycle.draft("weekly", [IssueFacts(3, "in_progress")], [ActionFacts(3, "open", DAY)], day=DAY).issue_ids == []
    assert cycle.draft("weekly", [IssueFacts(3, "in_progress")], [ActionFacts(3, "open", DAY)],
                       day=DAY + timedelta(days=1)).issue_ids == [3]


def test_issues_already_on_the_agenda_are_not_proposed_twice():
    assert cycle.draft("weekly", ISSUES, ACTIONS, day=DAY, already=[2]).issue_ids == [3]


def test_a_dissatisfied_issue_comes_back_on_the_next_weekly_talks_draft(demo_engine):
    """Reopened by the review, it is accepted again, and the next weekly talk created proposes it."""
    with Session(demo_engine, expire_on_commit=False) as db:
        community = db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first()
        committee = db.exec(select(Committee).where(Committee.community_id == community.id)).first()
        issue = issue_registry.raise_issue(db, community_id=community.id, title="民宿噪音", description="",
                                           category="homestay", place="7栋", source="meeting", raised_by="居民")
        issue_registry.move(db, issue, "accept", actor="t", facts=Facts(committee_id=committee.id))
        issue.status = "decided"
        issue_registry.move(db, issue, "resolve", actor="t")
        review.rate(db, issue, review.Counts(1, 2, 8), source="paper", reason="还是吵", actor="t", on=DAY)
        assert issue.status == "accepted"
        meeting = Meeting(community_id=community.id, title="恳谈会", cadence="weekly",
                          starts_at=datetime(2030, 1, 2, 19), duration_minutes=60, place="活动室")
        db.add(meeting)
        db.flush()
        proposed = issue_registry.propose_agenda(db, meeting, actor="t", day=meeting.starts_at.date())
        assert issue.id in proposed
        assert db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id,
                                                 AgendaEntry.issue_id == issue.id)).one()
        assert db.get(Issue, issue.id).status == "on_agenda"


@pytest.mark.parametrize(("counts", "verdict"), [
    ((5, 0, 0), "satisfied"), ((0, 5, 0), "basically"), ((0, 0, 5), "dissatisfied"),
    ((3, 3, 0), "basically"), ((3, 0, 3), "dissatisfied"), ((2, 2, 2), "dissatisfied"), ((5, 4, 4), "satisfied"),
])
def test_the_verdict_is_what_most_said_and_a_tie_goes_to_the_less_favourable(counts, verdict):
    assert review.verdict(review.Counts(*counts)) == verdict


def test_no_ratings_is_no_verdict():
    with pytest.raises(review.Refused):
        review.verdict(review.Counts())


def test_the_satisfaction_rate_is_satisfied_and_basically_over_all():
    assert review.satisfaction_rate([review.Counts(6, 2, 2), review.Counts(0, 0, 10)]) == pytest.approx(0.4)
    assert review.satisfaction_rate([]) is None


@pytest.mark.parametrize(("day", "quarter"), [(date(2026, 1, 1), "2026Q1"), (date(2026, 3, 31), "2026Q1"),
                                              (date(2026, 4, 1), "2026Q2"), (date(2026, 12, 31), "2026Q4")])
def test_quarters(day, quarter):
    assert review.quarter_of(day) == quarter


def test_a_closed_rating_votes_tally_and_hands_are_the_ratings():
    """The vote of those present, taken with the votes package: tablets' ballots and a show of hands."""
    from types import SimpleNamespace

    from forum.models import VoteTally

    class Tallies:
        def exec(self, _statement):
            return [VoteTally(vote_id=1, choice="satisfied", heads=3), VoteTally(vote_id=1, choice="dissatisfied",
                                                                                  heads=1)]

    vote = SimpleNamespace(id=1, hands='{"basically_satisfied": 4, "dissatisfied": 2}')
    assert review.counts_of_vote(Tallies(), vote) == review.Counts(3, 4, 3)

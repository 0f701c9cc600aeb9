"""Opening and closing a vote, and the pure rule of when it takes ballots.

A vote is a draft, then open, then closed. Opening fixes its electorate and creates its tallies;
closing counts it and freezes ``counting.count(...).as_dict()`` on the vote, with an audit entry
and a note in the issue's timeline. A vote that closes at a set time takes no ballot from that
minute on (:func:`castable`); :mod:`forum.votes.closer` closes it in the background, so that no
page has to write to show it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from forum import electorate, secrecy
from forum.counting import CountingError, Kind
from forum.i18n import N_, gettext
from forum.models import ImportJob, Issue, IssueEvent, Vote, VoteStatus, VoteTally, now
from forum.votes.choices import VoteRefused, choices_of
from forum.votes.results import summary, tally_result
from forum.votes.setup import check_counts
from forum.votes.trail import audit

# ---------------------------------------------------------------- the rule


def is_due(vote: Vote, at: datetime) -> bool:
    """An open vote whose closing time has come by ``at``: it takes no more ballots, and is closed."""
    return vote.status == VoteStatus.open and vote.closes_at is not None and vote.closes_at <= at


def castable(vote: Vote, at: datetime) -> bool:
    """Whether ``vote`` takes ballots at ``at``: open, and its closing time (if any) not yet come."""
    return vote.status == VoteStatus.open and not is_due(vote, at)


def shown_status(vote: Vote, at: datetime) -> str:
    """The state a page shows: the stored status, or "closing" for an open vote past its closing
    time that the closer has not closed yet (or cannot: a show of hands to correct)."""
    return "closing" if is_due(vote, at) else vote.status


def not_open(vote: Vote) -> VoteRefused:
    """The refusal of a ballot for a vote that does not take it (a draft, or closed, or past its time)."""
    if vote.status == VoteStatus.draft:
        return VoteRefused("not_open", N_("This vote is not open yet."))
    return VoteRefused("not_open", N_("This vote is closed; no more ballots are taken."))


# ---------------------------------------------------------------- opening


def open_vote(db: Session, vote: Vote, *, actor: str) -> None:
    """Fix the electorate, check it can be counted, create the tallies; the caller commits."""
    if vote.status != VoteStatus.draft:
        raise VoteRefused("not_draft", N_("This vote has been opened already."))
    if _register_being_written(db, vote):
        # Its electorate would be fixed from a register half-way through an import.
        raise VoteRefused("register_busy", N_("The household register of this community is being updated by an "
                                              "import; open the vote once the import has finished."))
    electors, units = electorate.build(db, vote)
    check_counts(vote, electors)
    db.add_all(electors)
    db.add_all(units)
    if vote.kind != Kind.SEVERAL_OF:
        db.add_all(VoteTally(vote_id=vote.id, choice=k) for k, _ in choices_of(vote))
    vote.status = VoteStatus.open
    vote.opened_at = now()
    db.add(vote)
    audit(db, vote, actor, "open", gettext("Opened with %(n)d eligible voters.") % {"n": len(electors)})


def _register_being_written(db: Session, vote: Vote) -> bool:
    """Whether an import is writing the register this vote's electorate is built from."""
    if vote.scope == "attendance" and vote.counting_unit != "household":
        return False  # built from check-ins alone
    return db.exec(select(ImportJob.id).where(ImportJob.community_id == vote.community_id,
                                             ImportJob.status == "pending")).first() is not None


# ---------------------------------------------------------------- closing


def close_vote(db: Session, vote: Vote, *, actor: str, lazy: bool = False) -> bool:
    """Close, count and freeze the result; False when someone else closed it first (``lazy``; else
    VoteRefused). Caller commits (a secret vote's closing commits itself, with the ballots that were
    waiting: forum.secrecy)."""
    if not vote.secret:
        return _close(db, vote, actor=actor, lazy=lazy)
    with secrecy.closing(db, vote) as flush:
        done = _close(db, vote, actor=actor, lazy=lazy, before_count=flush)
        if done:
            db.commit()
        return done


def _close(db: Session, vote: Vote, *, actor: str, lazy: bool, before_count: Callable[[], Any] | None = None
           ) -> bool:
    # Conditional on the stored status: of two closings (two processes, the closer and the
    # facilitator) exactly one changes the row, and only that one counts.
    done = db.execute(update(Vote).where(Vote.id == vote.id, Vote.status == VoteStatus.open)
                      .values(status=VoteStatus.closed, closed_at=now(), closed_by=actor[:60]))
    if done.rowcount != 1:
        if lazy:
            return False
        raise VoteRefused("not_open", N_("This vote is not open."))
    db.refresh(vote)
    if before_count is not None:
        before_count()
    try:
        result = tally_result(db, vote, exact=True)
    except CountingError as e:
        if e.code != "too_many_hands":
            raise
        # Ballots came after the show of hands was recorded, from voters it had counted as hands.
        raise VoteRefused("too_many_hands", N_("The show of hands and the ballots together are more than the "
                                               "eligible voters; correct the show of hands, then close."),
                          "close") from None
    vote.result = json.dumps(result, ensure_ascii=False)
    db.add(vote)
    audit(db, vote, actor, "close", summary(vote, result))
    issue_id = vote.issue_id
    if issue_id is not None and (issue := db.get(Issue, issue_id)) is not None:
        db.add(IssueEvent(issue_id=issue.id, actor=actor[:60], action="vote", from_status=issue.status,
                          to_status=issue.status, note=summary(vote, result), meeting_id=vote.meeting_id))
    return True

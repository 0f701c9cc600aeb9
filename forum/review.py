"""The quarterly review closes the loop: residents rate each issue resolved in the quarter
(满意 / 基本满意 / 不满意); the verdict goes on the issue, and 不满意 reopens it with the reason,
back to its committee (and so onto the next weekly talk's draft agenda, forum.cycle).

A rating is a record of its own rather than a vote: the vote of those present is taken with the
votes package (a rating vote on the agenda entry) and its closed tally copied here, or counts are
entered from a show of hands or from paper forms; either way the verdict and the quarter's
satisfaction rate read from one small table, and no vote has to exist for a paper review.

The verdict is the rating most residents gave; a tie goes to the less favourable one, so that a
split hall never hides dissatisfaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from forum import action_registry, counting, issue_registry
from forum.followup import Refused
from forum.i18n import N_, gettext
from forum.lifecycle import Facts, Status, Step
from forum.models import Issue, Rating, Vote, VoteTally
from forum.votes.results import stored_hands


class Verdict(StrEnum):
    satisfied = "satisfied"
    basically = "basically"
    dissatisfied = "dissatisfied"


VERDICT_LABELS = {
    Verdict.satisfied: N_("Satisfied"),
    Verdict.basically: N_("Basically satisfied"),
    Verdict.dissatisfied: N_("Dissatisfied"),
}
# From the most to the least favourable: a tie is settled toward the end of this list.
ORDER = (Verdict.satisfied, Verdict.basically, Verdict.dissatisfied)
SOURCES = {"hands": N_("Show of hands"), "paper": N_("Paper forms"), "vote": N_("Vote of those present")}
COUNT_MAX = 100_000


@dataclass(frozen=True)
class Counts:
    satisfied: int = 0
    basically: int = 0
    dissatisfied: int = 0

    def total(self) -> int:
        return self.satisfied + self.basically + self.dissatisfied


def verdict(counts: Counts) -> Verdict:
    """The rating most gave; a tie goes to the less favourable. No ratings: ``Refused``."""
    if counts.total() <= 0:
        raise Refused("satisfied", N_("Enter how many residents gave each rating."))
    best = max(getattr(counts, v.value) for v in ORDER)
    return [v for v in ORDER if getattr(counts, v.value) == best][-1]


def satisfaction_rate(ratings: list[Counts]) -> float | None:
    """满意 + 基本满意 over all ratings given (domain.md); None for a quarter with none."""
    total = sum(c.total() for c in ratings)
    return None if total == 0 else sum(c.satisfied + c.basically for c in ratings) / total


def quarter_of(day: date | datetime) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def counts_of_vote(db: Session, vote: Vote) -> Counts:
    """A closed rating vote's heads per rating: tablets' and paper ballots, and a show of hands."""
    heads = {t.choice: t.heads for t in db.exec(select(VoteTally).where(VoteTally.vote_id == vote.id))}
    hands, _present = stored_hands(vote)
    for choice, n in (hands or {}).items():
        heads[choice] = heads.get(choice, 0) + int(n)
    return Counts(satisfied=heads.get(counting.SATISFIED, 0), basically=heads.get(counting.BASICALLY_SATISFIED, 0),
                  dissatisfied=heads.get(counting.DISSATISFIED, 0))


def rate(db: Session, issue: Issue, counts: Counts, *, source: str, reason: str, actor: str, on: date,
         meeting_id: int | None = None) -> Rating:
    """Record the rating and act on its verdict: reviewed (closed), or reopened with the reason."""
    if Status(issue.status) is not Status.resolved:
        raise Refused("satisfied", N_("Only a resolved issue is rated at the review."))
    if any(n < 0 or n > COUNT_MAX for n in (counts.satisfied, counts.basically, counts.dissatisfied)):
        raise Refused("satisfied", N_("Counts are whole numbers from 0 to 100000."))
    found = verdict(counts)
    reason = reason.strip()
    if found is Verdict.dissatisfied and not reason:
        raise Refused("reason", N_("Residents are dissatisfied: say why, for the committee."))
    if len(reason) > 2000:
        raise Refused("reason", N_("Keep the reason under 2000 characters."))
    rating = Rating(issue_id=issue.id, community_id=issue.community_id, meeting_id=meeting_id, quarter=quarter_of(on),
                    satisfied=counts.satisfied, basically=counts.basically, dissatisfied=counts.dissatisfied,
                    verdict=found.value, source=source, reason=reason, by=actor)
    db.add(rating)
    # Written in the words of whoever records it (as any note typed there), so the timeline reads.
    words = {v: gettext(VERDICT_LABELS[v]) for v in Verdict}
    note = (f"{words[Verdict.satisfied]} {counts.satisfied} · {words[Verdict.basically]} {counts.basically} · "
            f"{words[Verdict.dissatisfied]} {counts.dissatisfied} → {words[found]}") + (f": {reason}" if reason else "")
    if found is Verdict.dissatisfied:
        issue_registry.move(db, issue, Step.reopen, actor=actor, facts=Facts(reason=reason), note=note,
                            meeting_id=meeting_id)
        action_registry.notify_reopened(db, issue)
    else:
        issue_registry.move(db, issue, Step.review, actor=actor, note=note, meeting_id=meeting_id)
    return rating


def ratings_of(db: Session, issue_id: int) -> list[Rating]:
    return list(db.exec(select(Rating).where(Rating.issue_id == issue_id).order_by(Rating.at, Rating.id)))


def quarter_rates(db: Session, community_id: int) -> list[tuple[str, float | None, int]]:
    """Each quarter with ratings, newest first: the satisfaction rate and how many issues were rated."""
    rows = db.exec(select(Rating).where(Rating.community_id == community_id)
                   .order_by(col(Rating.quarter).desc())).all()
    quarters: dict[str, list[Counts]] = {}
    for r in rows:
        quarters.setdefault(r.quarter, []).append(Counts(r.satisfied, r.basically, r.dissatisfied))
    return [(q, satisfaction_rate(c), len(c)) for q, c in quarters.items()]

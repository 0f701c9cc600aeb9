"""The district-year's votes (表决): owners' decisions taken to the monthly coordination (a lift for
an old stairwell, the repair fund for a building, a parking scheme, what the fitness corner gets)
and residents' ratings at the quarterly review, some open, some secret.

Two halves, as the rest of the district is built. While the issues are generated, :class:`Planner`
decides which agenda entries get a vote, with whom and when, and reserves the issue's "vote" event
at its moment (so the timeline stays in order). Once the rows are written, :func:`hold` takes each
planned vote through the app's own steps on a session joined to the build's transaction:
``create_vote`` (the set-up form's checks), ``open_vote`` (the electorate, as forum.electorate
counts owners), the ballots (owners' paper ballots entered with their serials by ``cast``, the
review's tablets in one batch by ``cast_from_tablets``; secret ones through forum.secrecy's urn,
so they are written in batches of at least K voters and no row links a voter to a choice), and
``close_vote``, which counts them with forum.counting and freezes the result. Nothing here writes
a tally or a result. Only the clock is set afterwards: the app stamps each step with the real time,
and these votes were taken during the year, so their times are moved to the meetings they were
taken at.

A rating vote's counts are the review's rating (``source="vote"``): the planner hands each
resident present one of the ratings the review gives, and :func:`hold` checks that the closed vote
counts to the same numbers (``review.counts_of_vote``), or the build fails.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlmodel import Session

from forum import counting, review, secrecy, verification, votes
from forum.models import (
    Attendance,
    Ballot,
    IssueEvent,
    Meeting,
    PaperSerial,
    Vote,
    VoteAudit,
    VoteElector,
    VoteReceipt,
    now,
)
from forum.votes.casting import add_to_tally, ballot_detail
from forum.votes.choices import choice_key

if TYPE_CHECKING:
    from forum.demo.district import Community, Progress
    from forum.demo.district_issues import Life
    from forum.demo.district_meetings import Slot

# Owners' matters by (category, a word of the issue's title): the question ({b} building, {u} unit),
# kind, scope, rule, for a choice its options (a several-of vote: how many may be ticked), and how
# often such an item is put to the owners (``p``; else the coordination decides it without a vote).
MATTERS = [
    ("lift", "加装电梯", dict(question="{b}栋{u}单元加装电梯方案及费用分摊（按楼层分摊，财政补助后）",
                            kind="for_against", scope="unit", rule="owners_major", p=0.55)),
    ("lift", "电梯频繁故障", dict(question="使用专项维修资金更换{b}栋电梯主机和控制柜", kind="for_against",
                              scope="building", rule="owners_major", p=0.3)),
    ("safety", "外墙瓷砖脱落", dict(question="使用专项维修资金维修{b}栋外墙、更换脱落瓷砖", kind="for_against",
                                scope="building", rule="owners_major", p=0.4)),
    ("safety", "堡坎", dict(question="使用专项维修资金加固{b}栋门口堡坎", kind="for_against", scope="building",
                          rule="owners_major", p=0.3)),
    ("parking", "车位", dict(question="小区停车管理方案", kind="one_of", scope="community", rule="consultation", p=0.2,
                           options=["重新划线，车位按户抽签轮换", "外来车辆限时停放收费，收入用于小区维护",
                                    "维持现状"])),
    ("parking", "消防通道", dict(question="实行小区停车管理规约，消防通道设隔离桩、违停车辆拖离",
                             kind="for_against", scope="community", rule="owners_ordinary", p=0.4)),
    ("greenery", "健身器材", dict(question="健身角添置哪些器材（最多选两项）", kind="several_of", scope="community",
                              rule="consultation", max_choices="2",
                              options=["老年漫步机", "儿童滑梯", "乒乓球台", "休息座椅"], p=0.5)),
]
SECRET_OWNERS = 0.3  # how often an owners' matter is put to a secret ballot
SECRET_RATING = 0.4
RATING_VOTES = 0.65  # how often a review puts (the first of) the items it rates to a vote of those present
REVIEW_QUESTION = "评议：{title}"


@dataclass
class Plan:
    """One vote to hold once the rows are written."""

    community_id: int
    meeting_id: int
    entry: dict  # the agenda entry row it is on
    event: dict  # the issue's "vote" event, reserved at the moment the vote closes
    values: dict[str, str]  # the set-up form
    actor: str
    opens: datetime
    closes: datetime
    rng: random.Random
    rating: dict | None = None  # the review's rating row, for a rating vote
    ballots: dict[int, str] = field(default_factory=dict)  # attendance id → rating (a rating vote)


class Planner:
    """Decides the votes while the issues are generated, each community's with a random generator
    of its own, so that the issues' stories (what happens, and when) are those they would be
    without votes; only their rows' ids move, by the "vote" events between them."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.plans: list[Plan] = []
        self.reviews: set[int] = set()  # the reviews seen: one rating vote at most each
        self._rngs: dict[int, random.Random] = {}

    def rng(self, community: Community) -> random.Random:
        if community.id not in self._rngs:
            self._rngs[community.id] = random.Random(f"votes:{self.seed}:{community.slug}")
        return self._rngs[community.id]

    def owners(self, community: Community, life: Life, slot: Slot, entry: dict, opened: datetime) -> None:
        """An owners' matter on the coordination's agenda: the owners' paper ballots, collected from
        the day the item went on the agenda, counted at the meeting before it decides."""
        issue = life.issue
        matter = next((m for c, word, m in MATTERS if c == issue["category"] and word in issue["title"]), None)
        rng = self.rng(community)
        if matter is None or rng.random() >= matter["p"]:
            return
        building, unit = issue["place"].removeprefix(community.name).partition("栋")[::2]
        unit = unit.removesuffix("单元") or "1"
        values = {"question": matter["question"].format(b=building, u=unit), "kind": matter["kind"],
                  "options": "\n".join(matter.get("options", [])), "max_choices": matter.get("max_choices", ""),
                  "scope": matter["scope"], "scope_building": building, "scope_unit": unit,
                  "counting_unit": "household", "weighting": "head", "rule": matter["rule"], "closing": "facilitator",
                  "agenda_entry": str(entry["id"])}
        if rng.random() < SECRET_OWNERS:
            values["secret"] = "on"
        else:
            values["results_while_open"] = "on"
        self._plan(community, life, slot, entry, values, opened, rng)

    def rating(self, community: Community, life: Life, slot: Slot, entry: dict, rating: dict,
               present: list[int]) -> bool:
        """A rating vote of those present at the review, each resident present giving one of the
        ratings the review counted. False (nothing planned) when the counts are not theirs."""
        rng = self.rng(community)
        counts = (rating["satisfied"], rating["basically"], rating["dissatisfied"])
        if slot.id in self.reviews:
            return False
        self.reviews.add(slot.id)  # decided at its first item: a vote on it, or none at this review
        if rng.random() >= RATING_VOTES or sum(counts) != len(present):
            return False
        choices = ([counting.SATISFIED] * counts[0] + [counting.BASICALLY_SATISFIED] * counts[1]
                   + [counting.DISSATISFIED] * counts[2])
        rng.shuffle(choices)
        values = {"question": REVIEW_QUESTION.format(title=life.issue["title"])[:300], "kind": "rating",
                  "scope": "attendance", "counting_unit": "person", "weighting": "head", "rule": "consultation",
                  "closing": "facilitator", "agenda_entry": str(entry["id"])}
        if rng.random() < SECRET_RATING:
            values["secret"] = "on"
        else:
            values["results_while_open"] = "on"
        plan = self._plan(community, life, slot, entry, values, None, rng)
        plan.rating = rating
        plan.ballots = dict(zip(present, choices, strict=True))
        rating["source"] = "vote"
        return True

    def _plan(self, community: Community, life: Life, slot: Slot, entry: dict, values: dict[str, str],
              opened: datetime | None, rng: random.Random) -> Plan:
        # The vote closes as the meeting takes the item, just before it decides (or rates) it.
        item = life.during(slot)
        life.event(item + timedelta(minutes=1), "vote", life.status, community.facilitator[1], meeting_id=slot.id)
        event = life.rows.tables["issueevent"][-1]
        closes = event["at"]
        plan = Plan(community.id, slot.id, entry, event, values, community.facilitator[1],
                    opened or closes - timedelta(minutes=rng.randint(2, 4)), closes, rng)
        self.plans.append(plan)
        return plan


# ---------------------------------------------------------------- holding them


def hold(connection: Connection, plans: list[Plan], progress: Progress) -> dict[str, int]:
    """Hold every planned vote through the app's steps, in the build's transaction (each step's
    commit is a savepoint's). Returns how many votes, secret ones and ballots there are."""
    counts = {"vote": 0, "vote_secret": 0, "ballot": 0}
    with Session(bind=connection, join_transaction_mode="create_savepoint") as db:
        for k, plan in enumerate(plans, start=1):
            vote = _hold(db, plan)
            counts["vote"] += 1
            counts["vote_secret"] += vote.secret
            counts["ballot"] += json.loads(vote.result)["ballots"]
            progress("votes", k, len(plans))
    return counts


def _hold(db: Session, plan: Plan) -> Vote:
    meeting = db.get(Meeting, plan.meeting_id)
    vote, errors = votes.create_vote(db, plan.values, community_id=plan.community_id, meeting=meeting, issue=None,
                                     actor=plan.actor, at=plan.opens)
    if vote is None:
        raise ValueError(f"the demo's vote {plan.values['question']!r} was refused: {errors}")
    votes.open_vote(db, vote, actor=plan.actor)
    db.commit()
    if plan.rating is not None:
        _tablets(db, vote, plan)
    else:
        _paper(db, vote, plan)
    votes.close_vote(db, vote, actor=plan.actor)
    db.commit()
    if plan.rating is not None:
        found = review.counts_of_vote(db, vote)
        wanted = review.Counts(plan.rating["satisfied"], plan.rating["basically"], plan.rating["dissatisfied"])
        if found != wanted:
            raise ValueError(f"vote {vote.id} counts {found}, its review recorded {wanted}")
    _in_its_time(db, vote, plan)
    db.commit()
    return vote


def _tablets(db: Session, vote: Vote, plan: Plan) -> None:
    """The residents present rate on their tablets, handed in together (as forum.ballot_box does)."""
    present = {a.id: a for a in db.execute(select(Attendance).where(Attendance.meeting_id == plan.meeting_id))
               .scalars()}
    batch = [votes.TabletCast(present[a], "", [choice]) for a, choice in plan.ballots.items()]
    votes.cast_from_tablets(db, vote, batch)
    refused = [t.refused for t in batch if t.refused is not None]
    if refused:
        raise ValueError(f"vote {vote.id}: ballots refused: {refused[0]}")


def _paper(db: Session, vote: Vote, plan: Plan) -> None:
    """Owners' written ballots, collected door to door and entered by staff with their serials: most
    owners take part where a lift or the repair fund is at stake, and most agree, not all."""
    rng = plan.rng
    electors = {e.voter_key: e for e in db.execute(select(VoteElector).where(VoteElector.vote_id == vote.id)
                                                   .order_by(VoteElector.voter_key)).scalars()}
    # Door to door, nearly every owner is reached; where the neighbours are agreed, nearly all agree.
    # (A stairwell of three needs all three where a lift is at stake: art. 278 wants three quarters.)
    turnout = rng.uniform(0.95, 1.0) if rng.random() < 0.85 else rng.uniform(0.4, 0.75)
    agree = rng.uniform(0.92, 1.0) if rng.random() < 0.85 else rng.uniform(0.3, 0.75)
    options = [o["id"] for o in votes.options_of(vote)]
    weights = [rng.uniform(0.2, 1.0) for _ in options]
    slips = []
    for n, key in enumerate(k for k in electors if rng.random() < turnout):
        if vote.kind == counting.Kind.FOR_AGAINST:
            roll = rng.random()
            selection = [counting.FOR if roll < agree else counting.ABSTAIN if roll < agree + 0.03
                         else counting.AGAINST]
        elif vote.kind == counting.Kind.SEVERAL_OF:
            selection = sorted(set(rng.choices(options, weights, k=rng.randint(1, vote.max_choices or 1))))
        else:
            selection = rng.choices(options, weights)
        serial = f"{vote.id}-{n + 1:03d}"
        refused = verification.refusal(db, vote, key, "paper", serial=serial)
        if refused is not None:
            raise refused
        elector = electors[key]
        slips.append(secrecy.Slip(key, choice_key(vote, selection), elector.heads, elector.area_centi or 0, "paper",
                                  serial))
    if not slips:
        return
    if vote.secret:
        outcomes = secrecy.deposit(db, vote, slips)  # the urn writes them in batches of K or more
        if set(outcomes) - {"received", "counted"}:
            raise ValueError(f"vote {vote.id}: paper ballots refused: {outcomes}")
    else:
        _enter(db, vote, slips, plan.actor)


def _enter(db: Session, vote: Vote, slips: list[secrecy.Slip], actor: str) -> None:
    """An open vote's paper ballots entered as one batch, written as the tablets' batch writes
    theirs (forum.votes.tablets): receipts, serials, the named ballots, their audit entries, and
    each choice's weight added to its tally by forum.votes.casting; one commit."""
    at = now()
    db.execute(insert(VoteReceipt), [{"vote_id": vote.id, "voter_key": s.voter_key} for s in slips])
    db.execute(insert(PaperSerial), [{"vote_id": vote.id, "serial": s.serial} for s in slips])
    db.execute(insert(Ballot), [{"vote_id": vote.id, "voter_key": s.voter_key, "choice": s.choice, "via": "paper",
                                 "cast_by": actor, "cast_at": at, "paper_serial": s.serial} for s in slips])
    labels = dict(db.execute(select(VoteElector.voter_key, VoteElector.label).where(VoteElector.vote_id == vote.id)
                             ).all())
    db.execute(insert(VoteAudit), [{"vote_id": vote.id, "at": at, "actor": labels[s.voter_key][:120],
                                    "action": "ballot", "detail": ballot_detail(vote, s.choice, "paper", actor,
                                                                                s.serial)} for s in slips])
    sums: dict[str, list[int]] = {}
    for s in slips:
        weight = sums.setdefault(s.choice, [0, 0])
        weight[0] += s.heads
        weight[1] += s.area_centi
    for choice, (heads, area) in sorted(sums.items()):
        add_to_tally(db, vote, choice, heads, area)
    db.commit()


def _in_its_time(db: Session, vote: Vote, plan: Plan) -> None:
    """The vote's steps at the times they were taken during the year (the app stamped them with the
    clock's): set up and opened at ``opens``, ballots and audit entries in order until ``closes``,
    closed then; and the issue's "vote" event, reserved in its place, says what closing it said."""
    opens, closes = plan.opens, plan.closes
    db.execute(update(Vote).where(Vote.id == vote.id).values(created_at=opens - timedelta(minutes=5), opened_at=opens,
                                                             closed_at=closes))
    span = closes - opens
    entries = list(db.execute(select(VoteAudit.id, VoteAudit.action).where(VoteAudit.vote_id == vote.id)
                              .order_by(VoteAudit.id)).all())
    times = [{"key": audit_id, "at": (opens - timedelta(minutes=5) if action == "create" else closes
                                      if action == "close" else opens + span * i / len(entries)).replace(microsecond=0)}
             for i, (audit_id, action) in enumerate(entries)]
    connection = db.connection()
    connection.execute(update(VoteAudit.__table__).where(VoteAudit.__table__.c.id == bindparam("key")), times)
    keys = list(db.execute(select(Ballot.voter_key).where(Ballot.vote_id == vote.id).order_by(Ballot.voter_key))
                .scalars())
    ballots = Ballot.__table__
    if keys:
        connection.execute(update(ballots).where(ballots.c.vote_id == vote.id, ballots.c.voter_key == bindparam("key")),
                           [{"key": key, "cast_at": (opens + span * (i + 1) / (len(keys) + 1)).replace(microsecond=0)}
                            for i, key in enumerate(keys)])
    # Closing wrote the event last, with the issue's status of today: the reserved one keeps its own.
    written = db.execute(select(IssueEvent).where(IssueEvent.issue_id == vote.issue_id, IssueEvent.action == "vote")
                         .order_by(IssueEvent.id.desc()).limit(1)).scalars().one()
    db.execute(update(IssueEvent).where(IssueEvent.id == plan.event["id"]).values(note=written.note))
    db.execute(delete(IssueEvent).where(IssueEvent.id == written.id))

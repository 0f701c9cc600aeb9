"""A vote's results: the running count and the frozen result, the turnout, and how they read
(the summary line, each fraction a rule compared, the chart's bars). Reads only."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from forum import counting, display, secrecy
from forum.counting import CountingError, Kind, Rule, Voter
from forum.i18n import gettext
from forum.models import Ballot, Vote, VoteElector, VoteReceipt, VoteStatus, VoteTally
from forum.votes.choices import choice_text, choices_of, needs_area, option_ids, selection_of, voters
from forum.votes.labels import RULES


def stored_hands(vote: Vote) -> tuple[dict[str, int] | None, bool]:
    """The show of hands recorded on a vote, and whether they are hands of people present who are
    not checked in (kept as ``{"present": {choice: n}}``; a plain ``{choice: n}`` otherwise)."""
    if not vote.hands:
        return None, False
    data = json.loads(vote.hands)
    if set(data) == {"present"} and isinstance(data["present"], dict):
        return data["present"], True
    return data, False


def tally_result(db: Session, vote: Vote, *, exact: bool = False, hands: dict[str, int] | None = None,
                 present: bool = False) -> dict[str, Any]:
    """Count the vote with :func:`counting.count` and return ``Result.as_dict()`` plus a few facts.

    Live counts read the anonymous tallies (a handful of rows, however many voters); ``exact``
    (used when closing an open vote) counts the named ballots themselves instead. The tallies
    stand in for the ballots as one voter per choice carrying that choice's heads and area, plus
    one for everyone who has not voted; counting adds weights, so the result is the same.
    """
    if vote.status == VoteStatus.closed and vote.result and hands is None:
        return json.loads(vote.result)
    stored = hands is None
    if hands is None and vote.hands:
        hands, present = stored_hands(vote)
    if exact and not vote.secret:
        electors = db.exec(select(VoteElector).where(VoteElector.vote_id == vote.id)).all()
        ballots = {b.voter_key: selection_of(vote, b.choice)
                   for b in db.exec(select(Ballot).where(Ballot.vote_id == vote.id))}
        counted = voters(electors, needs_area(vote))
    else:
        counted, ballots = _tallies_as_voters(db, vote)
    count = functools.partial(counting.count, vote.kind, vote.rule, counted, ballots, options=option_ids(vote),
                              weighting=vote.weighting, max_choices=vote.max_choices)
    try:
        result = count(show_of_hands=hands or None, hands_of_present=bool(present and hands))
    except CountingError as e:
        if exact or not stored or e.code != "too_many_hands":
            raise
        # Ballots cast since the show of hands outnumber it: the running count leaves the hands out
        # until the facilitator corrects them (closing refuses until then).
        result = count()
    out = result.as_dict()
    out["eligible"] = int(result.participation_heads.denominator)
    out["ballots"] = db.exec(select(func.count()).select_from(VoteReceipt)
                             .where(VoteReceipt.vote_id == vote.id)).one()
    return out


def _tallies_as_voters(db: Session, vote: Vote) -> tuple[list[Voter], dict[str, str | list[str]]]:
    """One voter per tallied choice carrying its weight, and one for everyone who has not voted."""
    with_area = needs_area(vote)
    heads, area = db.exec(select(func.coalesce(func.sum(VoteElector.heads), 0),
                                 func.coalesce(func.sum(VoteElector.area_centi), 0))
                          .where(VoteElector.vote_id == vote.id)).one()
    out, ballots = [], {}
    for t in db.exec(select(VoteTally).where(VoteTally.vote_id == vote.id, VoteTally.heads > 0)):
        vid = f"tally:{t.choice}"
        out.append(Voter(vid, heads=t.heads, area=Fraction(t.area_centi, 100) if with_area else None))
        ballots[vid] = selection_of(vote, t.choice)
        heads -= t.heads
        area -= t.area_centi
    if heads > 0:
        out.append(Voter("not_voted", heads=heads, area=Fraction(area, 100) if with_area else None))
    return out, ballots


def turnout(db: Session, vote: Vote) -> tuple[int, int]:
    """(ballots counted, eligible voters): what the room may see even while tallies are hidden.
    An open secret vote's ballots received and waiting to be written with others count already."""
    n = db.exec(select(func.count()).select_from(VoteReceipt).where(VoteReceipt.vote_id == vote.id)).one()
    if vote.secret and vote.status == VoteStatus.open:
        n += secrecy.waiting_count(db, vote.id)  # received: they count towards the turnout already
    eligible = db.exec(select(func.count()).select_from(VoteElector).where(VoteElector.vote_id == vote.id)).one()
    return n, eligible


def shows_tallies(vote: Vote) -> bool:
    return secrecy.shows_counts(vote)


def votes_of_meeting(db: Session, meeting_id: int) -> list[Vote]:
    return list(db.exec(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.id)))


def votes_of_issue(db: Session, issue_id: int) -> list[Vote]:
    return list(db.exec(select(Vote).where(Vote.issue_id == issue_id).order_by(Vote.id)))


def current_vote(db: Session, meeting_id: int) -> Vote | None:
    """The vote a meeting's room shows: the open one, else the one closed last."""
    votes = votes_of_meeting(db, meeting_id)
    open_ = [v for v in votes if v.status == VoteStatus.open]
    if open_:
        return open_[-1]
    closed = [v for v in votes if v.status == VoteStatus.closed]
    return max(closed, key=lambda v: (v.closed_at or v.created_at, v.id)) if closed else None


# ---------------------------------------------------------------- how a result reads


def summary(vote: Vote, result: dict[str, Any]) -> str:
    """One line for the timeline and the minutes: question, verdict, the totals by head."""
    verdicts = {"passed": gettext("passed"), "failed": gettext("not passed"), "no_rule": gettext("consultation")}
    totals = "，".join(f"{choice_text(vote, t['key'])} {t['heads']}" for t in result["totals"])
    return gettext("Vote “%(q)s”: %(verdict)s (%(rule)s). %(totals)s") % {
        "q": vote.question, "verdict": verdicts[result["verdict"]], "rule": gettext(RULES[Rule(vote.rule)]),
        "totals": totals}


def _decimal(text: str) -> str:
    """Exact numbers from as_dict ("812.4", "12", "5/3") shown with two places for areas."""
    if "/" in text:
        return str(round(float(Fraction(text)), 2))
    return f"{Decimal(text):.2f}"


def comparison_lines(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each fraction a rule compared, ready to print: "812.40 / 1059.70 m² = 76.7% ≥ 2/3 ✓"."""
    lines = []
    for c in result["comparisons"]:
        area = c["basis"] == "area"
        num = _decimal(c["numerator"]) if area else c["numerator"]
        den = _decimal(c["denominator"]) if area else c["denominator"]
        # Rounded toward the verdict, so the number never contradicts its ✓/✗ (forum.display).
        percent = "—" if c["percent"] is None else display.percent(
            Fraction(c["numerator"]) / Fraction(c["denominator"]), c["met"])
        op = "≥" if c["operator"] == ">=" else ">"
        lines.append({"label": gettext(c["label"]), "text": f"{num} / {den}{' m²' if area else ''} = {percent} "
                      f"{op} {c['threshold']}", "met": c["met"]})
    return lines


def bars(vote: Vote, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One bar per choice for the SVG chart, widths as a share of the largest."""
    totals = result["totals"]
    top = max((t["heads"] for t in totals), default=0) or 1
    out = []
    for i, t in enumerate(totals):
        percent = None if t["heads_percent"] is None else f"{float(t['heads_percent']):.1f}"
        out.append({"key": t["key"], "label": choice_text(vote, t["key"]) if vote.kind != Kind.SEVERAL_OF
                    else dict(choices_of(vote)).get(t["key"], t["key"]), "heads": t["heads"], "hands": t["hands"],
                    "percent": percent, "area": None if t["area"] is None else _decimal(t["area"]),
                    "width": round(100 * t["heads"] / top, 1), "y": i})
    return out

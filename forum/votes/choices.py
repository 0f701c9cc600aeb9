"""A vote's choices: what it offers, how a ballot's selection becomes the key it is tallied under,
and how a key reads. Also :class:`VoteRefused`, what every step of voting raises when it cannot
do what was asked."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from forum import counting
from forum.counting import Kind, Rule, Voter, Weighting
from forum.i18n import N_, gettext
from forum.models import Vote, VoteElector

OWNERS_RULES = (Rule.OWNERS_ORDINARY, Rule.OWNERS_MAJOR)


class VoteRefused(ValueError):
    """Something a person asked for that the vote does not allow; ``message`` is an English msgid."""

    def __init__(self, code: str, message: str, field: str = "", **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.code = code
        self.message = message
        self.field = field
        self.params = params

    def text(self) -> str:
        return gettext(self.message) % self.params if self.params else gettext(self.message)


def options_of(vote: Vote) -> list[dict[str, str]]:
    return json.loads(vote.options) if vote.options else []


def choices_of(vote: Vote) -> list[tuple[str, str]]:
    """(key, label) of every choice, labels translated."""
    if vote.kind == Kind.FOR_AGAINST:
        return [(counting.FOR, gettext("For")), (counting.AGAINST, gettext("Against")),
                (counting.ABSTAIN, gettext("Abstain"))]
    if vote.kind == Kind.RATING:
        return [(counting.SATISFIED, gettext("Satisfied")),
                (counting.BASICALLY_SATISFIED, gettext("Basically satisfied")),
                (counting.DISSATISFIED, gettext("Dissatisfied"))]
    return [(o["id"], o["text"]) for o in options_of(vote)]


def choice_key(vote: Vote, selection: Sequence[str]) -> str:
    """The tally key of a ballot; several-of ballots are the sorted set of ticked options."""
    keys = [k for k, _ in choices_of(vote)]
    picked = [s for s in selection if s]
    for s in picked:
        if s not in keys:
            raise VoteRefused("unknown_choice", N_("That is not one of this vote's choices."), "choice")
    if vote.kind != Kind.SEVERAL_OF:
        if len(picked) != 1:
            raise VoteRefused("one_choice", N_("Choose exactly one answer."), "choice")
        return picked[0]
    if len(set(picked)) != len(picked):
        raise VoteRefused("duplicate_choice", N_("Each option can be ticked once."), "choice")
    if vote.max_choices and len(picked) > vote.max_choices:
        raise VoteRefused("too_many", N_("Tick at most %(n)d options."), "choice", n=vote.max_choices)
    order = {k: i for i, k in enumerate(keys)}
    return ",".join(sorted(picked, key=order.__getitem__))


def selection_of(vote: Vote, key: str) -> str | list[str]:
    """A tally key back as the selection counting takes (a list for several-of)."""
    if vote.kind == Kind.SEVERAL_OF:
        return key.split(",") if key else []
    return key


def choice_text(vote: Vote, key: str) -> str:
    labels = dict(choices_of(vote))
    if vote.kind == Kind.SEVERAL_OF:
        return "、".join(labels.get(k, k) for k in key.split(",")) if key else gettext("(blank ballot)")
    return labels.get(key, key)


def needs_area(vote: Vote) -> bool:
    return vote.rule in OWNERS_RULES or vote.weighting != Weighting.HEAD


def option_ids(vote: Vote) -> list[str] | None:
    return [o["id"] for o in options_of(vote)] if vote.kind in (Kind.ONE_OF, Kind.SEVERAL_OF) else None


def voters(electors: Iterable[VoteElector], with_area: bool) -> list[Voter]:
    """The electors as counting takes them."""
    return [Voter(e.voter_key, heads=e.heads, owner=e.owner,
                  area=Fraction(e.area_centi, 100) if with_area and e.area_centi is not None else None)
            for e in electors]

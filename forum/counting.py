"""Vote counting: totals, participation and pass/fail verdicts for forum's votes, worked out exactly.

A pure module: no I/O, no database, standard library only (plus the ``N_`` marker from
``forum.i18n``). The caller gathers the eligible voters and their ballots, calls :func:`count`,
and stores or shows the :class:`Result`. Every fraction a rule compares is kept in the result with
its numerator, denominator, threshold and operator, so anyone can check the verdict by hand.

Public API
----------
``Voter(id, heads=1, area=None, owner=True)``
    One counting unit: a person, or a household when counting by household (one ballot, its whole
    floor area, ``heads=1`` however many owners live there). ``area`` is m² as ``int``, ``Decimal``
    or ``Fraction`` -- never ``float``.
``Kind``
    ``FOR_AGAINST`` (choices ``"for"``, ``"against"``, ``"abstain"``), ``ONE_OF`` and ``SEVERAL_OF``
    (choices are the caller's option ids), ``RATING`` (``"satisfied"``, ``"basically_satisfied"``,
    ``"dissatisfied"``).
``Rule``
    ``SIMPLE``, ``ABSOLUTE``, ``TWO_THIRDS``, ``THREE_QUARTERS``, ``OWNERS_ORDINARY``,
    ``OWNERS_MAJOR``, ``CONSULTATION``.
``Weighting``
    ``HEAD``, ``AREA``, ``BOTH`` -- which weights a rule compares. The owners' rules always use
    ``BOTH``, whatever the caller passes.
``count(kind, rule, voters, ballots, options=None, weighting=Weighting.HEAD, show_of_hands=None,
max_choices=None, hands_of_present=False) -> Result``
    ``ballots`` maps a voter id to a choice (``str``) or, for ``SEVERAL_OF``, a list of option ids.
    ``show_of_hands`` maps a choice to the number of hands a facilitator counted. By default the
    hands are eligible voters' without a ballot; with ``hands_of_present=True`` they are people
    present who are not among ``voters`` (not checked in), each counted as one more voter present
    who took part.
``Result``
    ``totals`` (one :class:`ChoiceTotal` per choice, by head and by area), ``participation_heads``
    and ``participation_area`` (:class:`Share`), ``comparisons`` (:class:`Comparison`), ``verdict``
    (:class:`Verdict`), ``show_of_hands``; ``Result.total(key)`` and ``Result.as_dict()`` (JSON-safe).
``CountingError(ValueError)``
    Raised before anything is counted; ``.code`` is a machine code, ``str(error)`` an English
    sentence.

Decisions
---------
* "Ballots cast" are all accepted ballots whatever they say -- abstentions included, and for
  ``SEVERAL_OF`` a blank ballot (empty list) too -- plus the show-of-hands count. So an abstention
  is neutral under ``SIMPLE`` (for > against) but weighs like "against" under ``TWO_THIRDS`` and
  ``THREE_QUARTERS`` (for >= 2/3 or 3/4 of ballots cast). That matches the owners' rules, where an
  abstaining owner took part (counts towards participation) but did not agree.
* Under the Civil Code (art. 1259) "以上" includes the number itself and "过半数" does not: so
  ">= 2/3" and ">= 3/4" but "> 1/2".
* A fraction with zero below the line meets no threshold: nobody voting fails every rule rather
  than dividing by zero or passing ``0 >= 0``.
* Pass rules only judge ``FOR_AGAINST`` votes; options and ratings are counted under
  ``CONSULTATION``, where the spread of views is the result (verdict ``NO_RULE``).
* Under the owners' rules every voter must be an owner (``owner=True``): the denominators are
  "the scope's owners" and their floor area, and silently dropping a voter would change them.
* A show of hands is counted by head only, so it is accepted only when the weighting is ``HEAD``
  (never under the owners' rules), and it is kept apart in ``ChoiceTotal.hands`` and
  ``Result.show_of_hands`` as well as added to the head totals.
* Hands of people present who are not among the voters (``hands_of_present``) count exactly as
  that many more voters, each with a ballot for the choice they raised a hand for: they add to
  the eligible heads as well as to those taking part, so no share passes 100%. Whether a vote may
  take them (a consultation, a vote of those present) is the caller's to decide; a rule that
  weighs area or counts owners refuses them, as it refuses every show of hands.
"""

from __future__ import annotations

import operator as _operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, Literal, TypeVar

from forum.i18n import N_

__all__ = [
    "ABSTAIN",
    "AGAINST",
    "BASICALLY_SATISFIED",
    "DISSATISFIED",
    "FOR",
    "RULE_LABELS",
    "SATISFIED",
    "ChoiceTotal",
    "Comparison",
    "CountingError",
    "Kind",
    "Result",
    "Rule",
    "Share",
    "Verdict",
    "Voter",
    "Weighting",
    "count",
]

VoterId = str | int
Area = int | Decimal | Fraction
Basis = Literal["head", "area"]
Operator = Literal[">", ">="]
E = TypeVar("E", bound=StrEnum)


class CountingError(ValueError):
    """A vote that cannot be counted as given; nothing was counted."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Kind(StrEnum):
    FOR_AGAINST = "for_against"
    ONE_OF = "one_of"
    SEVERAL_OF = "several_of"
    RATING = "rating"


class Rule(StrEnum):
    SIMPLE = "simple"
    ABSOLUTE = "absolute"
    TWO_THIRDS = "two_thirds"
    THREE_QUARTERS = "three_quarters"
    OWNERS_ORDINARY = "owners_ordinary"
    OWNERS_MAJOR = "owners_major"
    CONSULTATION = "consultation"


class Weighting(StrEnum):
    HEAD = "head"
    AREA = "area"
    BOTH = "both"


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NO_RULE = "no_rule"


FOR = "for"
AGAINST = "against"
ABSTAIN = "abstain"
SATISFIED = "satisfied"
BASICALLY_SATISFIED = "basically_satisfied"
DISSATISFIED = "dissatisfied"

_FIXED_CHOICES: dict[Kind, tuple[tuple[str, str], ...]] = {
    Kind.FOR_AGAINST: ((FOR, N_("For")), (AGAINST, N_("Against")), (ABSTAIN, N_("Abstain"))),
    Kind.RATING: (
        (SATISFIED, N_("Satisfied")),
        (BASICALLY_SATISFIED, N_("Basically satisfied")),
        (DISSATISFIED, N_("Dissatisfied")),
    ),
}

RULE_LABELS: dict[Rule, str] = {
    Rule.SIMPLE: N_("Simple majority"),
    Rule.ABSOLUTE: N_("Absolute majority"),
    Rule.TWO_THIRDS: N_("Two-thirds majority"),
    Rule.THREE_QUARTERS: N_("Three-quarters majority"),
    Rule.OWNERS_ORDINARY: N_("Owners' ordinary matter"),
    Rule.OWNERS_MAJOR: N_("Owners' major matter"),
    Rule.CONSULTATION: N_("Consultation"),
}

_OWNERS_RULES = frozenset({Rule.OWNERS_ORDINARY, Rule.OWNERS_MAJOR})

_LABELS: dict[str, dict[Basis, str]] = {
    "simple": {
        "head": N_("For among votes for and against"),
        "area": N_("Floor area for among floor area for and against"),
    },
    "eligible": {"head": N_("For among eligible voters"), "area": N_("Floor area for among eligible floor area")},
    "cast": {"head": N_("For among ballots cast"), "area": N_("Floor area for among floor area cast")},
    "participation": {"head": N_("Owners taking part"), "area": N_("Participating floor area")},
    "agreement": {
        "head": N_("Agreeing owners among participants"),
        "area": N_("Agreeing floor area among participants"),
    },
}

_OPERATORS = {">": _operator.gt, ">=": _operator.ge}

_HALF = Fraction(1, 2)
_TWO_THIRDS = Fraction(2, 3)
_THREE_QUARTERS = Fraction(3, 4)


@dataclass(frozen=True)
class Voter:
    """One counting unit; a household of several owners is one Voter with ``heads=1``."""

    id: VoterId
    heads: int = 1
    area: Area | None = None
    owner: bool = True


@dataclass(frozen=True)
class Share:
    """A part of a whole, kept as both numbers so it can be checked, not just as a ratio."""

    numerator: Fraction
    denominator: Fraction

    @property
    def value(self) -> Fraction | None:
        return self.numerator / self.denominator if self.denominator else None

    def as_dict(self) -> dict[str, Any]:
        return _share_dict(self.numerator, self.denominator)


@dataclass(frozen=True)
class Comparison:
    """One fraction a rule compared against its threshold: ``numerator / denominator <operator> threshold``."""

    label: str
    basis: Basis
    numerator: Fraction
    denominator: Fraction
    threshold: Fraction
    operator: Operator
    met: bool

    @property
    def value(self) -> Fraction | None:
        return self.numerator / self.denominator if self.denominator else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "basis": self.basis,
            **_share_dict(self.numerator, self.denominator),
            "threshold": _ratio(self.threshold),
            "threshold_percent": _percent(self.threshold),
            "operator": self.operator,
            "met": self.met,
        }


@dataclass(frozen=True)
class ChoiceTotal:
    """What one choice received. ``heads`` includes ``hands`` (the show-of-hands part of it).

    ``label`` is an English message id for the fixed choices (for/against/abstain, ratings) and
    ``None`` for the caller's own options, whose text the caller already has.
    """

    key: str
    label: str | None
    heads: int
    area: Fraction | None
    hands: int = 0


@dataclass(frozen=True)
class Result:
    kind: Kind
    rule: Rule
    weighting: Weighting
    totals: tuple[ChoiceTotal, ...]
    participation_heads: Share
    participation_area: Share | None
    comparisons: tuple[Comparison, ...]
    verdict: Verdict
    show_of_hands: dict[str, int] | None = None
    hands_of_present: bool = False  # the hands are people present, not checked in (not among the voters)

    @property
    def rule_label(self) -> str:
        return RULE_LABELS[self.rule]

    @property
    def cast_heads(self) -> int:
        return int(self.participation_heads.numerator)

    @property
    def cast_area(self) -> Fraction | None:
        return None if self.participation_area is None else self.participation_area.numerator

    def total(self, key: str) -> ChoiceTotal:
        for total in self.totals:
            if total.key == key:
                return total
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        """The result with only JSON-serialisable values: exact numbers as strings, percentages as floats."""
        cast_area = self.cast_area
        return {
            "kind": str(self.kind),
            "rule": str(self.rule),
            "rule_label": self.rule_label,
            "weighting": str(self.weighting),
            "verdict": str(self.verdict),
            "totals": [
                {
                    "key": t.key,
                    "label": t.label,
                    "heads": t.heads,
                    "hands": t.hands,
                    "area": None if t.area is None else _number(t.area),
                    "heads_percent": _percent(Fraction(t.heads), Fraction(self.cast_heads)),
                    "area_percent": None if t.area is None or cast_area is None else _percent(t.area, cast_area),
                }
                for t in self.totals
            ],
            "participation": {
                "heads": self.participation_heads.as_dict(),
                "area": None if self.participation_area is None else self.participation_area.as_dict(),
            },
            "comparisons": [c.as_dict() for c in self.comparisons],
            "includes_show_of_hands": self.show_of_hands is not None,
            "show_of_hands": None if self.show_of_hands is None else dict(self.show_of_hands),
            "hands_of_present": self.show_of_hands is not None and self.hands_of_present,
        }


def count(
    kind: Kind | str,
    rule: Rule | str,
    voters: Iterable[Voter],
    ballots: Mapping[VoterId, str | Sequence[str]],
    options: Sequence[str] | None = None,
    weighting: Weighting | str = Weighting.HEAD,
    show_of_hands: Mapping[str, int] | None = None,
    max_choices: int | None = None,
    hands_of_present: bool = False,
) -> Result:
    """Count a vote; raise :class:`CountingError` before counting anything if the input is unsound."""
    kind = _enum(Kind, kind, "bad_kind")
    rule = _enum(Rule, rule, "bad_rule")
    weighting = _enum(Weighting, weighting, "bad_weighting")
    if rule in _OWNERS_RULES:
        # Art. 278 always asks for both the share of owners and the share of floor area.
        weighting = Weighting.BOTH
    if rule is not Rule.CONSULTATION and kind is not Kind.FOR_AGAINST:
        raise CountingError(
            "rule_needs_for_against",
            f"Rule {rule.value!r} judges for/against votes only; count a {kind.value!r} vote as a consultation.",
        )
    needs_area = weighting is not Weighting.HEAD

    choices = _choices(kind, options)
    keys = [key for key, _ in choices]
    if max_choices is not None and (
        kind is not Kind.SEVERAL_OF
        or isinstance(max_choices, bool)
        or not isinstance(max_choices, int)
        or max_choices < 1
    ):
        raise CountingError("bad_max_choices", "max_choices is a positive whole number, for several-of-N votes only.")

    electorate = _electorate(voters, rule, needs_area)
    picked = _read_ballots(kind, ballots, electorate, set(keys), max_choices)
    if not isinstance(hands_of_present, bool):
        raise CountingError("bad_hands_of_present", f"hands_of_present is True or False, not {hands_of_present!r}.")
    hands = _read_hands(kind, weighting, show_of_hands, electorate, picked, keys, hands_of_present)

    heads_by_key = dict.fromkeys(keys, 0)
    area_by_key: dict[str, Fraction] = dict.fromkeys(keys, Fraction(0))
    for voter_id, selected in picked.items():
        voter = electorate[voter_id]
        for key in selected:
            heads_by_key[key] += voter.heads
            if needs_area:
                area_by_key[key] += _area(voter)
    for key, n in (hands or {}).items():
        heads_by_key[key] += n

    totals = tuple(
        ChoiceTotal(
            key=key,
            label=label,
            heads=heads_by_key[key],
            area=area_by_key[key] if needs_area else None,
            hands=(hands or {}).get(key, 0),
        )
        for key, label in choices
    )

    # Hands come from eligible voters without a ballot (checked in _read_hands), so they add to
    # participation by head while the eligible total stays the same.
    eligible_heads = Fraction(sum(v.heads for v in electorate.values()))
    if hands_of_present:
        # People present who are not among the voters: each hand is one more person present.
        eligible_heads += sum((hands or {}).values())
    cast_heads = Fraction(sum(electorate[i].heads for i in picked) + sum((hands or {}).values()))
    participation_heads = Share(cast_heads, eligible_heads)
    participation_area = None
    if needs_area:
        participation_area = Share(
            sum((_area(electorate[i]) for i in picked), Fraction(0)),
            sum((_area(v) for v in electorate.values()), Fraction(0)),
        )

    comparisons = _comparisons(rule, weighting, totals, participation_heads, participation_area)
    if rule is Rule.CONSULTATION:
        verdict = Verdict.NO_RULE
    else:
        verdict = Verdict.PASSED if all(c.met for c in comparisons) else Verdict.FAILED
    return Result(
        kind=kind,
        rule=rule,
        weighting=weighting,
        totals=totals,
        participation_heads=participation_heads,
        participation_area=participation_area,
        comparisons=comparisons,
        verdict=verdict,
        show_of_hands=hands,
        hands_of_present=bool(hands_of_present and hands is not None),
    )


def _enum(cls: type[E], value: E | str, code: str) -> E:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise CountingError(code, f"Unknown {cls.__name__.lower()} {value!r}; expected one of {allowed}.") from None


def _choices(kind: Kind, options: Sequence[str] | None) -> list[tuple[str, str | None]]:
    if kind in _FIXED_CHOICES:
        if options is not None:
            raise CountingError(
                "options_not_expected", f"A {kind.value!r} vote has fixed choices; do not pass options."
            )
        return list(_FIXED_CHOICES[kind])
    if options is None or isinstance(options, str) or len(options) < 2:
        raise CountingError("too_few_options", f"A {kind.value!r} vote needs a list of at least two option ids.")
    seen: set[str] = set()
    for option in options:
        if not isinstance(option, str) or not option:
            raise CountingError("bad_option", f"Option ids are non-empty strings, not {option!r}.")
        if option in seen:
            raise CountingError("duplicate_option", f"Option {option!r} is listed twice.")
        seen.add(option)
    return [(option, None) for option in options]


def _electorate(voters: Iterable[Voter], rule: Rule, needs_area: bool) -> dict[VoterId, Voter]:
    electorate: dict[VoterId, Voter] = {}
    for voter in voters:
        if voter.id in electorate:
            raise CountingError("duplicate_voter", f"Voter {voter.id!r} is listed twice among the eligible voters.")
        if isinstance(voter.heads, bool) or not isinstance(voter.heads, int) or voter.heads < 1:
            raise CountingError("bad_heads", f"Voter {voter.id!r} has heads={voter.heads!r}; use a positive integer.")
        if voter.area is not None:
            _check_area_value(voter)
        if needs_area:
            if voter.area is None:
                raise CountingError(
                    "missing_area", f"Voter {voter.id!r} has no floor area, and this count weighs floor area."
                )
            if voter.area == 0:
                raise CountingError(
                    "zero_area", f"Voter {voter.id!r} has a floor area of zero, and this count weighs floor area."
                )
        if rule in _OWNERS_RULES and not voter.owner:
            raise CountingError(
                "not_owner",
                f"Voter {voter.id!r} is not an owner; the owners' rules count owners only, so leave them out of "
                "the scope.",
            )
        electorate[voter.id] = voter
    if not electorate:
        raise CountingError("no_voters", "Nobody is eligible; a vote needs at least one eligible voter.")
    return electorate


def _check_area_value(voter: Voter) -> None:
    area = voter.area
    # Floats are refused even though Fraction could take them: 0.1 m² is not 0.1 in binary, and an
    # exact boundary must not depend on rounding that happened before we saw the number.
    if isinstance(area, bool) or not isinstance(area, int | Decimal | Fraction):
        raise CountingError(
            "bad_area", f"Voter {voter.id!r} has floor area {area!r}; use int, Decimal or Fraction (not float)."
        )
    if isinstance(area, Decimal) and not area.is_finite():
        raise CountingError("bad_area", f"Voter {voter.id!r} has floor area {area!r}, which is not a number.")
    if area < 0:
        raise CountingError("bad_area", f"Voter {voter.id!r} has a negative floor area ({area}).")


def _area(voter: Voter) -> Fraction:
    assert voter.area is not None  # _electorate refused missing areas wherever area is weighed
    return Fraction(voter.area)


def _read_ballots(
    kind: Kind,
    ballots: Mapping[VoterId, str | Sequence[str]],
    electorate: Mapping[VoterId, Voter],
    keys: set[str],
    max_choices: int | None,
) -> dict[VoterId, tuple[str, ...]]:
    picked: dict[VoterId, tuple[str, ...]] = {}
    for voter_id, ballot in ballots.items():
        if voter_id not in electorate:
            raise CountingError("ineligible_voter", f"A ballot came from {voter_id!r}, who is not an eligible voter.")
        if isinstance(ballot, str):
            selected: tuple[Any, ...] = (ballot,)
        elif isinstance(ballot, list | tuple | set | frozenset):
            selected = tuple(ballot)
        else:
            raise CountingError(
                "bad_ballot", f"The ballot of {voter_id!r} is {ballot!r}; expected a choice or a list of choices."
            )
        if kind is not Kind.SEVERAL_OF:
            if len(selected) > 1:
                raise CountingError(
                    "several_choices", f"The ballot of {voter_id!r} has {len(selected)} choices; this vote takes one."
                )
            if not selected:
                raise CountingError("empty_ballot", f"The ballot of {voter_id!r} has no choice; this vote takes one.")
        for choice in selected:
            if choice not in keys:
                raise CountingError(
                    "unknown_choice",
                    f"The ballot of {voter_id!r} chooses {choice!r}, which is not a choice of this vote.",
                )
        if len(set(selected)) != len(selected):
            raise CountingError("duplicate_choice", f"The ballot of {voter_id!r} names the same option twice.")
        if max_choices is not None and len(selected) > max_choices:
            raise CountingError(
                "too_many_choices",
                f"The ballot of {voter_id!r} has {len(selected)} choices; at most {max_choices} are allowed.",
            )
        picked[voter_id] = selected
    return picked


def _read_hands(
    kind: Kind,
    weighting: Weighting,
    show_of_hands: Mapping[str, int] | None,
    electorate: Mapping[VoterId, Voter],
    picked: Mapping[VoterId, tuple[str, ...]],
    keys: list[str],
    of_present: bool = False,
) -> dict[str, int] | None:
    if show_of_hands is None:
        return None
    if weighting is not Weighting.HEAD:
        raise CountingError(
            "hands_need_head_count",
            "A show of hands is counted by head only; it cannot be used when floor area is weighed.",
        )
    if kind is Kind.SEVERAL_OF:
        # One person may raise a hand for several options, so per-option counts cannot say how
        # many people took part.
        raise CountingError("hands_several_of", "A show of hands cannot be entered for a several-of-N vote.")
    hands = dict.fromkeys(keys, 0)
    for key, n in show_of_hands.items():
        if key not in hands:
            raise CountingError(
                "unknown_choice", f"The show of hands names {key!r}, which is not a choice of this vote."
            )
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise CountingError("bad_hands", f"The show of hands for {key!r} is {n!r}; use a whole number >= 0.")
        hands[key] = n
    if of_present:
        return hands  # people not among the voters: they add to the eligible as well (see count)
    # The hands belong to eligible voters without a ballot; more hands than such voters means
    # someone was counted twice or is not eligible, and would push participation past 100%.
    room = sum(v.heads for i, v in electorate.items() if i not in picked)
    raised = sum(hands.values())
    if raised > room:
        raise CountingError(
            "too_many_hands",
            f"The show of hands counts {raised}, but only {room} eligible voters have not voted by ballot.",
        )
    return hands


def _comparisons(
    rule: Rule,
    weighting: Weighting,
    totals: tuple[ChoiceTotal, ...],
    participation_heads: Share,
    participation_area: Share | None,
) -> tuple[Comparison, ...]:
    if rule is Rule.CONSULTATION:
        return ()
    by_key = {t.key: t for t in totals}

    def weight(key: str, basis: Basis) -> Fraction:
        total = by_key[key]
        if basis == "head":
            return Fraction(total.heads)
        assert total.area is not None
        return total.area

    bases: list[Basis] = {
        Weighting.HEAD: ["head"],
        Weighting.AREA: ["area"],
        Weighting.BOTH: ["head", "area"],
    }[weighting]
    shares = {"head": participation_heads, "area": participation_area}
    out: list[Comparison] = []
    if rule in _OWNERS_RULES:
        # Participation first (owners holding >= 2/3 of the area and >= 2/3 of the owners took
        # part), then agreement among participants. Area before head, as art. 278 words it.
        owners_bases: tuple[Basis, Basis] = ("area", "head")
        threshold, op = (_THREE_QUARTERS, ">=") if rule is Rule.OWNERS_MAJOR else (_HALF, ">")
        for basis in owners_bases:
            share = shares[basis]
            assert share is not None
            out.append(
                _compare(_LABELS["participation"][basis], basis, share.numerator, share.denominator, _TWO_THIRDS, ">=")
            )
        for basis in owners_bases:
            share = shares[basis]
            assert share is not None
            out.append(_compare(_LABELS["agreement"][basis], basis, weight(FOR, basis), share.numerator, threshold, op))
        return tuple(out)
    for basis in bases:
        share = shares[basis]
        assert share is not None
        in_favour = weight(FOR, basis)
        if rule is Rule.SIMPLE:
            # for > against  <=>  for / (for + against) > 1/2; abstentions do not move either side.
            out.append(
                _compare(_LABELS["simple"][basis], basis, in_favour, in_favour + weight(AGAINST, basis), _HALF, ">")
            )
        elif rule is Rule.ABSOLUTE:
            out.append(_compare(_LABELS["eligible"][basis], basis, in_favour, share.denominator, _HALF, ">"))
        else:
            threshold = _TWO_THIRDS if rule is Rule.TWO_THIRDS else _THREE_QUARTERS
            out.append(_compare(_LABELS["cast"][basis], basis, in_favour, share.numerator, threshold, ">="))
    return tuple(out)


def _compare(
    label: str, basis: Basis, numerator: Fraction, denominator: Fraction, threshold: Fraction, op: Operator
) -> Comparison:
    # Nothing below the line meets no threshold; otherwise ">=" would pass 0/0 against any threshold.
    met = denominator > 0 and _OPERATORS[op](numerator / denominator, threshold)
    return Comparison(label, basis, Fraction(numerator), Fraction(denominator), threshold, op, met)


def _share_dict(numerator: Fraction, denominator: Fraction) -> dict[str, Any]:
    value = numerator / denominator if denominator else None
    return {
        "numerator": _number(numerator),
        "denominator": _number(denominator),
        "value": None if value is None else _ratio(value),
        "percent": None if value is None else _percent(value),
    }


def _ratio(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _percent(numerator: Fraction, denominator: Fraction = Fraction(1)) -> float | None:
    # Display only; every decision above was taken on the exact fractions.
    if not denominator:
        return None
    return round(float(numerator * 100 / denominator), 2)


def _number(value: Fraction) -> str:
    """An exact quantity as text: "12", "89.37" when the decimal expansion ends, else "n/d"."""
    value = Fraction(value)
    d = value.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return _ratio(value)
    places = max(twos, fives)
    digits = value.numerator * 10**places // value.denominator
    return format(Decimal(digits).scaleb(-places), "f")

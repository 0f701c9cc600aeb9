"""Tests for forum.counting: every rule at and around its boundaries, refusals, and invariants."""

from __future__ import annotations

import json
import operator
import random
from decimal import Decimal as D
from fractions import Fraction as F
from pathlib import Path

import pytest

from forum import counting
from forum.counting import (
    ABSTAIN,
    AGAINST,
    BASICALLY_SATISFIED,
    DISSATISFIED,
    FOR,
    RULE_LABELS,
    SATISFIED,
    ChoiceTotal,
    Comparison,
    CountingError,
    Kind,
    Result,
    Rule,
    Share,
    Verdict,
    Voter,
    Weighting,
    count,
)

PASSED, FAILED, NO_RULE = Verdict.PASSED, Verdict.FAILED, Verdict.NO_RULE
ALL_RULES = list(Rule)
PASS_RULES = [r for r in Rule if r is not Rule.CONSULTATION]
OWNERS_RULES = [Rule.OWNERS_ORDINARY, Rule.OWNERS_MAJOR]


# --- helpers -------------------------------------------------------------------------------------


def electorate(n_for: int, n_against: int = 0, n_abstain: int = 0, n_absent: int = 0, area: D | None = None):
    """People p0..pN (each with the same area, if given) and their ballots, in the order given."""
    choices = [FOR] * n_for + [AGAINST] * n_against + [ABSTAIN] * n_abstain + [None] * n_absent
    voters = [Voter(f"p{i}", area=area) for i in range(len(choices))]
    ballots = {f"p{i}": c for i, c in enumerate(choices) if c is not None}
    return voters, ballots


def owners(areas: list[int | str], ballots: dict[int, str]):
    """Owners o0..oN with the given floor areas (m²); ballots keyed by index."""
    voters = [Voter(f"o{i}", area=D(str(a))) for i, a in enumerate(areas)]
    return voters, {f"o{i}": c for i, c in ballots.items()}


def refused(code: str, *args, **kwargs) -> CountingError:
    with pytest.raises(CountingError) as caught:
        count(*args, **kwargs)
    assert caught.value.code == code, str(caught.value)
    return caught.value


def only(result: Result) -> Comparison:
    assert len(result.comparisons) == 1
    return result.comparisons[0]


# --- head-count rules at and around their boundaries ----------------------------------------------


@pytest.mark.parametrize(
    ("rule", "n_for", "n_against", "n_abstain", "n_absent", "verdict", "numerator", "denominator"),
    [
        # SIMPLE: for > against among ballots cast; compared as for / (for + against) > 1/2.
        (Rule.SIMPLE, 1, 0, 0, 0, PASSED, 1, 1),
        (Rule.SIMPLE, 6, 5, 0, 0, PASSED, 6, 11),  # one vote over
        (Rule.SIMPLE, 5, 5, 0, 0, FAILED, 5, 10),  # tie: exactly 1/2 is not more than half
        (Rule.SIMPLE, 1, 1, 0, 3, FAILED, 1, 2),  # tie with people absent
        (Rule.SIMPLE, 5, 6, 0, 0, FAILED, 5, 11),  # one vote under
        (Rule.SIMPLE, 2, 1, 7, 0, PASSED, 2, 3),  # abstentions do not move for vs against
        (Rule.SIMPLE, 0, 0, 4, 0, FAILED, 0, 0),  # everyone abstains: nothing below the line
        (Rule.SIMPLE, 0, 0, 0, 5, FAILED, 0, 0),  # nobody votes
        # ABSOLUTE: for > half of eligible voters (absent and abstaining people weigh against).
        (Rule.ABSOLUTE, 6, 0, 0, 4, PASSED, 6, 10),
        (Rule.ABSOLUTE, 5, 0, 0, 5, FAILED, 5, 10),  # exactly half
        (Rule.ABSOLUTE, 5, 0, 5, 0, FAILED, 5, 10),  # exactly half, the rest abstain
        (Rule.ABSOLUTE, 11, 3, 2, 5, PASSED, 11, 21),  # one over half of 21
        (Rule.ABSOLUTE, 10, 0, 0, 11, FAILED, 10, 21),  # one under
        (Rule.ABSOLUTE, 3, 0, 0, 0, PASSED, 3, 3),
        (Rule.ABSOLUTE, 0, 0, 0, 4, FAILED, 0, 4),
        # TWO_THIRDS: for >= 2/3 of ballots cast, abstentions cast.
        (Rule.TWO_THIRDS, 2, 1, 0, 0, PASSED, 2, 3),  # exactly 2/3
        (Rule.TWO_THIRDS, 2, 0, 1, 0, PASSED, 2, 3),  # exactly 2/3, the third abstains
        (Rule.TWO_THIRDS, 200, 100, 0, 9, PASSED, 200, 300),  # exactly 2/3
        (Rule.TWO_THIRDS, 199, 101, 0, 0, FAILED, 199, 300),  # one vote under
        (Rule.TWO_THIRDS, 199, 100, 1, 0, FAILED, 199, 300),  # one abstention under
        (Rule.TWO_THIRDS, 201, 99, 0, 0, PASSED, 201, 300),  # one vote over
        (Rule.TWO_THIRDS, 2, 1, 1, 0, FAILED, 2, 4),  # an abstention tips it
        (Rule.TWO_THIRDS, 1, 0, 0, 10, PASSED, 1, 1),  # of ballots cast, not of eligible
        (Rule.TWO_THIRDS, 0, 0, 0, 3, FAILED, 0, 0),  # nobody votes: 0/0 is not >= 2/3
        # THREE_QUARTERS: for >= 3/4 of ballots cast.
        (Rule.THREE_QUARTERS, 3, 1, 0, 0, PASSED, 3, 4),  # exactly 3/4
        (Rule.THREE_QUARTERS, 3, 0, 1, 0, PASSED, 3, 4),  # exactly 3/4, one abstains
        (Rule.THREE_QUARTERS, 300, 100, 0, 0, PASSED, 300, 400),
        (Rule.THREE_QUARTERS, 299, 101, 0, 0, FAILED, 299, 400),  # one vote under
        (Rule.THREE_QUARTERS, 2, 1, 0, 0, FAILED, 2, 3),  # 2/3 is not enough
        (Rule.THREE_QUARTERS, 5, 2, 0, 0, FAILED, 5, 7),
        (Rule.THREE_QUARTERS, 6, 2, 0, 0, PASSED, 6, 8),
        (Rule.THREE_QUARTERS, 0, 0, 0, 1, FAILED, 0, 0),
    ],
)
def test_head_rules_at_their_boundaries(rule, n_for, n_against, n_abstain, n_absent, verdict, numerator, denominator):
    voters, ballots = electorate(n_for, n_against, n_abstain, n_absent)
    result = count(Kind.FOR_AGAINST, rule, voters, ballots)
    assert result.verdict is verdict
    comparison = only(result)
    assert (comparison.numerator, comparison.denominator) == (numerator, denominator)
    assert comparison.basis == "head"
    assert comparison.met is (verdict is PASSED)
    assert result.weighting is Weighting.HEAD
    assert result.participation_area is None
    assert result.participation_heads == Share(F(n_for + n_against + n_abstain), F(len(voters)))


@pytest.mark.parametrize(
    ("rule", "threshold", "operator_", "label"),
    [
        (Rule.SIMPLE, F(1, 2), ">", "For among votes for and against"),
        (Rule.ABSOLUTE, F(1, 2), ">", "For among eligible voters"),
        (Rule.TWO_THIRDS, F(2, 3), ">=", "For among ballots cast"),
        (Rule.THREE_QUARTERS, F(3, 4), ">=", "For among ballots cast"),
    ],
)
def test_each_rule_states_its_threshold_and_operator(rule, threshold, operator_, label):
    voters, ballots = electorate(3, 1)
    comparison = only(count(Kind.FOR_AGAINST, rule, voters, ballots))
    assert comparison.threshold == threshold
    assert isinstance(comparison.threshold, F)
    assert comparison.operator == operator_
    assert comparison.label == label


# --- floor-area weighting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "areas_for", "areas_against", "areas_abstain", "areas_absent", "verdict"),
    [
        (Rule.SIMPLE, ["100.01"], ["100"], [], [], PASSED),
        (Rule.SIMPLE, ["100"], ["100"], ["500"], [], FAILED),  # tie by area
        # 60.1 + 60.2 == 120.3 exactly; in floats the left side is 120.30000000000001 and would win.
        (Rule.SIMPLE, ["60.1", "60.2"], ["120.3"], [], [], FAILED),
        (Rule.ABSOLUTE, ["50.01"], [], [], ["50"], PASSED),
        (Rule.ABSOLUTE, ["50"], [], ["20"], ["30"], FAILED),  # exactly half of eligible area
        (Rule.TWO_THIRDS, ["120.50", "79.50"], ["100"], [], [], PASSED),  # 200 / 300 exactly
        (Rule.TWO_THIRDS, ["200"], [], ["100"], [], PASSED),  # 200 / 300 exactly, abstention cast
        (Rule.TWO_THIRDS, ["199.99"], ["100.01"], [], [], FAILED),  # 0.01 m² under
        (Rule.TWO_THIRDS, ["200"], ["100"], ["0.01"], [], FAILED),  # an abstaining 0.01 m² tips it
        (Rule.THREE_QUARTERS, ["150", "150"], ["100"], [], ["999"], PASSED),  # 300 / 400 exactly
        (Rule.THREE_QUARTERS, ["299.99"], ["100.01"], [], [], FAILED),
    ],
)
def test_area_rules_at_their_boundaries(rule, areas_for, areas_against, areas_abstain, areas_absent, verdict):
    voters, ballots = [], {}
    for choice, areas in ((FOR, areas_for), (AGAINST, areas_against), (ABSTAIN, areas_abstain), (None, areas_absent)):
        for area in areas:
            voter_id = f"v{len(voters)}"
            voters.append(Voter(voter_id, area=D(area)))
            if choice is not None:
                ballots[voter_id] = choice
    result = count(Kind.FOR_AGAINST, rule, voters, ballots, weighting=Weighting.AREA)
    assert result.verdict is verdict
    comparison = only(result)
    assert comparison.basis == "area"
    assert comparison.numerator == sum((F(a) for a in areas_for), F(0))
    assert result.total(FOR).area == sum((F(a) for a in areas_for), F(0))
    assert result.participation_area.denominator == sum(
        (F(a) for a in areas_for + areas_against + areas_abstain + areas_absent), F(0)
    )


def test_area_labels_differ_from_head_labels():
    voters, ballots = electorate(2, 1, area=D("80"))
    for rule in (Rule.SIMPLE, Rule.ABSOLUTE, Rule.TWO_THIRDS):
        result = count(Kind.FOR_AGAINST, rule, voters, ballots, weighting=Weighting.BOTH)
        head, area = result.comparisons
        assert (head.basis, area.basis) == ("head", "area")
        assert head.label != area.label
        assert "area" in area.label.lower()


@pytest.mark.parametrize(
    ("rule", "heads_met", "area_met", "verdict"),
    [
        # 3 small flats for (3 × 50 m²), 1 large flat against (250 m²):
        # by head for wins 3 to 1; by area against wins 250 to 150.
        (Rule.SIMPLE, True, False, FAILED),  # head 3/4 > 1/2, area 150/400 not > 1/2
        (Rule.ABSOLUTE, True, False, FAILED),  # head 3/4, area 150/400
        (Rule.TWO_THIRDS, True, False, FAILED),  # head 3/4 >= 2/3, area 3/8
        (Rule.THREE_QUARTERS, True, False, FAILED),  # head exactly 3/4, area 3/8
    ],
)
def test_both_weightings_must_hold(rule, heads_met, area_met, verdict):
    voters = [Voter("a", area=50), Voter("b", area=50), Voter("c", area=50), Voter("d", area=250)]
    ballots = {"a": FOR, "b": FOR, "c": FOR, "d": AGAINST}
    both = count(Kind.FOR_AGAINST, rule, voters, ballots, weighting=Weighting.BOTH)
    assert [c.met for c in both.comparisons] == [heads_met, area_met]
    assert both.verdict is verdict
    assert count(Kind.FOR_AGAINST, rule, voters, ballots, weighting=Weighting.HEAD).verdict is PASSED
    assert count(Kind.FOR_AGAINST, rule, voters, ballots, weighting=Weighting.AREA).verdict is FAILED


def test_area_given_but_not_weighed_is_not_reported():
    voters, ballots = electorate(2, 1, area=D("70"))
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, ballots)
    assert result.participation_area is None
    assert all(t.area is None for t in result.totals)


def test_area_accepts_int_decimal_and_fraction_exactly():
    voters = [Voter("a", area=100), Voter("b", area=D("33.33")), Voter("c", area=F(200, 3))]
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, {"a": FOR, "b": FOR, "c": AGAINST}, weighting="area")
    assert result.total(FOR).area == F(13333, 100)
    assert result.total(AGAINST).area == F(200, 3)
    assert result.participation_area == Share(F(13333, 100) + F(200, 3), F(13333, 100) + F(200, 3))
    assert result.verdict is PASSED


# --- owners' rules (Civil Code art. 278) -----------------------------------------------------------

# Order of the comparisons: participating area, owners taking part, agreeing area, agreeing owners.
OWNERS_LABELS = [
    "Participating floor area",
    "Owners taking part",
    "Agreeing floor area among participants",
    "Agreeing owners among participants",
]


@pytest.mark.parametrize(
    ("rule", "areas", "votes", "met", "verdict"),
    [
        # votes: one letter per owner -- f for, a against, x abstain, . did not vote.
        # met: the four comparisons in order (participating area, owners taking part, agreeing
        # area, agreeing owners), T met / F not met.
        # 6 × 100 m², 4 take part (exactly 2/3 of owners and of area), 3 of them agree (3/4 on both).
        (Rule.OWNERS_ORDINARY, [100] * 6, "fffa..", "TTTT", PASSED),
        # Only 3 of 6 take part: 1/2 < 2/3 on both; agreement 2/3 does not save it.
        (Rule.OWNERS_ORDINARY, [100] * 6, "ffa...", "FFTT", FAILED),
        # Area one square metre short: 400 / 601 < 2/3 (400.67); owners 4/6 fine.
        (Rule.OWNERS_ORDINARY, [100, 100, 100, 100, 100, 101], "ffff..", "FTTT", FAILED),
        # Owners short, area exactly 2/3: 600 / 900 m² but 3/6 owners.
        (Rule.OWNERS_ORDINARY, [400, 100, 100, 100, 100, 100], "fff...", "TFTT", FAILED),
        # Agreeing area exactly half (300 / 600) is not more than half; owners 3/4 are.
        (Rule.OWNERS_ORDINARY, [300, 100, 100, 100], "afff", "TTFT", FAILED),
        # Agreeing owners exactly half (2/4) is not more than half; area 400 / 600 is.
        (Rule.OWNERS_ORDINARY, [300, 100, 100, 100], "ffaa", "TTTF", FAILED),
        # Just over half on both: 301 / 600 m² and 3 of 5 owners.
        (Rule.OWNERS_ORDINARY, [100, 100, 101, 150, 149], "fffaa", "TTTT", PASSED),
        # Abstainers took part (participation 4/6 met) but did not agree (2/4 is not > 1/2).
        (Rule.OWNERS_ORDINARY, [100] * 6, "ffxx..", "TTFF", FAILED),
        # 3/5 = 60% agree: enough for an ordinary matter, not for a major one.
        (Rule.OWNERS_ORDINARY, [100] * 5, "fffaa", "TTTT", PASSED),
        (Rule.OWNERS_MAJOR, [100] * 5, "fffaa", "TTFF", FAILED),
        # Major matter: exactly 3/4 of participating owners and area agree.
        (Rule.OWNERS_MAJOR, [100] * 4, "fffa", "TTTT", PASSED),
        (Rule.OWNERS_MAJOR, [150, 100, 50, 100], "fffa", "TTTT", PASSED),  # 300 / 400 m²
        # Same owners, a bigger flat against: area 250 / 400 < 3/4, owners still 3/4.
        (Rule.OWNERS_MAJOR, [150, 100, 50, 100], "afff", "TTFT", FAILED),
        # One under: 5 of 7 participants agree (5/7 < 3/4); one owner of 8 away.
        (Rule.OWNERS_MAJOR, [100] * 8, "fffffaa.", "TTFF", FAILED),
        # Exactly 2/3 of the area (600 / 900) and 6 of 8 owners take part; all of them agree.
        (Rule.OWNERS_MAJOR, [100] * 6 + [150] * 2, "ffffff..", "TTTT", PASSED),
        # An abstention counts as taking part and weighs against: 3 for, 1 abstain = 3/4 exactly.
        (Rule.OWNERS_MAJOR, [100] * 4, "fffx", "TTTT", PASSED),
        (Rule.OWNERS_MAJOR, [100] * 5, "fffxa", "TTFF", FAILED),
        # Nobody took part: every comparison fails, none divides by zero.
        (Rule.OWNERS_MAJOR, [100] * 3, "...", "FFFF", FAILED),
    ],
)
def test_owners_rules_at_their_boundaries(rule, areas, votes, met, verdict):
    letters = {"f": FOR, "a": AGAINST, "x": ABSTAIN}
    voters, ballots = owners(areas, {i: letters[v] for i, v in enumerate(votes) if v != "."})
    result = count(Kind.FOR_AGAINST, rule, voters, ballots)
    assert [c.label for c in result.comparisons] == OWNERS_LABELS
    assert [c.basis for c in result.comparisons] == ["area", "head", "area", "head"]
    assert "".join("T" if c.met else "F" for c in result.comparisons) == met
    assert result.verdict is verdict
    agreement = F(3, 4) if rule is Rule.OWNERS_MAJOR else F(1, 2)
    assert [c.threshold for c in result.comparisons] == [F(2, 3), F(2, 3), agreement, agreement]
    agreement_operator = ">=" if rule is Rule.OWNERS_MAJOR else ">"  # "以上" includes the number; "过半数" does not
    assert [c.operator for c in result.comparisons] == [">=", ">=", agreement_operator, agreement_operator]
    # The participation comparisons are the participation shares; agreement is over participants.
    part_area, part_heads, agree_area, agree_heads = result.comparisons
    assert (part_area.numerator, part_area.denominator) == (
        result.participation_area.numerator,
        result.participation_area.denominator,
    )
    assert (part_heads.numerator, part_heads.denominator) == (
        result.participation_heads.numerator,
        result.participation_heads.denominator,
    )
    assert agree_area.denominator == part_area.numerator
    assert agree_heads.denominator == part_heads.numerator
    assert agree_heads.numerator == result.total(FOR).heads
    assert agree_area.numerator == result.total(FOR).area


@pytest.mark.parametrize("rule", OWNERS_RULES)
@pytest.mark.parametrize("asked", list(Weighting))
def test_owners_rules_always_weigh_head_and_area(rule, asked):
    voters, ballots = owners([90, 110], {0: FOR, 1: FOR})
    result = count(Kind.FOR_AGAINST, rule, voters, ballots, weighting=asked)
    assert result.weighting is Weighting.BOTH
    assert result.participation_area == Share(F(200), F(200))
    assert result.verdict is PASSED
    refused("missing_area", Kind.FOR_AGAINST, rule, [Voter("x")], {"x": FOR}, weighting=asked)


@pytest.mark.parametrize("rule", OWNERS_RULES)
def test_owners_rules_refuse_a_non_owner_in_the_scope(rule):
    voters = [Voter("owner", area=80), Voter("tenant", area=80, owner=False)]
    error = refused("not_owner", Kind.FOR_AGAINST, rule, voters, {"owner": FOR})
    assert "'tenant'" in str(error)


def test_other_rules_ignore_the_owner_flag():
    voters = [Voter("owner", area=80), Voter("tenant", area=80, owner=False)]
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, {"owner": FOR, "tenant": FOR}, weighting=Weighting.BOTH)
    assert result.verdict is PASSED


def test_lift_installation_in_a_stairwell_of_twelve_households():
    """Building 5, Unit 2: six floors, two flats a floor; installing a lift is a major matter (art. 278 item 8).

    Floor areas (m²) and ballots:
        101  68.40 against     102  92.15 abstain
        201  68.40 (away)      202  92.15 for
        301  75.60 for         302  98.75 for
        401  75.60 for         402  98.75 for
        501  82.30 for         502 105.20 for
        601  82.30 for         602 120.10 for

    Scope: 12 owners; area 2 × (68.40 + 92.15 + 75.60 + 98.75 + 82.30) + 105.20 + 120.10
           = 2 × 417.20 + 225.30 = 1059.70 m².
    Taking part: 11 owners (all but 201); area 1059.70 − 68.40 = 991.30 m².
        owners   11 / 12                          = 0.9167 >= 2/3  met
        area     991.30 / 1059.70 = 9913 / 10597  = 0.9355 >= 2/3  met
    Agreeing: 9 owners (all but 101, 102, 201); area 991.30 − 68.40 − 92.15 = 830.75 m².
        owners   9 / 11                           = 0.8182 >= 3/4  met
        area     830.75 / 991.30 = 16615 / 19826  = 0.8380 >= 3/4  met
    Verdict: passed.
    """
    areas = {
        "101": "68.40", "102": "92.15", "201": "68.40", "202": "92.15", "301": "75.60", "302": "98.75",
        "401": "75.60", "402": "98.75", "501": "82.30", "502": "105.20", "601": "82.30", "602": "120.10",
    }  # fmt: skip
    voters = [Voter(room, area=D(area)) for room, area in areas.items()]
    ballots = {room: FOR for room in areas if room not in {"101", "102", "201"}}
    ballots |= {"101": AGAINST, "102": ABSTAIN}

    result = count(Kind.FOR_AGAINST, Rule.OWNERS_MAJOR, voters, ballots)

    part_area, part_heads, agree_area, agree_heads = result.comparisons
    assert (part_area.numerator, part_area.denominator) == (D("991.30"), D("1059.70"))
    assert part_area.value == F(9913, 10597)
    assert (part_heads.numerator, part_heads.denominator) == (11, 12)
    assert (agree_area.numerator, agree_area.denominator) == (D("830.75"), D("991.30"))
    assert agree_area.value == F(16615, 19826)
    assert (agree_heads.numerator, agree_heads.denominator) == (9, 11)
    assert all(c.met for c in result.comparisons)
    assert result.verdict is PASSED

    assert [(t.key, t.heads, t.area) for t in result.totals] == [
        (FOR, 9, F("830.75")),
        (AGAINST, 1, F("68.40")),
        (ABSTAIN, 1, F("92.15")),
    ]
    assert result.participation_heads == Share(F(11), F(12))
    assert result.participation_area == Share(F("991.30"), F("1059.70"))

    data = result.as_dict()
    assert data["comparisons"][0] | {} == {
        "label": "Participating floor area",
        "basis": "area",
        "numerator": "991.3",
        "denominator": "1059.7",
        "value": "9913/10597",
        "percent": 93.55,
        "threshold": "2/3",
        "threshold_percent": 66.67,
        "operator": ">=",
        "met": True,
    }


@pytest.mark.parametrize(
    ("against", "agree_area", "met", "verdict"),
    [
        # Everyone votes; 9 of 12 for is exactly 3/4 of owners. What decides is whose flats say no.
        # The three lowest flats against (101, 102, 201: 68.40 + 92.15 + 68.40 = 228.95 m²):
        # agreeing area 1059.70 − 228.95 = 830.75; 830.75 / 1059.70 = 0.7839 >= 3/4.
        ({"101", "102", "201"}, "830.75", [True, True, True, True], PASSED),
        # The three largest flats against (602, 502, 402: 120.10 + 105.20 + 98.75 = 324.05 m²):
        # agreeing area 1059.70 − 324.05 = 735.65; 735.65 / 1059.70 = 0.6942 < 3/4.
        ({"602", "502", "402"}, "735.65", [True, True, False, True], FAILED),
    ],
)
def test_lift_installation_everyone_votes(against, agree_area, met, verdict):
    areas = {
        "101": "68.40", "102": "92.15", "201": "68.40", "202": "92.15", "301": "75.60", "302": "98.75",
        "401": "75.60", "402": "98.75", "501": "82.30", "502": "105.20", "601": "82.30", "602": "120.10",
    }  # fmt: skip
    voters = [Voter(room, area=D(area)) for room, area in areas.items()]
    ballots = {room: AGAINST if room in against else FOR for room in areas}
    result = count(Kind.FOR_AGAINST, Rule.OWNERS_MAJOR, voters, ballots)
    part_area, part_heads, agree_area_cmp, agree_heads = result.comparisons
    assert (part_area.numerator, part_area.denominator) == (F("1059.70"), F("1059.70"))
    assert (part_heads.numerator, part_heads.denominator) == (12, 12)
    assert agree_area_cmp.numerator == F(agree_area)
    assert agree_heads.value == F(3, 4)
    assert [c.met for c in result.comparisons] == met
    assert result.verdict is verdict


# --- households -----------------------------------------------------------------------------------


def test_two_owners_of_one_household_count_once():
    # Room 301 belongs to Wang and Li together (120 m²); 302 to Zhao (80 m²); 303 to Sun (100 m²).
    # Counting by household, 301 is one voter with one ballot and its whole area.
    households = [Voter("301", area=D("120")), Voter("302", area=D("80")), Voter("303", area=D("100"))]
    result = count(Kind.FOR_AGAINST, Rule.OWNERS_ORDINARY, households, {"301": FOR, "302": AGAINST})
    part_area, part_heads, agree_area, agree_heads = result.comparisons
    assert (part_heads.numerator, part_heads.denominator) == (2, 3)  # two households of three took part
    assert (part_area.numerator, part_area.denominator) == (200, 300)
    assert (agree_heads.numerator, agree_heads.denominator) == (1, 2)  # 301 counts once: 1 of 2, not 2 of 3
    assert (agree_area.numerator, agree_area.denominator) == (120, 200)
    assert result.total(FOR) == ChoiceTotal(FOR, "For", heads=1, area=F(120))
    assert result.verdict is FAILED  # 1/2 of participating households is not more than half

    # Had Wang and Li been counted as two people the owners' share would read 2/3 and pass.
    people = [Voter("wang", area=D("60")), Voter("li", area=D("60"))] + households[1:]
    wrong = count(Kind.FOR_AGAINST, Rule.OWNERS_ORDINARY, people, {"wang": FOR, "li": FOR, "302": AGAINST})
    assert wrong.comparisons[3].value == F(2, 3)
    assert wrong.verdict is PASSED

    # The household votes under its own id; a second ballot from an owner's personal id is refused.
    refused("ineligible_voter", Kind.FOR_AGAINST, Rule.OWNERS_ORDINARY, households, {"301": FOR, "li": AGAINST})


def test_a_voter_can_carry_several_heads():
    voters = [Voter("family", heads=3), Voter("single")]
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, {"family": FOR, "single": AGAINST})
    assert result.total(FOR).heads == 3
    assert result.participation_heads == Share(F(4), F(4))
    assert only(result).value == F(3, 4)


# --- nobody voting, ties --------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ALL_RULES)
@pytest.mark.parametrize("weighting", list(Weighting))
def test_nobody_voting(rule, weighting):
    voters = [Voter(f"v{i}", area=D("75.5")) for i in range(5)]
    result = count(Kind.FOR_AGAINST, rule, voters, {}, weighting=weighting)
    assert result.participation_heads.value == 0
    assert result.participation_heads.denominator == 5
    if result.participation_area is not None:
        assert result.participation_area.value == 0
        assert result.participation_area.denominator == D("377.5")
    assert all(t.heads == 0 for t in result.totals)
    if rule is Rule.CONSULTATION:
        assert result.verdict is NO_RULE
        assert result.comparisons == ()
    else:
        assert result.verdict is FAILED
        assert result.comparisons
        assert not any(c.met for c in result.comparisons)
    json.dumps(result.as_dict())


@pytest.mark.parametrize("weighting", list(Weighting))
def test_simple_tie_fails(weighting):
    voters, ballots = electorate(3, 3, 2, 1, area=D("88.8"))
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, ballots, weighting=weighting)
    assert result.verdict is FAILED
    assert all(c.value == F(1, 2) and not c.met for c in result.comparisons)


def test_consultation_reports_the_spread_without_a_verdict():
    voters, ballots = electorate(4, 3, 2, 1)
    result = count(Kind.FOR_AGAINST, Rule.CONSULTATION, voters, ballots)
    assert result.verdict is NO_RULE
    assert result.comparisons == ()
    assert [(t.key, t.label, t.heads) for t in result.totals] == [
        (FOR, "For", 4),
        (AGAINST, "Against", 3),
        (ABSTAIN, "Abstain", 2),
    ]
    assert result.participation_heads == Share(F(9), F(10))


# --- other kinds ----------------------------------------------------------------------------------


def test_one_of_n_counts_each_option_in_the_order_given():
    voters = [Voter(f"v{i}", area=D(50 + i)) for i in range(6)]
    ballots = {"v0": "park", "v1": "parking", "v2": "park", "v3": ["gym"], "v5": "park"}
    result = count(
        Kind.ONE_OF, Rule.CONSULTATION, voters, ballots, options=["parking", "park", "gym"], weighting=Weighting.BOTH
    )
    assert [(t.key, t.label, t.heads, t.area) for t in result.totals] == [
        ("parking", None, 1, F(51)),
        ("park", None, 3, F(50 + 52 + 55)),
        ("gym", None, 1, F(53)),
    ]
    assert result.participation_heads == Share(F(5), F(6))
    assert result.verdict is NO_RULE


def test_several_of_n_counts_every_choice_on_a_ballot():
    voters = [Voter(f"v{i}", area=D("100")) for i in range(6)]
    ballots = {
        "v0": ["a", "b", "c"],
        "v1": ["a", "c"],
        "v2": ("c",),
        "v3": "d",  # a lone option id is a ballot choosing one option
        "v4": [],  # blank ballot: cast, chooses nothing
    }
    result = count(
        Kind.SEVERAL_OF, Rule.CONSULTATION, voters, ballots, options=["a", "b", "c", "d"], weighting=Weighting.AREA
    )
    assert {t.key: t.heads for t in result.totals} == {"a": 2, "b": 1, "c": 3, "d": 1}
    assert {t.key: t.area for t in result.totals} == {"a": 200, "b": 100, "c": 300, "d": 100}
    assert result.participation_heads == Share(F(5), F(6))  # the blank ballot took part
    assert result.participation_area == Share(F(500), F(600))
    assert sum(t.heads for t in result.totals) == 7  # more selections than ballots, as it should be


def test_several_of_n_honours_max_choices():
    voters = [Voter("a"), Voter("b")]
    ok = count(Kind.SEVERAL_OF, Rule.CONSULTATION, voters, {"a": ["x", "y"]}, options=["x", "y", "z"], max_choices=2)
    assert ok.total("x").heads == 1
    refused(
        "too_many_choices",
        Kind.SEVERAL_OF,
        Rule.CONSULTATION,
        voters,
        {"a": ["x", "y", "z"]},
        options=["x", "y", "z"],
        max_choices=2,
    )


def test_rating_counts_the_three_levels():
    voters = [Voter(f"r{i}") for i in range(8)]
    levels = [SATISFIED] * 4 + [BASICALLY_SATISFIED] * 2 + [DISSATISFIED]
    ballots = {f"r{i}": level for i, level in enumerate(levels)}
    result = count(Kind.RATING, Rule.CONSULTATION, voters, ballots)
    assert [(t.key, t.label, t.heads) for t in result.totals] == [
        (SATISFIED, "Satisfied", 4),
        (BASICALLY_SATISFIED, "Basically satisfied", 2),
        (DISSATISFIED, "Dissatisfied", 1),
    ]
    assert result.participation_heads == Share(F(7), F(8))
    assert result.verdict is NO_RULE
    assert result.as_dict()["totals"][0]["heads_percent"] == pytest.approx(57.14)


@pytest.mark.parametrize("kind", [Kind.ONE_OF, Kind.SEVERAL_OF, Kind.RATING])
@pytest.mark.parametrize("rule", PASS_RULES)
def test_pass_rules_judge_for_against_votes_only(kind, rule):
    options = None if kind is Kind.RATING else ["a", "b"]
    refused("rule_needs_for_against", kind, rule, [Voter("v", area=1)], {}, options=options)


# --- show of hands --------------------------------------------------------------------------------


def test_show_of_hands_is_added_by_head_and_flagged():
    # 10 people present; 4 vote on tablets (2 for, 2 against); of the other 6, hands: 3 for, 1 against.
    voters, ballots = electorate(2, 2, 0, 6)
    without = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, ballots)
    assert without.verdict is FAILED  # a 2–2 tie on the tablets alone
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, ballots, show_of_hands={FOR: 3, AGAINST: 1})
    assert [(t.key, t.heads, t.hands) for t in result.totals] == [(FOR, 5, 3), (AGAINST, 3, 1), (ABSTAIN, 0, 0)]
    assert result.show_of_hands == {FOR: 3, AGAINST: 1, ABSTAIN: 0}
    assert result.participation_heads == Share(F(8), F(10))
    assert (only(result).numerator, only(result).denominator) == (5, 8)
    assert result.verdict is PASSED
    data = result.as_dict()
    assert data["includes_show_of_hands"] is True
    assert data["show_of_hands"] == {FOR: 3, AGAINST: 1, ABSTAIN: 0}
    assert data["totals"][0]["hands"] == 3
    assert without.as_dict()["includes_show_of_hands"] is False
    assert without.show_of_hands is None


@pytest.mark.parametrize(
    ("rule", "hands", "verdict", "numerator", "denominator"),
    [
        (Rule.ABSOLUTE, {FOR: 4}, PASSED, 6, 10),  # 2 tablet + 4 hands of 10 eligible
        (Rule.ABSOLUTE, {FOR: 3, ABSTAIN: 3}, FAILED, 5, 10),  # exactly half of eligible
        (Rule.TWO_THIRDS, {FOR: 2}, PASSED, 4, 6),  # cast: 4 tablet + 2 hands
        (Rule.TWO_THIRDS, {FOR: 2, ABSTAIN: 1}, FAILED, 4, 7),  # a raised abstention is cast too
        (Rule.THREE_QUARTERS, {FOR: 4}, PASSED, 6, 8),
    ],
)
def test_show_of_hands_counts_towards_every_head_rule(rule, hands, verdict, numerator, denominator):
    voters, ballots = electorate(2, 2, 0, 6)
    result = count(Kind.FOR_AGAINST, rule, voters, ballots, show_of_hands=hands)
    assert result.verdict is verdict
    assert (only(result).numerator, only(result).denominator) == (numerator, denominator)


@pytest.mark.parametrize("kind", [Kind.ONE_OF, Kind.RATING])
def test_show_of_hands_in_a_consultation(kind):
    options = ["east gate", "west gate"] if kind is Kind.ONE_OF else None
    first = options[0] if options else SATISFIED
    result = count(
        kind,
        Rule.CONSULTATION,
        [Voter("a"), Voter("b"), Voter("c")],
        {"a": first},
        options=options,
        show_of_hands={first: 2},
    )
    assert result.total(first).heads == 3
    assert result.total(first).hands == 2
    assert result.participation_heads == Share(F(3), F(3))


@pytest.mark.parametrize(
    ("code", "kind", "rule", "weighting", "hands"),
    [
        ("hands_need_head_count", Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.AREA, {FOR: 1}),
        ("hands_need_head_count", Kind.FOR_AGAINST, Rule.TWO_THIRDS, Weighting.BOTH, {FOR: 1}),
        ("hands_need_head_count", Kind.FOR_AGAINST, Rule.OWNERS_ORDINARY, Weighting.HEAD, {FOR: 1}),
        ("hands_need_head_count", Kind.FOR_AGAINST, Rule.OWNERS_MAJOR, Weighting.HEAD, {}),
        ("hands_several_of", Kind.SEVERAL_OF, Rule.CONSULTATION, Weighting.HEAD, {"a": 1}),
        ("unknown_choice", Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.HEAD, {"yes": 1}),
        ("bad_hands", Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.HEAD, {FOR: -1}),
        ("bad_hands", Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.HEAD, {FOR: 1.0}),
        ("bad_hands", Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.HEAD, {FOR: True}),
        # 5 eligible, 2 voted by tablet: at most 3 hands.
        ("too_many_hands", Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.HEAD, {FOR: 2, AGAINST: 2}),
    ],
)
def test_show_of_hands_refusals(code, kind, rule, weighting, hands):
    voters = [Voter(f"v{i}", area=D("60")) for i in range(5)]
    options = ["a", "b"] if kind is Kind.SEVERAL_OF else None
    ballots = {"v0": ["a"], "v1": ["b"]} if kind is Kind.SEVERAL_OF else {"v0": FOR, "v1": AGAINST}
    refused(code, kind, rule, voters, ballots, options=options, weighting=weighting, show_of_hands=hands)


def test_show_of_hands_may_fill_every_seat_left():
    voters, ballots = electorate(1, 1, 0, 3)
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, ballots, show_of_hands={FOR: 2, ABSTAIN: 1})
    assert result.participation_heads.value == 1


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "weighting"),
    [
        (Rule.SIMPLE, Weighting.AREA),
        (Rule.ABSOLUTE, Weighting.BOTH),
        (Rule.TWO_THIRDS, Weighting.AREA),
        (Rule.THREE_QUARTERS, Weighting.BOTH),
        (Rule.CONSULTATION, Weighting.AREA),
        (Rule.OWNERS_ORDINARY, Weighting.HEAD),  # the rule needs area whatever the weighting says
        (Rule.OWNERS_MAJOR, Weighting.BOTH),
    ],
)
@pytest.mark.parametrize(
    ("area", "code"),
    [(None, "missing_area"), (0, "zero_area"), (D("0"), "zero_area"), (D("0.00"), "zero_area"), (F(0), "zero_area")],
)
@pytest.mark.parametrize("votes", [True, False])
def test_area_is_required_where_it_is_weighed(rule, weighting, area, code, votes):
    voters = [Voter("a", area=D("90")), Voter("b", area=area)]
    # The denominator needs every eligible voter's area, whether or not they voted.
    ballots = {"a": FOR, "b": AGAINST} if votes else {"a": FOR}
    error = refused(code, Kind.FOR_AGAINST, rule, voters, ballots, weighting=weighting)
    assert "'b'" in str(error)
    assert "area" in str(error)


@pytest.mark.parametrize("area", [None, 0])
def test_area_is_not_required_when_counting_by_head(area):
    voters = [Voter("a", area=area), Voter("b")]
    assert count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, {"a": FOR}).verdict is PASSED


@pytest.mark.parametrize("weighting", list(Weighting))
@pytest.mark.parametrize("area", [89.5, -1, D("-0.01"), F(-1, 2), D("NaN"), D("Infinity"), "89.5", True])
def test_bad_area_values_are_refused_whatever_the_weighting(weighting, area):
    refused("bad_area", Kind.FOR_AGAINST, Rule.SIMPLE, [Voter("a", area=area)], {}, weighting=weighting)


@pytest.mark.parametrize(
    ("code", "kind", "ballots", "options"),
    [
        ("ineligible_voter", Kind.FOR_AGAINST, {"stranger": FOR}, None),
        ("ineligible_voter", Kind.FOR_AGAINST, {1: FOR}, None),  # ids are compared as given
        ("unknown_choice", Kind.FOR_AGAINST, {"a": "yes"}, None),
        ("unknown_choice", Kind.FOR_AGAINST, {"a": "For"}, None),  # keys, not labels
        ("unknown_choice", Kind.ONE_OF, {"a": "c"}, ["a", "b"]),
        ("unknown_choice", Kind.SEVERAL_OF, {"a": ["a", "z"]}, ["a", "b"]),
        ("unknown_choice", Kind.RATING, {"a": "happy"}, None),
        ("unknown_choice", Kind.ONE_OF, {"a": [3]}, ["a", "b"]),
        ("several_choices", Kind.FOR_AGAINST, {"a": [FOR, AGAINST]}, None),
        ("several_choices", Kind.FOR_AGAINST, {"a": [FOR, FOR]}, None),
        ("several_choices", Kind.ONE_OF, {"a": ["a", "b"]}, ["a", "b"]),
        ("several_choices", Kind.RATING, {"a": (SATISFIED, DISSATISFIED)}, None),
        ("empty_ballot", Kind.FOR_AGAINST, {"a": []}, None),
        ("empty_ballot", Kind.ONE_OF, {"a": ()}, ["a", "b"]),
        ("duplicate_choice", Kind.SEVERAL_OF, {"a": ["a", "a"]}, ["a", "b"]),
        ("bad_ballot", Kind.FOR_AGAINST, {"a": None}, None),
        ("bad_ballot", Kind.FOR_AGAINST, {"a": 1}, None),
        ("bad_ballot", Kind.SEVERAL_OF, {"a": {"a": 1}}, ["a", "b"]),
    ],
)
def test_ballot_refusals(code, kind, ballots, options):
    voters = [Voter("a"), Voter("b")]
    refused(code, kind, Rule.CONSULTATION, voters, ballots, options=options)


def test_a_single_choice_ballot_may_come_as_a_one_element_list():
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, [Voter("a")], {"a": [FOR]})
    assert result.total(FOR).heads == 1


@pytest.mark.parametrize(
    ("code", "kwargs"),
    [
        ("duplicate_voter", {"voters": [Voter("a"), Voter("b"), Voter("a")]}),
        ("no_voters", {"voters": []}),
        ("bad_heads", {"voters": [Voter("a", heads=0)]}),
        ("bad_heads", {"voters": [Voter("a", heads=-1)]}),
        ("bad_heads", {"voters": [Voter("a", heads=1.0)]}),
        ("bad_heads", {"voters": [Voter("a", heads=True)]}),
        ("bad_kind", {"kind": "yes_no"}),
        ("bad_rule", {"rule": "unanimous"}),
        ("bad_weighting", {"weighting": "money"}),
        ("options_not_expected", {"options": ["for", "against"]}),
        ("too_few_options", {"kind": Kind.ONE_OF}),
        ("too_few_options", {"kind": Kind.ONE_OF, "options": ["only"]}),
        ("too_few_options", {"kind": Kind.SEVERAL_OF, "options": "ab"}),
        ("duplicate_option", {"kind": Kind.ONE_OF, "options": ["a", "b", "a"]}),
        ("bad_option", {"kind": Kind.ONE_OF, "options": ["a", ""]}),
        ("bad_option", {"kind": Kind.ONE_OF, "options": ["a", 2]}),
        ("bad_max_choices", {"max_choices": 2}),  # not a several-of-N vote
        ("bad_max_choices", {"kind": Kind.SEVERAL_OF, "options": ["a", "b"], "max_choices": 0}),
        ("bad_max_choices", {"kind": Kind.SEVERAL_OF, "options": ["a", "b"], "max_choices": True}),
    ],
)
def test_setup_refusals(code, kwargs):
    args = {"kind": Kind.FOR_AGAINST, "rule": Rule.CONSULTATION, "voters": [Voter("a")], "ballots": {}} | kwargs
    refused(code, **args)


def test_counting_error_is_a_value_error_with_a_code_and_an_english_message():
    with pytest.raises(ValueError) as caught:
        count(Kind.FOR_AGAINST, Rule.SIMPLE, [Voter("a")], {"zz": FOR})
    error = caught.value
    assert isinstance(error, CountingError)
    assert error.code == "ineligible_voter"
    assert error.message == str(error)
    assert str(error) == "A ballot came from 'zz', who is not an eligible voter."


def test_enums_may_be_given_as_their_string_values():
    voters, ballots = electorate(2, 1)
    result = count("for_against", "two_thirds", voters, ballots, weighting="head")
    assert (result.kind, result.rule, result.weighting, result.verdict) == (
        Kind.FOR_AGAINST,
        Rule.TWO_THIRDS,
        Weighting.HEAD,
        PASSED,
    )


# --- presentation ---------------------------------------------------------------------------------


def test_as_dict_is_json_serialisable_and_exact():
    voters = [Voter("a", area=F(100, 3)), Voter("b", area=D("89.37")), Voter("c", area=D("10"))]
    result = count(
        Kind.FOR_AGAINST, Rule.TWO_THIRDS, voters, {"a": FOR, "b": FOR, "c": AGAINST}, weighting=Weighting.BOTH
    )
    data = json.loads(json.dumps(result.as_dict()))
    assert data["kind"] == "for_against"
    assert data["rule"] == "two_thirds"
    assert data["rule_label"] == "Two-thirds majority"
    assert data["weighting"] == "both"
    assert data["verdict"] == "passed"
    for_total = data["totals"][0]
    assert for_total["area"] == "36811/300"  # 100/3 + 89.37 has no finite decimal expansion
    assert data["totals"][1]["area"] == "10"
    assert data["participation"]["heads"] == {"numerator": "3", "denominator": "3", "value": "1/1", "percent": 100.0}
    head, area = data["comparisons"]
    assert head == {
        "label": "For among ballots cast",
        "basis": "head",
        "numerator": "2",
        "denominator": "3",
        "value": "2/3",
        "percent": 66.67,
        "threshold": "2/3",
        "threshold_percent": 66.67,
        "operator": ">=",
        "met": True,
    }
    area_value = F(36811, 300) / (F(36811, 300) + 10)  # = 36811 / 39811
    assert area["value"] == f"{area_value.numerator}/{area_value.denominator}" == "36811/39811"
    assert area["numerator"] == "36811/300"
    assert area["denominator"] == "39811/300"
    assert isinstance(area["percent"], float)


def test_as_dict_with_nothing_below_the_line():
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, [Voter("a")], {})
    data = result.as_dict()
    assert data["comparisons"][0]["value"] is None
    assert data["comparisons"][0]["percent"] is None
    assert data["totals"][0]["heads_percent"] is None
    assert data["participation"]["heads"]["value"] == "0/1"
    json.dumps(data)


def test_result_total_looks_up_by_key():
    voters, ballots = electorate(1)
    result = count(Kind.FOR_AGAINST, Rule.SIMPLE, voters, ballots)
    assert result.total(FOR).heads == 1
    with pytest.raises(KeyError):
        result.total("maybe")
    assert result.rule_label == RULE_LABELS[Rule.SIMPLE]
    assert result.cast_heads == 1
    assert result.cast_area is None


def test_every_label_is_marked_for_translation():
    from babel.messages.extract import extract_from_file

    source = Path(counting.__file__)
    marked = {message for _, message, _, _ in extract_from_file("python", source, keywords={"N_": None})}
    seen: set[str] = set(RULE_LABELS.values())
    for kind, rules, options in (
        (Kind.FOR_AGAINST, PASS_RULES, None),
        (Kind.RATING, [Rule.CONSULTATION], None),
    ):
        for rule in rules:
            voters, ballots = electorate(1, 1, area=D("50"))
            if kind is Kind.RATING:
                ballots = {}
            result = count(kind, rule, voters, ballots, options=options, weighting=Weighting.BOTH)
            seen |= {c.label for c in result.comparisons} | {t.label for t in result.totals if t.label}
    assert seen <= marked
    assert len(seen) >= 20


# --- properties over random electorates -----------------------------------------------------------

ORACLES = {
    # The rules written again by cross-multiplication, to check the Fraction comparisons against.
    Rule.SIMPLE: lambda f, a, cast, elig: f > a,
    Rule.ABSOLUTE: lambda f, a, cast, elig: 2 * f > elig,
    Rule.TWO_THIRDS: lambda f, a, cast, elig: cast > 0 and 3 * f >= 2 * cast,
    Rule.THREE_QUARTERS: lambda f, a, cast, elig: cast > 0 and 4 * f >= 3 * cast,
}


def random_case(rng: random.Random):
    kind = rng.choice(list(Kind))
    rule = rng.choice(ALL_RULES) if kind is Kind.FOR_AGAINST else Rule.CONSULTATION
    weighting = rng.choice(list(Weighting))
    options = None
    if kind in (Kind.ONE_OF, Kind.SEVERAL_OF):
        options = [f"opt{i}" for i in range(rng.randint(2, 5))]
    keys = {
        Kind.FOR_AGAINST: [FOR, AGAINST, ABSTAIN],
        Kind.RATING: [SATISFIED, BASICALLY_SATISFIED, DISSATISFIED],
    }.get(kind, options)
    n = rng.randint(1, 15)
    # Small areas with few distinct values make exact ties and boundaries likely.
    voters = [
        Voter(
            f"v{i}",
            heads=rng.choice([1, 1, 1, 2]),
            area=D(rng.choice([40, 50, 60, 75, 100])) + D(rng.randint(0, 3)) / 2,
        )
        for i in range(n)
    ]
    ballots: dict[str, str | list[str]] = {}
    for voter in voters:
        if rng.random() < 0.7:
            if kind is Kind.SEVERAL_OF:
                ballots[voter.id] = rng.sample(keys, rng.randint(0, len(keys)))
            else:
                ballots[voter.id] = rng.choice(keys)
    hands = None
    if weighting is Weighting.HEAD and rule not in OWNERS_RULES and kind is not Kind.SEVERAL_OF and rng.random() < 0.3:
        room = sum(v.heads for v in voters if v.id not in ballots)
        hands = {}
        for key in keys:
            hands[key] = rng.randint(0, room)
            room -= hands[key]
    return kind, rule, weighting, voters, ballots, options, hands


@pytest.mark.parametrize("seed", [1, 2, 3, 2024])
def test_invariants_over_random_electorates(seed):
    rng = random.Random(seed)
    verdicts = set()
    for _ in range(200):
        kind, rule, weighting, voters, ballots, options, hands = random_case(rng)
        result = count(kind, rule, voters, ballots, options=options, weighting=weighting, show_of_hands=hands)
        by_id = {v.id: v for v in voters}
        hands_total = sum((hands or {}).values())
        cast_heads = sum(by_id[i].heads for i in ballots) + hands_total
        eligible_heads = sum(v.heads for v in voters)

        # Participation is what was cast over what was eligible, and never more than all of it.
        assert result.participation_heads == Share(F(cast_heads), F(eligible_heads))
        assert 0 <= result.participation_heads.value <= 1
        if result.participation_area is not None:
            assert 0 <= result.participation_area.value <= 1
            assert result.participation_area.numerator == sum((F(by_id[i].area) for i in ballots), F(0))
            assert result.participation_area.denominator == sum((F(v.area) for v in voters), F(0))

        # Totals sum to ballots cast (single-choice); several-of-N counts each selection once.
        if kind is Kind.SEVERAL_OF:
            assert all(t.heads <= cast_heads for t in result.totals)
            assert sum(t.heads for t in result.totals) == sum(by_id[i].heads * len(b) for i, b in ballots.items())
        else:
            assert sum(t.heads for t in result.totals) == cast_heads
            if result.participation_area is not None:
                assert sum(t.area for t in result.totals) == result.participation_area.numerator
        assert sum(t.hands for t in result.totals) == hands_total

        # The verdict is exactly what the comparisons say, and each comparison is what it claims.
        if rule is Rule.CONSULTATION:
            assert result.verdict is NO_RULE and result.comparisons == ()
        else:
            assert result.comparisons
            expected = PASSED if all(c.met for c in result.comparisons) else FAILED
            assert result.verdict is expected
        for c in result.comparisons:
            assert c.met == (
                c.denominator > 0
                and {">": operator.gt, ">=": operator.ge}[c.operator](c.numerator / c.denominator, c.threshold)
            )
            assert 0 <= c.numerator

        # Independent restatement of each rule in integer/Fraction cross-multiplication.
        if rule in ORACLES:
            bases = {"head": ["heads"], "area": ["area"], "both": ["heads", "area"]}[result.weighting]
            ok = True
            for basis in bases:
                f, a = getattr(result.total(FOR), basis), getattr(result.total(AGAINST), basis)
                share = result.participation_heads if basis == "heads" else result.participation_area
                ok = ok and ORACLES[rule](f, a, share.numerator, share.denominator)
            assert result.verdict is (PASSED if ok else FAILED)
        if rule in OWNERS_RULES:
            f_area, f_heads = result.total(FOR).area, result.total(FOR).heads
            pa, ph = result.participation_area, result.participation_heads
            took_part = 3 * pa.numerator >= 2 * pa.denominator and 3 * ph.numerator >= 2 * ph.denominator
            if rule is Rule.OWNERS_MAJOR:
                agreed = 4 * f_area >= 3 * pa.numerator and 4 * f_heads >= 3 * ph.numerator and ph.numerator > 0
            else:
                agreed = 2 * f_area > pa.numerator and 2 * f_heads > ph.numerator
            assert result.verdict is (PASSED if took_part and agreed else FAILED)

        json.dumps(result.as_dict())
        verdicts.add(result.verdict)
    assert verdicts == {PASSED, FAILED, NO_RULE}  # the generator reaches every outcome

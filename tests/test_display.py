"""A result's percentage never contradicts its ✓/✗: rounded toward the verdict, checked exhaustively."""

from __future__ import annotations

import operator
from decimal import Decimal
from fractions import Fraction

import pytest

from forum import counting, votes
from forum.counting import Kind, Rule, Voter, Weighting
from forum.display import percent

THRESHOLDS = [(Fraction(1, 2), ">"), (Fraction(2, 3), ">="), (Fraction(3, 4), ">=")]
OPS = {">": operator.gt, ">=": operator.ge}


def shown(text: str) -> Fraction:
    assert text.endswith("%")
    return Fraction(Decimal(text[:-1])) / 100


@pytest.mark.parametrize(("threshold", "op"), THRESHOLDS)
def test_every_fraction_up_to_120_reads_on_the_side_of_its_verdict(threshold, op):
    for den in range(1, 121):
        for num in range(0, den + 1):
            value = Fraction(num, den)
            met = OPS[op](value, threshold)
            text = percent(value, met)
            # The number shown, compared as the reader does, gives the same verdict ...
            assert OPS[op](shown(text), threshold) == met, (num, den, text)
            # ... and is the value, rounded by less than one shown digit.
            places = len(text[:-1].split(".")[1])
            assert abs(shown(text) - value) < Fraction(1, 100 * 10**places), (num, den, text)


@pytest.mark.parametrize(("value", "met", "text"), [
    (Fraction(59999, 80000), False, "74.9%"),   # 599.99 / 800.00: to nearest it would read 75.0%
    (Fraction(3, 4), True, "75.0%"),
    (Fraction(2, 3), True, "66.7%"),
    (Fraction(2, 3) - Fraction(1, 10**6), False, "66.6%"),
    (Fraction(1, 2), False, "50.0%"),           # not more than half
    (Fraction(500001, 1000000), True, "50.1%"),  # more than half, if only just
    (Fraction(9999, 10000), True, "99.99%"),    # never "100.0%" for a vote someone missed
    (Fraction(1, 100000), False, "0.001%"),     # never "0.0%" for someone who voted
    (Fraction(0), False, "0.0%"),
    (Fraction(1), True, "100.0%"),
])
def test_examples(value, met, text):
    assert percent(value, met) == text


def test_the_boundary_case_on_the_result_lines():
    # Owners' major matter: 800.00 m² took part, 599.99 m² agree (74.99875%), one owner of two for.
    voters = [Voter("a", area=Decimal("599.99")), Voter("b", area=Decimal("200.01"))]
    result = counting.count(Kind.FOR_AGAINST, Rule.OWNERS_MAJOR, voters, {"a": "for", "b": "against"},
                            weighting=Weighting.BOTH)
    lines = votes.comparison_lines(result.as_dict())
    assert [line["text"] for line in lines] == [
        "800.00 / 800.00 m² = 100.0% ≥ 2/3", "2 / 2 = 100.0% ≥ 2/3", "599.99 / 800.00 m² = 74.9% ≥ 3/4",
        "1 / 2 = 50.0% ≥ 3/4"]
    assert [line["met"] for line in lines] == [True, True, False, False]

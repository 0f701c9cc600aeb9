"""How a result's numbers read: a percentage that never contradicts the verdict beside it.

A rule compares exact fractions; the page shows the fraction and, for reading, a percentage.
Rounded to nearest, 599.99 / 800.00 (74.99875%) reads "75.0% ≥ 3/4 ✗", which looks like a bug
and invites a complaint that the count was wrong. So the percentage is rounded **toward the
verdict**: down when the threshold was not met, up when it was. Since a met comparison's value
is at or above its threshold, rounding it up keeps it there, and an unmet one rounded down stays
below (or, for "more than", at most at) its threshold: the shown number always agrees with ✓/✗.
Where that rounding would reach 0% or 100% without the value being exactly that, more digits
are shown, so "100.0%" never stands for a vote someone did not take part in.
"""

from __future__ import annotations

from fractions import Fraction

PLACES = 1
MAX_PLACES = 6


def _directed(value: Fraction, places: int, up: bool) -> Fraction:
    scale = 10**places
    scaled = value * scale
    whole = -((-scaled.numerator) // scaled.denominator) if up else scaled.numerator // scaled.denominator
    return Fraction(whole, scale)


def percent(value: Fraction, met: bool, places: int = PLACES) -> str:
    """``value`` (a share, 0..1 or beyond) as a percentage rounded toward the verdict: "74.9%"."""
    hundred = Fraction(value) * 100
    shown = _directed(hundred, places, up=met)
    while places < MAX_PLACES and shown != hundred and shown in (0, 100):
        places += 1
        shown = _directed(hundred, places, up=met)
    digits = int(shown * 10**places)  # exact: ``shown`` has ``places`` decimals
    sign = "-" if digits < 0 else ""
    whole, part = divmod(abs(digits), 10**places)
    return f"{sign}{whole}.{part:0{places}d}%"

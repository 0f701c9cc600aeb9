"""Series recurrence: the presets' dates, occurrence checks, and rules refused with a message."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

from forum.recurrence import PRESETS, BadRule, is_occurrence, occurrences, parse

# Fixed dates (January 2026 starts on a Thursday), checked against a printed calendar.
WEEKLY_START = datetime(2026, 1, 6, 19, 30)  # a Tuesday
MONTHLY_START = datetime(2026, 1, 1, 15, 0)  # the first Thursday of January
QUARTERLY_START = datetime(2026, 1, 30, 15, 0)  # the last Friday of January
AFTER = datetime(2026, 3, 1)  # a Sunday


@pytest.mark.parametrize(("preset", "dtstart", "expected"), [
    ("weekly", WEEKLY_START, [datetime(2026, 3, 3, 19, 30), datetime(2026, 3, 10, 19, 30),
                              datetime(2026, 3, 17, 19, 30), datetime(2026, 3, 24, 19, 30)]),
    ("monthly", MONTHLY_START, [datetime(2026, 3, 5, 15), datetime(2026, 4, 2, 15), datetime(2026, 5, 7, 15),
                                datetime(2026, 6, 4, 15)]),
    ("quarterly", QUARTERLY_START, [datetime(2026, 4, 24, 15), datetime(2026, 7, 31, 15),
                                    datetime(2026, 10, 30, 15), datetime(2027, 1, 29, 15)]),
])
def test_presets_give_the_next_dates(preset, dtstart, expected):
    assert occurrences(PRESETS[preset], dtstart, AFTER, count=4) == expected


def test_presets_are_the_three_cadences():
    assert set(PRESETS) == {"weekly", "monthly", "quarterly"}


def test_occurrences_are_strictly_after():
    at = datetime(2026, 3, 3, 19, 30)
    assert occurrences(PRESETS["weekly"], WEEKLY_START, at, count=1) == [datetime(2026, 3, 10, 19, 30)]


@pytest.mark.parametrize("count", [0, 1, 8])
def test_occurrences_count(count):
    assert len(occurrences(PRESETS["weekly"], WEEKLY_START, AFTER, count=count)) == count


def test_default_count_is_eight():
    assert len(occurrences(PRESETS["weekly"], WEEKLY_START, AFTER)) == 8


def test_a_finished_series_has_no_coming_dates():
    # COUNT with a start in the past: the rule is valid (it did produce meetings), none is ahead.
    rule = "FREQ=WEEKLY;COUNT=3"
    assert parse(rule, datetime(2020, 1, 7, 19, 30)) is not None
    assert occurrences(rule, datetime(2020, 1, 7, 19, 30), AFTER) == []


@pytest.mark.parametrize(("preset", "dtstart", "when", "expected"), [
    ("weekly", WEEKLY_START, datetime(2026, 3, 3, 19, 30), True),
    ("weekly", WEEKLY_START, WEEKLY_START, True),
    ("weekly", WEEKLY_START, datetime(2026, 3, 3, 19, 31), False),  # right day, wrong minute
    ("weekly", WEEKLY_START, datetime(2026, 3, 4, 19, 30), False),  # a Wednesday
    ("weekly", WEEKLY_START, datetime(2025, 12, 30, 19, 30), False),  # a Tuesday before the series
    ("monthly", MONTHLY_START, datetime(2026, 4, 2, 15), True),
    ("monthly", MONTHLY_START, datetime(2026, 4, 9, 15), False),  # the second Thursday
    ("quarterly", QUARTERLY_START, datetime(2026, 7, 31, 15), True),
    ("quarterly", QUARTERLY_START, datetime(2026, 6, 26, 15), False),  # last Friday, wrong month
    ("quarterly", QUARTERLY_START, datetime(2026, 7, 24, 15), False),  # not the last Friday
])
def test_is_occurrence(preset, dtstart, when, expected):
    assert is_occurrence(PRESETS[preset], dtstart, when) is expected


@pytest.mark.parametrize("prefix", ["RRULE:", "rrule:", "  RRULE:"])
def test_rrule_prefix_accepted(prefix):
    rule = prefix + PRESETS["weekly"]
    assert occurrences(rule, WEEKLY_START, AFTER, 2) == occurrences(PRESETS["weekly"], WEEKLY_START, AFTER, 2)
    assert is_occurrence(rule, WEEKLY_START, datetime(2026, 3, 3, 19, 30))


@pytest.mark.parametrize(("rule", "message"), [
    ("", "Enter a recurrence rule"),
    ("   ", "Enter a recurrence rule"),
    ("RRULE:", "Enter a recurrence rule"),
    ("hello", "not a recurrence rule"),
    ("FREQ=SOMETIMES", "not a recurrence rule"),
    ("FREQ=WEEKLY;BYDAY=XX", "not a recurrence rule"),
    ("FREQ=WEEKLY;INTERVAL=abc", "not a recurrence rule"),
    ("BYDAY=TU", "not a recurrence rule"),
    ("FREQ=DAILY;UNTIL=20200101", "never produces"),  # ends before it starts
    ("FREQ=DAILY;COUNT=0", "never produces"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never produces"),  # 30 February
])
def test_bad_rules_are_refused(rule, message):
    with pytest.raises(BadRule, match=message) as caught:
        parse(rule, WEEKLY_START)
    assert caught.value.message == str(caught.value)
    for call in (lambda: occurrences(rule, WEEKLY_START, AFTER), lambda: is_occurrence(rule, WEEKLY_START, AFTER)):
        with pytest.raises(BadRule):
            call()


def test_bad_rule_is_a_value_error():
    assert issubclass(BadRule, ValueError)


# A rule is typed by a person; one that makes the server loop or crash must be refused up front.
# Each runs in a child process with a time limit, since a hanging rule would hang the test run.
@pytest.mark.parametrize("rule", [
    "FREQ=WEEKLY;INTERVAL=0",
    "FREQ=WEEKLY;INTERVAL=-1",
    "FREQ=SECONDLY",
])
def test_rules_that_hang_or_crash_are_refused(rule):
    code = (
        "import sys\nfrom datetime import datetime\nfrom forum.recurrence import BadRule, occurrences\n"
        f"try:\n    occurrences({rule!r}, datetime(2026, 1, 6, 19, 30), datetime(2026, 3, 1))\n"
        "except BadRule:\n    sys.exit(0)\nsys.exit(3)\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code], timeout=5, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{rule!r} made recurrence loop for more than 5 s instead of raising BadRule")
    assert done.returncode == 0, f"{rule!r} was not refused with BadRule: rc={done.returncode} {done.stderr[-400:]}"

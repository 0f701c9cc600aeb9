"""Series recurrence: the presets' dates, occurrence checks, and rules refused with a message."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

from forum import recurrence
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
    ("FREQ=WEEKLY;INTERVAL=abc", "INTERVAL"),
    ("BYDAY=TU", "not a recurrence rule"),
    ("FREQ=DAILY;UNTIL=20200101", "never produces"),  # ends before it starts
    ("FREQ=DAILY;COUNT=0", "COUNT must be"),
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
    "FREQ=WEEKLY;INTERVAL=+0",
    "FREQ=SECONDLY",
    "FREQ=MINUTELY",
    "FREQ=HOURLY",
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


# ---------------------------------------------------------------- the limits, exhaustively


def _refused(rule: str, dtstart: datetime = WEEKLY_START) -> BadRule:
    with pytest.raises(BadRule) as caught:
        parse(rule, dtstart)
    return caught.value


@pytest.mark.parametrize("interval", ["+0", "0", "00", "-1", "+1", "101", "99999999999999999999999", "１", "1.5"])
def test_interval_must_be_a_whole_number_from_1(interval):
    refused = _refused(f"FREQ=WEEKLY;INTERVAL={interval}")
    assert "INTERVAL" in refused.message and refused.params == {"n": recurrence.INTERVAL_MAX}
    assert refused.field == "rrule"


@pytest.mark.parametrize("interval", ["1", "2", "100"])
def test_intervals_in_range_are_accepted(interval):
    assert parse(f"FREQ=WEEKLY;INTERVAL={interval}", WEEKLY_START).rrule._interval == int(interval)


@pytest.mark.parametrize("rule", [
    "FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=HOURLY;INTERVAL=24", "freq=hourly",
    "FREQ=DAILY;BYHOUR=9,15", "FREQ=WEEKLY;BYMINUTE=0,30", "FREQ=DAILY;BYSECOND=1",
])
def test_sub_daily_rhythms_are_refused(rule):
    assert _refused(rule).message == recurrence.AT_MOST_DAILY


@pytest.mark.parametrize("year", [1, 1999, 2101, 9999])
def test_a_first_meeting_in_an_absurd_year_is_refused_by_its_field(year):
    refused = _refused("FREQ=DAILY", datetime(year, 1, 1, 19, 30))
    assert refused.field == "dtstart"
    assert refused.params == {"low": recurrence.MIN_YEAR, "high": recurrence.MAX_YEAR}


@pytest.mark.parametrize("year", [2000, 2100])
def test_the_first_and_last_sane_years_are_accepted(year):
    assert parse("FREQ=DAILY", datetime(year, 1, 1, 19, 30)) is not None


@pytest.mark.parametrize("rule", [
    "FREQ=YEARLY;BYMONTH=0", "FREQ=YEARLY;BYMONTH=13", "FREQ=YEARLY;BYMONTH=-1", "FREQ=YEARLY;BYMONTH=+1",
    "FREQ=MONTHLY;BYMONTHDAY=0", "FREQ=MONTHLY;BYMONTHDAY=32", "FREQ=MONTHLY;BYMONTHDAY=-32",
    "FREQ=MONTHLY;BYMONTHDAY=1,99999",
    "FREQ=YEARLY;BYYEARDAY=367", "FREQ=YEARLY;BYYEARDAY=0", "FREQ=YEARLY;BYWEEKNO=54",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=400",
    "FREQ=MONTHLY;BYDAY=54MO", "FREQ=MONTHLY;BYDAY=0MO", "FREQ=MONTHLY;BYDAY=-99FR",
])
def test_by_parts_out_of_range_are_refused(rule):
    refused = _refused(rule)
    assert refused.message == "%(part)s takes whole numbers from %(low)d to %(high)d."
    assert refused.params["part"] in rule


@pytest.mark.parametrize(("rule", "message"), [
    ("FREQ=DAILY;COUNT=1001", "COUNT must be"),
    ("FREQ=DAILY;COUNT=+5", "COUNT must be"),
    ("FREQ=DAILY;COUNT=99999999999999999999", "COUNT must be"),
    ("FREQ=DAILY;COUNT=5;UNTIL=20270101", "not both"),
    ("FREQ=DAILY;UNTIL=19991231", "UNTIL must be"),
    ("FREQ=DAILY;UNTIL=99991231", "UNTIL must be"),
    ("FREQ=DAILY;UNTIL=20261399", "UNTIL must be"),
    ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL must be"),
    ("FREQ=DAILY;FREQ=WEEKLY", "not a recurrence rule"),
    ("FREQ=YEARLY;BYEASTER=0", "not a recurrence rule"),
    ("FREQ=WEEKLY;WKST=XX", "not a recurrence rule"),
    ("FREQ=WEEKLY;BYDAY=TU;" + "BYMONTH=1;" * 30, "at most %(n)d characters"),
])
def test_count_until_and_shape_limits(rule, message):
    assert message in _refused(rule).message


def test_count_is_applied_by_forum_and_until_accepts_utc():
    assert occurrences("FREQ=DAILY;COUNT=3", datetime(2026, 1, 1, 9), datetime(2025, 1, 1), 10) == [
        datetime(2026, 1, 1, 9), datetime(2026, 1, 2, 9), datetime(2026, 1, 3, 9)]
    assert occurrences("FREQ=DAILY;UNTIL=20260102T235959Z", datetime(2026, 1, 1, 9), datetime(2025, 1, 1), 10) == [
        datetime(2026, 1, 1, 9), datetime(2026, 1, 2, 9)]


# Rules that match no date at all: dateutil alone would try every period until 9999 (2.9 million
# days for a daily one). The budget counts the calendar dateutil tries, period by period, so the
# bound is checked by count, not by the clock.
NEVER_MATCHING = [
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=WEEKLY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31;BYDAY=MO",
    "FREQ=DAILY;BYYEARDAY=366;BYMONTH=1",
]


@pytest.mark.parametrize("rule", NEVER_MATCHING)
def test_a_rule_that_matches_nothing_stops_within_the_step_budget(rule):
    budget = recurrence.Budget()
    with pytest.raises(BadRule, match="never produces"):
        parse(rule, datetime(2000, 1, 1, 9), budget)
    assert 0 < budget.spent <= recurrence.MAX_DAYS + 366


@pytest.mark.parametrize("rule", NEVER_MATCHING[:2])
def test_every_entry_point_spends_one_bounded_budget(rule):
    for call in (lambda b: occurrences(rule, datetime(2000, 1, 1, 9), datetime(2099, 1, 1), 8, b),
                 lambda b: is_occurrence(rule, datetime(2000, 1, 1, 9), datetime(2099, 1, 1), b)):
        budget = recurrence.Budget()
        with pytest.raises(BadRule):
            call(budget)
        assert 0 < budget.spent <= recurrence.MAX_DAYS + 366


def test_a_small_budget_stops_the_walk_where_it_says():
    budget = recurrence.Budget(days=100)
    with pytest.raises(BadRule, match="never produces"):
        parse("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", datetime(2000, 1, 1, 9), budget)
    assert budget.spent == 101
    budget = recurrence.Budget(days=3650)
    with pytest.raises(BadRule, match="never produces"):
        parse("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", datetime(2000, 1, 1, 9), budget)
    assert budget.spent == 366 * 10


def test_the_longest_legitimate_walk_fits_the_budget():
    # Daily from the first sane year, asked about the last one: every day is a period.
    budget = recurrence.Budget()
    dates = occurrences("FREQ=DAILY", datetime(2000, 1, 1, 9), datetime(2100, 6, 1), 3, budget)
    assert dates == [datetime(2100, 6, 1, 9), datetime(2100, 6, 2, 9), datetime(2100, 6, 3, 9)]
    assert budget.spent <= recurrence.MAX_DAYS


def test_occurrences_walked_are_capped(monkeypatch):
    monkeypatch.setattr(recurrence, "MAX_OCCURRENCES", 50)
    # The 51st day is beyond the cap: the search gives up rather than walking on.
    assert occurrences("FREQ=DAILY", datetime(2026, 1, 1, 9), datetime(2026, 3, 1), 3) == []
    assert len(occurrences("FREQ=DAILY", datetime(2026, 1, 1, 9), datetime(2026, 1, 10), 3)) == 3


@pytest.mark.parametrize("when", [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59), datetime(2300, 1, 1)])
def test_is_occurrence_far_away_is_false_at_once(when):
    budget = recurrence.Budget()
    assert is_occurrence(PRESETS["weekly"], WEEKLY_START, when, budget) is False
    assert budget.spent < 10


def test_other_rrules_are_not_budgeted():
    from dateutil.rrule import rrulestr

    # The demo and anyone else using dateutil see it unchanged: 60 years of days, no budget.
    assert len(list(rrulestr("FREQ=DAILY;COUNT=22000", dtstart=datetime(2000, 1, 1)))) == 22000


def test_a_stored_rule_refused_today_has_no_coming_dates():
    assert recurrence.upcoming("FREQ=WEEKLY;INTERVAL=+0", WEEKLY_START, AFTER) == []
    assert recurrence.upcoming(PRESETS["weekly"], WEEKLY_START, AFTER, 1) == [datetime(2026, 3, 3, 19, 30)]


def test_a_trailing_semicolon_and_spaces_are_forgiven():
    assert occurrences("FREQ=WEEKLY;BYDAY=TU;", WEEKLY_START, AFTER, 1) == [datetime(2026, 3, 3, 19, 30)]
    assert occurrences(" freq = weekly ; byday = tu ", WEEKLY_START, AFTER, 1) == [datetime(2026, 3, 3, 19, 30)]
    with pytest.raises(BadRule):
        parse(";;", WEEKLY_START)


# Rules put together at random from the parts a person or an attacker might type. Seeded, so a
# failure is the same failure on every run; whatever comes, parse either accepts the rule or
# refuses it with BadRule, and no expansion walks past its budget.
PARTS = {
    "FREQ": ["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "SECONDLY", "", "weekly", "X"],
    "INTERVAL": ["1", "2", "0", "+0", "-1", "100", "101", "9" * 30, "1e3", "", " 2"],
    "COUNT": ["1", "3", "0", "1000", "1001", "-5", "x"],
    "UNTIL": ["20261231", "20261231T235959Z", "19991231", "22010101", "2026", "20260230"],
    "BYDAY": ["TU", "1TH", "-1FR", "MO,WE,FR", "54MO", "0TU", "XX", "+2SA", "1TH,-1FR"],
    "BYMONTH": ["1", "2", "12", "13", "0", "-1", "2,4,6"],
    "BYMONTHDAY": ["1", "30", "31", "-1", "0", "32", "29,30,31"],
    "BYYEARDAY": ["1", "366", "-366", "367", "100,200"],
    "BYWEEKNO": ["1", "53", "-53", "54", "20"],
    "BYSETPOS": ["1", "-1", "0", "367", "1,2"],
    "WKST": ["MO", "SU", "XX"],
    "BYHOUR": ["9"],
    "BYEASTER": ["0"],
}


def test_random_rules_are_accepted_or_refused_never_anything_else():
    import random

    rng = random.Random(20261130)
    starts = [datetime(2000, 1, 1, 9), datetime(2026, 2, 28, 19, 30), datetime(2100, 12, 31, 23, 0),
              datetime(1999, 12, 31), datetime(2101, 1, 1)]
    outcomes = {"accepted": 0, "refused": 0}
    for _ in range(1500):
        names = rng.sample(sorted(PARTS), rng.randint(1, 5))
        if rng.random() < 0.9:
            names = ["FREQ", *[n for n in names if n != "FREQ"]]
        rule = ";".join(f"{n}={rng.choice(PARTS[n])}" for n in names)
        budget = recurrence.Budget()
        try:
            dates = occurrences(rule, rng.choice(starts), datetime(2026, 11, 30), 8, budget)
        except BadRule as refused:
            assert refused.message and refused.field in ("rrule", "dtstart")
            outcomes["refused"] += 1
        else:
            assert len(dates) <= 8 and dates == sorted(set(dates))
            outcomes["accepted"] += 1
        assert budget.spent <= recurrence.MAX_DAYS + 366, rule
    # Both kinds occur, so the draw tested something.
    assert outcomes["accepted"] > 50 and outcomes["refused"] > 500, outcomes

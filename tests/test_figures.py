"""The oversight figures against hand-counted fixtures: medians of even and odd counts, empty
periods, an issue reopened and resolved twice, participation per month, gaps in a weekly series."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from forum import figures
from forum.figures import IssueRow

Q3 = figures.quarter(2026, 3)  # 1 July – 30 September 2026


def row(n, raised, resolved=None, status=None, category="noise", community=1, committee=None) -> IssueRow:
    status = status or ("resolved" if resolved else "accepted")
    return IssueRow(n, community, committee, category, status, datetime.fromisoformat(raised),
                    datetime.fromisoformat(resolved) if resolved else None)


ROWS = [
    row(1, "2026-07-01T09:00", "2026-07-11T09:00"),                     # 10 days, in Q3
    row(2, "2026-06-20T09:00", "2026-07-10T09:00", status="reviewed"),  # 20 days, raised in Q2
    row(3, "2026-07-15T09:00", "2026-08-14T09:00"),                     # 30 days
    row(4, "2026-08-01T09:00", "2026-09-10T09:00"),                     # 40 days
    row(5, "2026-09-30T23:59"),                                         # raised on the last minute, open
    row(6, "2026-10-01T00:00", category="fumes"),                       # Q4: outside
    row(7, "2026-05-01T09:00", status="raised", category="fumes"),      # open, raised in Q2
    row(8, "2026-04-01T09:00", "2026-06-30T21:00"),                     # resolved in Q2, 90.5 days
    row(9, "2026-07-02T09:00", status="declined"),                      # ended, not resolved
]


def test_quarters_are_whole_days_and_parse_strictly():
    assert (Q3.start, Q3.end, Q3.label) == (date(2026, 7, 1), date(2026, 9, 30), "2026Q3")
    assert figures.parse_quarter("2026q4") == figures.quarter(2026, 4)
    assert figures.quarter(2026, 4).end == date(2026, 12, 31)
    assert figures.previous(figures.quarter(2026, 1)).label == "2025Q4"
    for bad in ("2026Q5", "2026Q0", "26Q1", "2026-3", "1999Q4", "2101Q1", "２０２６Q1", ""):
        with pytest.raises(figures.BadPeriod):
            figures.parse_quarter(bad)
    history = figures.quarters_ending(Q3)
    assert len(history) == 8 and history[0].label == "2024Q4" and history[-1] == Q3
    assert len(figures.quarters_ending(figures.quarter(2000, 2))) == 2


def test_raised_resolved_and_open_counted_by_hand():
    assert [r.id for r in figures.raised_in(ROWS, Q3)] == [1, 3, 4, 5, 9]
    assert [r.id for r in figures.resolved_in(ROWS, Q3)] == [1, 2, 3, 4]
    assert figures.open_by(ROWS, "status") == {"resolved": 4, "accepted": 2, "raised": 1}
    assert figures.open_by(ROWS, "category") == {"noise": 5, "fumes": 2}


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert figures.median([10, 20, 30, 40]) == 25
    assert figures.median([40, 10, 30]) == 30
    assert figures.median([7]) == 7
    assert figures.median([]) is None
    by_quarter = figures.median_days_by_quarter(ROWS, [figures.quarter(2026, 2), Q3, figures.quarter(2026, 4)])
    assert [(q.period.label, q.median_days, q.resolved) for q in by_quarter] == [
        ("2026Q2", 90.5, 1), ("2026Q3", 25.0, 4), ("2026Q4", None, 0)]  # an empty quarter has no median, not 0


def test_an_issue_reopened_and_resolved_twice_counts_once_at_its_last_resolution():
    history = [(datetime(2026, 6, 1), "raise", "raised"), (datetime(2026, 6, 2), "accept", "accepted"),
               (datetime(2026, 6, 20), "resolve", "resolved"), (datetime(2026, 7, 5), "reopen", "accepted"),
               (datetime(2026, 8, 10), "resolve", "resolved"), (datetime(2026, 8, 20), "review", "reviewed")]
    last = figures.last_resolution(history)
    assert last == datetime(2026, 8, 10)
    assert figures.last_resolution(history[:4]) is None  # reopened and not yet resolved again
    twice = row(10, "2026-06-01T00:00", last.isoformat(), status="reviewed")
    q2, q3 = figures.median_days_by_quarter([twice], [figures.quarter(2026, 2), Q3])
    assert (q2.resolved, q2.median_days) == (0, None)
    assert (q3.resolved, q3.median_days) == (1, 70.0)


def test_participation_per_month_of_the_period():
    rows = [(datetime(2026, 7, 7, 19), 12), (datetime(2026, 7, 21, 19), 8), (datetime(2026, 9, 30, 19), 5),
            (datetime(2026, 10, 1, 9), 99), (datetime(2026, 6, 30, 19), 50)]
    assert figures.participation_by_month(rows, Q3) == [(date(2026, 7, 1), 20), (date(2026, 8, 1), 0),
                                                        (date(2026, 9, 1), 5)]
    assert figures.participation_by_month([], Q3) == [(date(2026, 7, 1), 0), (date(2026, 8, 1), 0),
                                                      (date(2026, 9, 1), 0)]


def test_a_weekly_series_that_skipped_weeks_shows_its_gaps():
    tuesdays = [datetime(2026, 7, 7, 19, 30) + timedelta(weeks=n) for n in range(6)]
    held = [tuesdays[0], tuesdays[1] + timedelta(days=1), tuesdays[4], datetime(2026, 7, 30, 10)]
    cadence = figures.held_against(tuesdays, held, figures.TOLERANCE["weekly"])
    assert (cadence.expected, cadence.held) == (6, 4)  # the 30 July meeting holds 28 July's talk
    assert cadence.gaps == [tuesdays[2], tuesdays[5]] and cadence.extra == 0
    none = figures.held_against(tuesdays, [], figures.TOLERANCE["weekly"])
    assert (none.held, len(none.gaps)) == (0, 6)
    one_meeting_two_dates = figures.held_against(tuesdays[:2], [tuesdays[0] + timedelta(days=3)],
                                                 figures.TOLERANCE["weekly"])
    assert one_meeting_two_dates.held == 1  # a meeting holds one expected date, not two


def test_follow_up_hooks():
    today = date(2026, 8, 1)
    actions = [("城管", "open", date(2026, 7, 1)), ("城管", "blocked", date(2026, 7, 30)),
               ("物业", "done", date(2026, 7, 1)), ("物业", "open", date(2026, 8, 1)), ("物业", "in_progress", None),
               ("居委会", "open", date(2026, 7, 31))]
    assert figures.overdue_by_owner(actions, today) == {"城管": 2, "居委会": 1}
    assert figures.satisfaction_rate(["satisfied", "basically_satisfied", "dissatisfied", "satisfied"]) == 0.75
    assert figures.satisfaction_rate([]) is None


def test_bars_scale_to_the_largest_value_and_leave_empty_quarters_flat():
    drawn = figures.bars([("Q1", 10.0), ("Q2", None), ("Q3", 20.0)], width=300, height=200, gutter=0, top=0,
                         bottom=0)
    assert [(b.x, b.width) for b in drawn] == [(0, 100), (100, 100), (200, 100)]
    assert [b.height for b in drawn] == [100, 0, 200]
    assert [b.y for b in drawn] == [100, 200, 0]
    assert figures.bars([]) == []

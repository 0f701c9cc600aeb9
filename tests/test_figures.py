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


NOW = datetime(2026, 8, 1, 10, 0)  # in Q3, which is still running


def action(n, owner, status, due, done_at=None, community=1):
    return figures.ActionRow(n, community, owner, status, date.fromisoformat(due),
                             datetime.fromisoformat(done_at) if done_at else None)


ACTIONS = [
    action(1, "o3", "open", "2026-07-01"),                             # overdue, a month late
    action(2, "o3", "blocked", "2026-07-31"),                          # overdue by a day: blocked is not done
    action(3, "o4", "done", "2026-07-01", "2026-06-30T12:00"),         # done in time
    action(4, "o4", "open", "2026-08-01"),                             # due today: not late yet
    action(5, "c1", "in_progress", "2026-07-30"),                      # overdue
    action(6, "person", "open", "2026-07-15"),                         # a landlord: overdue, grouped
    action(7, "person", "in_progress", "2026-07-20"),                  # a staff member: overdue, grouped
    action(8, "c1", "done", "2026-06-15", "2026-07-10T09:00"),         # done late, in Q3
    action(9, "o4", "done", "2026-09-20", None),                       # done, no time recorded
]


def test_owners_are_grouped_committee_organisation_or_a_person():
    assert figures.owner_key(12, None) == "c12"
    assert figures.owner_key(None, 3) == "o3"
    assert figures.owner_key(None, None) == figures.PERSON  # a staff member or a landlord: never named


def test_overdue_is_past_due_and_not_done_counted_by_hand():
    assert figures.reckoning(Q3, NOW) == NOW  # the running quarter is counted now
    assert [a.id for a in ACTIONS if figures.is_overdue_at(a, NOW)] == [1, 2, 5, 6, 7]
    # Ties (two each) in the owners' order, so the table does not shuffle between requests.
    assert figures.overdue_by_owner(ACTIONS, NOW) == {"o3": 2, "person": 2, "c1": 1}
    assert figures.overdue_by_owner([], NOW) == {}  # an empty period: no owner, not a row of zeros


def test_overdue_at_the_end_of_a_past_quarter():
    q2_end = figures.reckoning(figures.quarter(2026, 2), NOW)
    assert q2_end == datetime(2026, 7, 1)  # the first moment after 30 June
    # At the end of Q2 (as on 1 July): no. 8 (due 15 June, done 10 July) was overdue then; no. 3 was
    # done in time; due on 30 June is late by then, due 1 July not yet.
    late = action(10, "o9", "open", "2026-06-30")
    on_the_day = action(11, "o9", "open", "2026-07-01")
    rows = [*ACTIONS, late, on_the_day]
    assert [a.id for a in rows if figures.is_overdue_at(a, q2_end)] == [8, 10]
    assert figures.overdue_by_owner(rows, q2_end) == {"c1": 1, "o9": 1}
    # A quarter long past that no action had reached: nothing overdue.
    assert figures.overdue_by_owner(ACTIONS, figures.reckoning(figures.quarter(2025, 1), NOW)) == {}


def test_all_overdue_actions_of_one_owner():
    rows = [action(n, "o3", "open", f"2026-07-0{n}") for n in range(1, 5)]
    assert figures.overdue_by_owner(rows, NOW) == {"o3": 4}
    every_done = [action(n, "o3", "done", "2026-07-01", "2026-07-02T00:00") for n in range(1, 4)]
    assert figures.overdue_by_owner(every_done, NOW) == {}


def rated(issue, s, b, d, community=1):
    return figures.RatingRow(issue, community, s, b, d)


def test_the_satisfaction_rate_counts_residents_ratings_by_hand():
    found = figures.satisfaction([rated(1, 6, 2, 2), rated(2, 0, 0, 10), rated(3, 3, 1, 0)])
    assert (found.issues, found.satisfied, found.basically, found.dissatisfied, found.ratings) == (3, 9, 3, 12, 24)
    assert found.rate == 0.5 and figures.percent(found.rate) == "50.0%"
    # The same issue rated twice in a quarter (reopened and rated again) is one issue, both ratings count.
    twice = figures.satisfaction([rated(1, 0, 1, 2), rated(1, 2, 0, 0)])
    assert (twice.issues, twice.ratings, twice.rate) == (1, 5, 0.6)


@pytest.mark.parametrize(("ratings", "rate", "shown"), [
    ([rated(1, 5, 0, 0), rated(2, 7, 0, 0)], 1.0, "100.0%"),   # every one 满意
    ([rated(1, 0, 4, 0)], 1.0, "100.0%"),                      # every one 基本满意 counts as satisfied too
    ([rated(1, 0, 0, 3), rated(2, 0, 0, 1)], 0.0, "0.0%"),     # every one 不满意: a real 0%
    ([rated(1, 1, 1, 1)], 2 / 3, "66.7%"),                     # a three-way tie
    ([], None, "—"),                                           # no review held: no rate, not 0%
    ([rated(1, 0, 0, 0)], None, "—"),                          # a rating with no counts: none given
])
def test_the_satisfaction_rate_of_one_kind_of_rating_or_none(ratings, rate, shown):
    found = figures.satisfaction(ratings)
    assert found.rate == (pytest.approx(rate) if rate is not None else None)
    assert figures.percent(found.rate) == shown


def test_the_satisfaction_rate_is_the_reviews_own():
    from forum import review

    rows = [rated(1, 6, 2, 2), rated(2, 0, 0, 10)]
    counts = [review.Counts(r.satisfied, r.basically, r.dissatisfied) for r in rows]
    assert figures.satisfaction(rows).rate == review.satisfaction_rate(counts)


def test_bars_scale_to_the_largest_value_and_leave_empty_quarters_flat():
    drawn = figures.bars([("Q1", 10.0), ("Q2", None), ("Q3", 20.0)], width=300, height=200, gutter=0, top=0,
                         bottom=0)
    assert [(b.x, b.width) for b in drawn] == [(0, 100), (100, 100), (200, 100)]
    assert [b.height for b in drawn] == [100, 0, 200]
    assert [b.y for b in drawn] == [100, 200, 0]
    assert figures.bars([]) == []

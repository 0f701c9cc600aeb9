"""Votes (表决): setting up, opening, casting, staff entries, closing, and the results.

The arithmetic is :mod:`forum.counting`'s, the electorate :mod:`forum.electorate`'s, the secret
ballot's urn :mod:`forum.secrecy`'s and the tablets' batching thread :mod:`forum.ballot_box`'s.
This package gathers what they need from the database, one module per concern:

* :mod:`~forum.votes.labels` — the interface's words for a vote's settings, states and steps.
* :mod:`~forum.votes.choices` — a vote's choices, how a ballot's selection is read and tallied;
  :class:`VoteRefused`, what every step raises when it cannot do what was asked.
* :mod:`~forum.votes.setup` — the set-up form, one pure check per field, :func:`create_vote`, and
  whether a vote can be counted as set up.
* :mod:`~forum.votes.lifecycle` — opening and closing, and the pure rule of when a vote takes
  ballots (:func:`castable`, :func:`is_due`, :func:`shown_status`).
* :mod:`~forum.votes.closer` — :func:`close_due` and the :class:`VoteCloser` thread that closes
  votes at their closing time, so that reads never write.
* :mod:`~forum.votes.casting` — one ballot, exactly once (:func:`cast`): the receipt, the write
  lock, changes of mind, paper serials.
* :mod:`~forum.votes.tablets` — the ballots a tablet holds and a batch of tablets' ballots counted
  in one transaction (:func:`cast_from_tablets`), late arrivals joining with it.
* :mod:`~forum.votes.staff` — what staff enter: a show of hands, proxies, the shared tablet.
* :mod:`~forum.votes.results` — the running count and the frozen result, the turnout, and how
  they read (summary, the fractions compared, the chart's bars).
* :mod:`~forum.votes.trail` — the audit trail.

The names callers use are importable from here (``votes.cast(...)``); a test that replaces a
function for the code that calls it replaces it in the module that holds it.
"""

from __future__ import annotations

from forum.electorate import compute_electorate, key_for_household, voter_key_for
from forum.votes.casting import SERIAL_MAX, Cast, cast, has_voted
from forum.votes.choices import OWNERS_RULES, VoteRefused, choice_text, choices_of, needs_area, options_of
from forum.votes.closer import Swept, VoteCloser, close_due
from forum.votes.labels import AUDIT_LABELS, CLOSINGS, KINDS, RULES, SCOPES, STATUSES, UNITS, VIAS, WEIGHTINGS
from forum.votes.lifecycle import castable, close_vote, is_due, not_open, open_vote, shown_status
from forum.votes.results import (
    bars,
    comparison_lines,
    current_vote,
    shows_tallies,
    stored_hands,
    summary,
    tally_result,
    turnout,
    votes_of_issue,
    votes_of_meeting,
)
from forum.votes.setup import FIELDS, FLAGS, OPTIONS_MAX, QUESTION_MAX, blank_values, create_vote, stairwell
from forum.votes.staff import (
    cast_at_shared_tablet,
    hands_of_present_allowed,
    open_shared_tablet,
    record_proxy,
    set_hands,
)
from forum.votes.tablets import (
    TabletBallot,
    TabletCast,
    add_late_attendee,
    ballots_for_attendance,
    cast_from_tablets,
)
from forum.votes.trail import audit_trail

__all__ = [
    "AUDIT_LABELS", "CLOSINGS", "FIELDS", "FLAGS", "KINDS", "OPTIONS_MAX", "OWNERS_RULES", "QUESTION_MAX", "RULES",
    "SCOPES", "SERIAL_MAX", "STATUSES", "UNITS", "VIAS", "WEIGHTINGS", "Cast", "Swept", "TabletBallot", "TabletCast",
    "VoteCloser", "VoteRefused", "add_late_attendee", "audit_trail", "ballots_for_attendance", "bars", "cast",
    "cast_at_shared_tablet", "cast_from_tablets", "castable", "choice_text", "choices_of", "close_due", "close_vote",
    "comparison_lines", "compute_electorate", "create_vote", "current_vote", "blank_values", "hands_of_present_allowed",
    "has_voted", "is_due", "key_for_household", "needs_area", "not_open", "open_shared_tablet", "open_vote",
    "options_of", "record_proxy", "set_hands", "shown_status", "shows_tallies", "stairwell", "stored_hands", "summary",
    "tally_result", "turnout", "voter_key_for", "votes_of_issue", "votes_of_meeting",
]

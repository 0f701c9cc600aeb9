"""The vote form's checks, one field at a time: a good value passes, each bad one gets its message.

They are pure functions (forum.votes.setup); the form as a whole is tested over HTTP in test_votes."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from forum import i18n
from forum.counting import Kind, Rule, Weighting
from forum.votes import setup

AT = datetime(2030, 1, 1, 10, 0)
ONLY_CHOOSING = "Only one-of and several-of votes have options of their own."
TWO_TO_TWENTY = "List from 2 to 20 options, one a line."
ONCE = "Each option may be listed only once."
LONG = "Keep each option to at most 100 characters."
WHOLE = "A whole number from 1 to the number of options."
OWNERS = ("The owners' rules count every household of a building, unit or community (one ballot per household); "
          "choose that scope and counting unit.")
AREA_PERSON = "Floor area belongs to households; weigh by area only when each household has one ballot."


@pytest.fixture(autouse=True)
def english():
    token = i18n.set_language("en")
    yield
    i18n.reset_language(token)


@pytest.mark.parametrize(("text", "expected"), [
    ("Repair the lift?", ("Repair the lift?", None)),
    ("  Repair the lift?  ", ("Repair the lift?", None)),
    ("x" * 300, ("x" * 300, None)),
    ("", ("", "Write the question, in at most 300 characters.")),
    ("   ", ("", "Write the question, in at most 300 characters.")),
    ("x" * 301, ("x" * 301, "Write the question, in at most 300 characters.")),
])
def test_question(text, expected):
    assert setup.check_question(text) == expected


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_is_taken(kind):
    assert setup.check_kind(kind) is None


@pytest.mark.parametrize("kind", ["", "poll", "FOR_AGAINST"])
def test_an_unknown_kind(kind):
    assert setup.check_kind(kind) == "Choose what kind of vote it is."


@pytest.mark.parametrize(("kind", "text", "expected"), [
    (Kind.FOR_AGAINST, "", ([], None)),
    (Kind.RATING, "  \n ", ([], None)),
    (Kind.ONE_OF, "Green\n\n  Parking \n", ([{"id": "o1", "text": "Green"}, {"id": "o2", "text": "Parking"}], None)),
    (Kind.SEVERAL_OF, "a\nb\nc", ([{"id": "o1", "text": "a"}, {"id": "o2", "text": "b"}, {"id": "o3", "text": "c"}],
                                  None)),
    (Kind.FOR_AGAINST, "a\nb", ([], ONLY_CHOOSING)),
    (Kind.RATING, "a", ([], ONLY_CHOOSING)),
    (Kind.ONE_OF, "", ([], TWO_TO_TWENTY)),
    (Kind.ONE_OF, "only one", ([{"id": "o1", "text": "only one"}], TWO_TO_TWENTY)),
    (Kind.ONE_OF, "a\nb\na", ([{"id": "o1", "text": "a"}, {"id": "o2", "text": "b"}, {"id": "o3", "text": "a"}],
                              ONCE)),
    (Kind.SEVERAL_OF, "a\n" + "x" * 101, ([{"id": "o1", "text": "a"}, {"id": "o2", "text": "x" * 101}], LONG)),
])
def test_options(kind, text, expected):
    assert setup.check_options(kind, text) == expected


def test_twenty_options_and_no_more():
    assert setup.check_options(Kind.ONE_OF, "\n".join(f"o{i}" for i in range(20)))[1] is None
    assert setup.check_options(Kind.ONE_OF, "\n".join(f"o{i}" for i in range(21)))[1] == TWO_TO_TWENTY
    assert setup.check_options(Kind.ONE_OF, "a\n" + "x" * 100)[1] is None


@pytest.mark.parametrize(("kind", "text", "options", "expected"), [
    (Kind.SEVERAL_OF, "", 3, (None, None)),       # any number
    (Kind.SEVERAL_OF, "  ", 3, (None, None)),
    (Kind.ONE_OF, "2", 3, (None, None)),          # only several-of votes have a most
    (Kind.SEVERAL_OF, "1", 3, (1, None)),
    (Kind.SEVERAL_OF, "3", 3, (3, None)),
    (Kind.SEVERAL_OF, "0", 3, (0, WHOLE)),
    (Kind.SEVERAL_OF, "4", 3, (4, WHOLE)),
    (Kind.SEVERAL_OF, "-1", 3, (-1, WHOLE)),
    (Kind.SEVERAL_OF, "two", 3, (0, WHOLE)),
    (Kind.SEVERAL_OF, "1", 0, (1, None)),         # the options' own error says what is wrong
])
def test_max_choices(kind, text, options, expected):
    assert setup.check_max_choices(kind, text, options) == expected


@pytest.mark.parametrize(("scope", "at_meeting", "expected"), [
    ("attendance", True, None),
    ("community", False, None),
    ("building", True, None),
    ("unit", False, None),
    ("", True, "Choose who may vote."),
    ("street", False, "Choose who may vote."),
    ("attendance", False, "A vote that runs over days has no check-in; choose households instead."),
])
def test_scope(scope, at_meeting, expected):
    assert setup.check_scope(scope, at_meeting) == expected


@pytest.mark.parametrize(("scope", "building", "unit", "in_building", "in_unit", "expected"), [
    ("attendance", "", "", 0, 0, {}),             # no place to name
    ("community", "", "", 0, 0, {}),
    ("building", "5", "", 40, 0, {}),
    ("unit", "5", "2", 40, 12, {}),
    ("building", "", "", 0, 0, {"scope_building": "No household of this community is in building —."}),
    ("unit", "9", "1", 0, 0, {"scope_building": "No household of this community is in building 9."}),
    ("unit", "5", "7", 40, 0, {"scope_unit": "Building 5 has no unit 7."}),
    ("unit", "5", "", 40, 0, {"scope_unit": "Building 5 has no unit —."}),
])
def test_place(scope, building, unit, in_building, in_unit, expected):
    assert setup.check_place(scope, building, unit, in_building, in_unit) == expected


@pytest.mark.parametrize(("counting_unit", "expected"), [
    ("person", None), ("household", None),
    ("", "Choose whether each person or each household has a ballot."),
    ("flat", "Choose whether each person or each household has a ballot."),
])
def test_counting_unit(counting_unit, expected):
    assert setup.check_counting_unit(counting_unit) == expected


@pytest.mark.parametrize(("weighting", "counting_unit", "expected"), [
    (Weighting.HEAD, "person", None),
    (Weighting.HEAD, "household", None),
    (Weighting.AREA, "household", None),
    (Weighting.BOTH, "household", None),
    (Weighting.AREA, "person", AREA_PERSON),
    (Weighting.BOTH, "person", AREA_PERSON),
    ("", "household", "Choose how ballots are weighed."),
    ("size", "person", "Choose how ballots are weighed."),
])
def test_weighting(weighting, counting_unit, expected):
    assert setup.check_weighting(weighting, counting_unit) == expected


@pytest.mark.parametrize(("rule", "kind", "scope", "counting_unit", "expected"), [
    (Rule.SIMPLE, Kind.FOR_AGAINST, "attendance", "person", None),
    (Rule.TWO_THIRDS, Kind.FOR_AGAINST, "community", "household", None),
    (Rule.CONSULTATION, Kind.ONE_OF, "attendance", "person", None),
    (Rule.CONSULTATION, Kind.RATING, "unit", "household", None),
    (Rule.OWNERS_MAJOR, Kind.FOR_AGAINST, "unit", "household", None),
    (Rule.OWNERS_ORDINARY, Kind.FOR_AGAINST, "community", "household", None),
    (Rule.SIMPLE, "", "attendance", "person", None),  # the kind's own error says what is wrong
    ("", Kind.FOR_AGAINST, "attendance", "person", "Choose the pass rule."),
    ("majority", Kind.FOR_AGAINST, "attendance", "person", "Choose the pass rule."),
    (Rule.SIMPLE, Kind.ONE_OF, "attendance", "person",
     "Only for/against votes pass or fail; count options and ratings as a consultation."),
    (Rule.OWNERS_MAJOR, Kind.SEVERAL_OF, "unit", "household",
     "Only for/against votes pass or fail; count options and ratings as a consultation."),
    (Rule.OWNERS_MAJOR, Kind.FOR_AGAINST, "attendance", "household", OWNERS),
    (Rule.OWNERS_ORDINARY, Kind.FOR_AGAINST, "unit", "person", OWNERS),
])
def test_rule(rule, kind, scope, counting_unit, expected):
    assert setup.check_rule(rule, kind, scope, counting_unit) == expected


@pytest.mark.parametrize(("secret", "allow_change", "refused"), [
    (False, False, False), (True, False, False), (False, True, False), (True, True, True),
])
def test_a_secret_ballot_cannot_be_changed(secret, allow_change, refused):
    message = setup.check_secret_change(secret, allow_change)
    assert (message == "A secret ballot cannot be changed: nothing records which choice was yours, so it cannot "
                       "be taken back.") if refused else message is None


@pytest.mark.parametrize(("closing", "expected"), [
    ("facilitator", None), ("time", None),
    ("", "Choose how the vote closes."), ("never", "Choose how the vote closes."),
])
def test_closing(closing, expected):
    assert setup.check_closing(closing) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2030-01-01T10:01", (datetime(2030, 1, 1, 10, 1), None)),
    (" 2030-01-01T10:01:59 ", (datetime(2030, 1, 1, 10, 1), None)),  # to the minute
    ("2030-01-02 09:00", (datetime(2030, 1, 2, 9, 0), None)),
    ("2030-01-01T10:00", (datetime(2030, 1, 1, 10, 0), "The closing time must be in the future.")),
    ("2030-01-01T10:00:30", (datetime(2030, 1, 1, 10, 0), "The closing time must be in the future.")),
    ("2029-12-31T23:59", (datetime(2029, 12, 31, 23, 59), "The closing time must be in the future.")),
    ("", (None, "Enter the date and time the vote closes.")),
    ("soon", (None, "Enter the date and time the vote closes.")),
    ("2030-02-30T10:00", (None, "Enter the date and time the vote closes.")),
])
def test_closes_at(text, expected):
    assert setup.check_closes_at(text, AT) == expected


def test_agenda_entry():
    meeting = SimpleNamespace(id=7)
    assert setup.check_agenda_entry(SimpleNamespace(id=3, meeting_id=7), meeting) is None
    for entry in (None, SimpleNamespace(id=3, meeting_id=8)):
        assert setup.check_agenda_entry(entry, meeting) == "Choose the agenda entry the vote is on."


def test_the_messages_are_translated():
    token = i18n.set_language("zh-Hans")
    try:
        message = setup.check_closing("")
    finally:
        i18n.reset_language(token)
    assert message != "Choose how the vote closes." and any("\u4e00" <= ch <= "\u9fff" for ch in message)

"""A show of hands of people present who are not checked in (举手表决): counted exhaustively as that
many more voters present, each with a ballot; taken in consultations and votes of those present,
refused in binding votes of households and owners, and recorded as what it is."""

from __future__ import annotations

import itertools
import json

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from forum import counting, votes
from forum.counting import CountingError, Kind, Rule, Voter, Weighting
from forum.models import Vote, VoteAudit, VoteElector
from tests import test_votes
from tests.test_votes import (
    cast,
    close,
    create,
    lift_issue,
    open_,
    result,
    tablet,
    unit_households,
    zh,
)

# The vote tests' fixtures: a session on the demo database, and the lift meeting with people checked in.
db = test_votes.db
room = test_votes.room

CASES = [(Kind.FOR_AGAINST, rule, None) for rule in (Rule.SIMPLE, Rule.ABSOLUTE, Rule.TWO_THIRDS,
                                                   Rule.THREE_QUARTERS, Rule.CONSULTATION)]
CASES += [(Kind.ONE_OF, Rule.CONSULTATION, ["o1", "o2", "o3"]), (Kind.RATING, Rule.CONSULTATION, None)]


def choice_keys(kind: Kind, options: list[str] | None) -> list[str]:
    if kind is Kind.FOR_AGAINST:
        return ["for", "against", "abstain"]
    if kind is Kind.RATING:
        return ["satisfied", "basically_satisfied", "dissatisfied"]
    return list(options or [])


def essentials(r: counting.Result) -> tuple:
    return ([(t.key, t.heads) for t in r.totals], r.participation_heads, r.comparisons, r.verdict)


@pytest.mark.parametrize(("kind", "rule", "options"), CASES)
def test_hands_of_people_present_count_as_that_many_more_voters_with_a_ballot(kind, rule, options):
    """Every electorate of one to three voters, every way they can vote (or not), every show of
    zero to two hands per choice: the same result as if each hand were a voter who came and cast."""
    keys = choice_keys(kind, options)
    checked = 0
    for n in range(1, 4):
        voters = [Voter(f"v{i}", heads=1 + i % 2) for i in range(n)]  # heads 1 and 2: weights carry
        for picks in itertools.product([None, *keys], repeat=n):
            ballots = {v.id: p for v, p in zip(voters, picks, strict=True) if p is not None}
            for raised in itertools.product(range(3), repeat=len(keys)):
                hands = dict(zip(keys, raised, strict=True))
                got = counting.count(kind, rule, voters, ballots, options=options, show_of_hands=hands,
                                     hands_of_present=True)
                present = [(f"h{k}{i}", k) for k, count in hands.items() for i in range(count)]
                expected = counting.count(kind, rule, voters + [Voter(h) for h, _ in present],
                                          ballots | dict(present), options=options)
                assert essentials(got) == essentials(expected), (voters, ballots, hands)
                assert [t.hands for t in got.totals] == list(raised)
                assert got.hands_of_present and got.as_dict()["hands_of_present"]
                checked += 1
    assert checked == (4 + 16 + 64) * 27


@pytest.mark.parametrize(("kind", "rule", "options"), CASES)
def test_hands_of_voters_without_a_ballot_are_still_refused_beyond_them(kind, rule, options):
    """The rule that stays: without ``hands_of_present`` hands belong to eligible voters who have
    not voted, and more hands than their heads is refused, exactly at the boundary."""
    keys = choice_keys(kind, options)
    voters = [Voter("a"), Voter("b", heads=2), Voter("c")]
    for picks in itertools.product([None, *keys], repeat=3):
        ballots = {v.id: p for v, p in zip(voters, picks, strict=True) if p is not None}
        room = sum(v.heads for v in voters if v.id not in ballots)
        for raised in itertools.product(range(3), repeat=len(keys)):
            hands = dict(zip(keys, raised, strict=True))
            if sum(raised) > room:
                with pytest.raises(CountingError) as refused:
                    counting.count(kind, rule, voters, ballots, options=options, show_of_hands=hands)
                assert refused.value.code == "too_many_hands"
            else:
                r = counting.count(kind, rule, voters, ballots, options=options, show_of_hands=hands)
                assert r.participation_heads.denominator == 4 and not r.as_dict()["hands_of_present"]
                counting.count(kind, rule, voters, ballots, options=options, show_of_hands=hands,
                               hands_of_present=True)  # never too many when they are people present


@pytest.mark.parametrize(("kind", "rule", "weighting", "code"), [
    (Kind.FOR_AGAINST, Rule.OWNERS_MAJOR, Weighting.HEAD, "hands_need_head_count"),
    (Kind.FOR_AGAINST, Rule.OWNERS_ORDINARY, Weighting.HEAD, "hands_need_head_count"),
    (Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.AREA, "hands_need_head_count"),
    (Kind.FOR_AGAINST, Rule.SIMPLE, Weighting.BOTH, "hands_need_head_count"),
    (Kind.SEVERAL_OF, Rule.CONSULTATION, Weighting.HEAD, "hands_several_of"),
])
def test_hands_of_people_present_are_refused_where_every_show_of_hands_is(kind, rule, weighting, code):
    options = ["o1", "o2"] if kind is Kind.SEVERAL_OF else None
    voters = [Voter("a", area=50), Voter("b", area=70)]
    with pytest.raises(CountingError) as refused:
        counting.count(kind, rule, voters, {}, options=options, weighting=weighting,
                       show_of_hands={(options or ["for"])[0]: 1}, hands_of_present=True)
    assert refused.value.code == code


def test_hands_of_present_must_be_said_plainly():
    with pytest.raises(CountingError) as refused:
        counting.count(Kind.FOR_AGAINST, Rule.SIMPLE, [Voter("a")], {}, show_of_hands={"for": 1},
                       hands_of_present="yes")
    assert refused.value.code == "bad_hands_of_present"
    # Without hands the flag says nothing.
    r = counting.count(Kind.FOR_AGAINST, Rule.SIMPLE, [Voter("a")], {}, hands_of_present=True)
    assert r.show_of_hands is None and not r.hands_of_present and not r.as_dict()["hands_of_present"]


# ---------------------------------------------------------------- over HTTP


def hands(client, vote_id: int, present: bool = False, **counts: int):
    data = {f"hands-{k}": str(n) for k, n in counts.items()} | ({"hands_present": "on"} if present else {})
    return client.post(f"/votes/{vote_id}/hands", data=data, follow_redirects=False)


def test_a_vote_of_those_present_takes_hands_of_people_not_checked_in(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry)  # those checked in, by person, simple majority
    open_(facilitator, vote_id)
    cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "against")
    # Nine hands in a room of five checked in, one of whom voted: not theirs alone.
    refused = hands(facilitator, vote_id, **{"for": 6, "against": 3})
    assert refused.status_code == 422
    message = BeautifulSoup(refused.text, "html.parser").select_one("section[aria-labelledby=h-hands] .error")
    assert message.get_text(strip=True) == zh("More hands than eligible voters without a ballot. If people who "
                                              "are not checked in raised their hands, record them as people "
                                              "present.")
    db.expire_all()
    assert db.get(Vote, vote_id).hands == ""  # nothing stored
    assert hands(facilitator, vote_id, present=True, **{"for": 6, "against": 3}).status_code == 303
    db.expire_all()
    assert json.loads(db.get(Vote, vote_id).hands) == {"present": {"for": 6, "against": 3, "abstain": 0}}
    trail = db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "hands")).one()[0]
    assert trail.detail.startswith(zh("%(n)d hands of people present, not checked in: %(change)s")
                                   .split("%(n)d")[0])
    assert "9" in trail.detail
    page = BeautifulSoup(facilitator.get(f"/votes/{vote_id}").text, "html.parser")
    assert page.select_one("input[name=hands_present]").has_attr("checked")
    assert zh("plus %(n)d hands of people present, not checked in") % {"n": 9} in page.select_one(
        ".participation").text
    close(facilitator, vote_id)
    r = result(facilitator, vote_id)["result"]
    assert {t["key"]: (t["heads"], t["hands"]) for t in r["totals"]} == {
        "for": (6, 6), "against": (4, 3), "abstain": (0, 0)}
    assert r["hands_of_present"] and r["participation"]["heads"]["denominator"] == "14"  # 5 checked in + 9
    assert r["verdict"] == "passed"


def test_a_binding_household_vote_still_needs_eligible_voters(facilitator, db):
    issue = lift_issue(db)
    data = {"question": "更换单元门禁？", "kind": "for_against", "scope": "unit", "scope_building": "5",
            "scope_unit": "2", "counting_unit": "household", "weighting": "head", "rule": "simple",
            "closing": "facilitator"}
    r = facilitator.post(f"/issues/{issue.id}/votes", data=data, follow_redirects=False)
    vote_id = int(r.headers["location"].rsplit("/", 1)[1])
    open_(facilitator, vote_id)
    page = BeautifulSoup(facilitator.get(f"/votes/{vote_id}").text, "html.parser")
    assert page.select_one("section[aria-labelledby=h-hands]") and not page.select("input[name=hands_present]")
    # The eligible are the stairwell's owners as the law counts them (fewer than its households).
    households = len(db.exec(select(VoteElector).where(VoteElector.vote_id == vote_id)).all())
    assert households < len(unit_households(db))
    refused = hands(facilitator, vote_id, present=True, **{"for": 2})
    assert refused.status_code == 422
    assert BeautifulSoup(refused.text, "html.parser").select_one("section[aria-labelledby=h-hands] .error") \
        .get_text(strip=True) == zh("Hands of people who are not checked in count only in a consultation or a "
                                    "vote of those present; this vote needs eligible voters: check them in first.")
    too_many = hands(facilitator, vote_id, **{"for": households + 1})
    assert too_many.status_code == 422
    db.expire_all()
    assert db.get(Vote, vote_id).hands == ""
    assert db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "hands")).all() == []
    # Hands of households that have not voted are still taken.
    assert hands(facilitator, vote_id, **{"for": households}).status_code == 303


def test_a_consultation_of_households_takes_hands_of_people_present(facilitator, db):
    issue = lift_issue(db)
    data = {"question": "楼道绿化满意吗？", "kind": "rating", "scope": "unit", "scope_building": "5",
            "scope_unit": "2", "counting_unit": "household", "weighting": "head", "rule": "consultation",
            "closing": "facilitator"}
    r = facilitator.post(f"/issues/{issue.id}/votes", data=data, follow_redirects=False)
    vote_id = int(r.headers["location"].rsplit("/", 1)[1])
    open_(facilitator, vote_id)
    assert hands(facilitator, vote_id, present=True, satisfied=20, dissatisfied=3).status_code == 303
    close(facilitator, vote_id)
    r = result(facilitator, vote_id)["result"]
    assert r["hands_of_present"] and {t["key"]: t["heads"] for t in r["totals"]} == {
        "satisfied": 20, "basically_satisfied": 0, "dissatisfied": 3}


def test_ballots_after_a_show_of_hands_that_leave_too_many_refuse_the_closing_until_corrected(
        app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry)  # five checked in
    open_(facilitator, vote_id)
    assert hands(facilitator, vote_id, **{"for": 4}).status_code == 303
    for a in people[:2]:  # two whom the hands had counted vote on their tablets after all
        cast(tablet(app, a), vote_id, f"p{a.person_id}", "against")
    refused = facilitator.post(f"/votes/{vote_id}/close")
    assert refused.status_code == 422
    assert BeautifulSoup(refused.text, "html.parser").select_one("#close-error").get_text(strip=True) == zh(
        "The show of hands and the ballots together are more than the eligible voters; correct the show of "
        "hands, then close.")
    db.expire_all()
    assert db.get(Vote, vote_id).status == "open" and db.get(Vote, vote_id).result == ""
    assert hands(facilitator, vote_id, **{"for": 3}).status_code == 303
    close(facilitator, vote_id)
    totals = {t["key"]: t["heads"] for t in result(facilitator, vote_id)["result"]["totals"]}
    assert totals == {"for": 3, "against": 2, "abstain": 0}


def test_secret_ballots_waiting_to_be_written_leave_no_room_for_their_voters_hands(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry, secret="on")  # five checked in
    open_(facilitator, vote_id)
    for a in people[:2]:
        cast(tablet(app, a), vote_id, f"p{a.person_id}", "against")  # received, not yet written
    assert hands(facilitator, vote_id, **{"for": 4}).status_code == 422
    db.expire_all()
    assert db.get(Vote, vote_id).hands == ""
    assert hands(facilitator, vote_id, **{"for": 3}).status_code == 303
    close(facilitator, vote_id)
    totals = {t["key"]: t["heads"] for t in result(facilitator, vote_id)["result"]["totals"]}
    assert totals == {"for": 3, "against": 2, "abstain": 0}


def test_a_vote_past_its_closing_time_that_cannot_be_counted_stays_open_without_an_error(app, facilitator, db,
                                                                                           room):
    from datetime import timedelta

    from sqlalchemy import text

    from forum.models import now

    meeting, entry, people, guest = room
    at = (now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    vote_id = create(facilitator, meeting, entry, closing="time", closes_at=at)
    open_(facilitator, vote_id)
    assert hands(facilitator, vote_id, **{"for": 5}).status_code == 303
    cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "against")
    db.execute(text("UPDATE vote SET closes_at = :t WHERE id = :v"), {"t": now() - timedelta(minutes=1), "v": vote_id})
    db.commit()
    page = facilitator.get(f"/votes/{vote_id}")
    assert page.status_code == 200
    body = facilitator.get(f"/votes/{vote_id}/result.json").json()
    assert body["status"] == "open" and body["result"]["totals"][1]["heads"] == 1  # the hands left out meanwhile
    assert hands(facilitator, vote_id, **{"for": 4}).status_code == 303
    votes.close_due(app.state.engine)  # what the app's closer does within a second
    assert facilitator.get(f"/votes/{vote_id}/result.json").json()["status"] == "closed"

"""The electorate of owners' votes: owners as the SPC interpretation on building ownership (arts. 8–9)
counts them, worked out by hand; and, on the demo, a vote counting the owner of two flats once."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from forum import counting, electorate, votes
from forum.counting import Kind, Rule, Voter, Weighting
from forum.electorate import CO_OWNERS, DEVELOPER, SAME_OWNER, Unit, owners_of, rooms_label
from forum.models import (
    Area,
    Attendance,
    Household,
    Issue,
    Ownership,
    Person,
    Vote,
    VoteElector,
    VoteElectorUnit,
)

A, B, C, D, E = 1, 2, 3, 4, 5  # person ids


def unit(i: int, *owners: int, area: str = "100", dev: bool = False, label: str | None = None) -> Unit:
    return Unit(i, label or f"u{i}", int(Decimal(area) * 100), frozenset(owners), dev)


def groups(owners) -> list[tuple[str, tuple[int, ...], tuple[str, ...]]]:
    return [(o.key, tuple(u.id for u in o.units), o.reasons) for o in owners]


# ---------------------------------------------------------------- the rule, by hand


def test_one_unit_one_owner():
    out = owners_of([unit(1, A, area="89.5"), unit(2, B, area="106.48")])
    assert groups(out) == [("h1", (1,), ()), ("h2", (2,), ())]
    assert [o.area_centi for o in out] == [8950, 10648]
    assert [o.people for o in out] == [{A}, {B}]


def test_one_owner_of_three_units_counts_once_with_all_their_area():
    out = owners_of([unit(1, A, area="80"), unit(2, B), unit(3, A, area="60.25"), unit(4, A, area="45")])
    assert groups(out) == [("p1", (1, 3, 4), (SAME_OWNER,)), ("h2", (2,), ())]
    assert out[0].area_centi == 8000 + 6025 + 4500 and out[0].people == {A}
    assert out[0].rooms == "u1、u3、u4"


def test_an_owners_unit_outside_the_scope_is_not_counted():
    # A owns units 1, 3 and 9; unit 9 is in another stairwell, so the scope holds two of them.
    out = owners_of([unit(1, A, area="80"), unit(2, B), unit(3, A, area="60")])
    assert groups(out) == [("p1", (1, 3), (SAME_OWNER,)), ("h2", (2,), ())]
    assert out[0].area_centi == 14000
    # With only one of them in the scope, A is simply the owner of that unit.
    assert groups(owners_of([unit(1, A), unit(2, B)])) == [("h1", (1,), ()), ("h2", (2,), ())]


def test_the_developers_units_count_as_one_owner_with_their_total_area():
    out = owners_of([unit(1, dev=True, area="50"), unit(2, A), unit(3, dev=True, area="70.5"), unit(4, B)])
    assert groups(out) == [("dev", (1, 3), (DEVELOPER,)), ("h2", (2,), ()), ("h4", (4,), ())]
    assert out[0].area_centi == 12050 and out[0].people == frozenset()


def test_a_buyer_recorded_on_an_undelivered_unit_is_not_yet_its_owner():
    # C bought unit 1 but it is not delivered: it stays with the developer, and does not join C's unit 2.
    out = owners_of([unit(1, C, dev=True), unit(2, C), unit(3, A)])
    assert groups(out) == [("dev", (1,), (DEVELOPER,)), ("h2", (2,), ()), ("h3", (3,), ())]


def test_co_owners_of_a_unit_count_once():
    out = owners_of([unit(1, A, B), unit(2, C)])
    assert groups(out) == [("h1", (1,), (CO_OWNERS,)), ("h2", (2,), ())]
    assert out[0].people == {A, B} and out[0].area_centi == 10000


def test_a_co_owner_who_also_owns_another_unit_makes_them_one_owner():
    # A and B co-own unit 1; A alone owns unit 2. Both are A's units: one owner (module docstring).
    out = owners_of([unit(1, A, B, area="90"), unit(2, A, area="60"), unit(3, C)])
    assert groups(out) == [("p1", (1, 2), (SAME_OWNER, CO_OWNERS)), ("h3", (3,), ())]
    assert out[0].people == {A, B} and out[0].area_centi == 15000


def test_sharing_an_owner_is_transitive():
    # A+B own 1, B+C own 2, C owns 3: each pair shares a person, so all three are one owner; D apart.
    out = owners_of([unit(1, A, B), unit(2, B, C), unit(3, C), unit(4, D)])
    assert groups(out) == [("p1", (1, 2, 3), (SAME_OWNER, CO_OWNERS)), ("h4", (4,), ())]


def test_a_unit_with_no_recorded_owner_counts_as_its_own_owner():
    out = owners_of([unit(1), unit(2), unit(3, A)])
    assert groups(out) == [("h1", (1,), ()), ("h2", (2,), ()), ("h3", (3,), ())]


def test_a_unit_without_area_gives_its_owner_none_so_the_vote_is_refused():
    out = owners_of([Unit(1, "u1", 0, frozenset({A})), unit(2, A)])
    assert out[0].area_centi == 0


def test_a_unit_listed_twice_is_a_programming_error():
    with pytest.raises(ValueError):
        owners_of([unit(1, A), unit(1, B)])


def test_every_unit_is_in_exactly_one_owner_and_every_person_in_at_most_one():
    units = [unit(1, A, B), unit(2, B), unit(3, dev=True), unit(4), unit(5, C), unit(6, C, D), unit(7, E),
             unit(8, dev=True)]
    out = owners_of(units)
    assert sorted(u.id for o in out for u in o.units) == list(range(1, 9))
    people = [p for o in out for p in o.people]
    assert len(people) == len(set(people))
    assert len({o.key for o in out}) == len(out)
    assert sorted(tuple(u.id for u in o.units) for o in out) == [(1, 2), (3, 8), (4,), (5, 6), (7,)]


@pytest.mark.parametrize("order", list(itertools.permutations(range(5))))
def test_the_owners_do_not_depend_on_the_order_of_the_units(order):
    units = [unit(1, A, B), unit(2, B), unit(3, dev=True), unit(4), unit(5, C)]
    shuffled = [units[i] for i in order]
    as_sets = lambda out: sorted((o.key, sorted(u.id for u in o.units), sorted(o.reasons)) for o in out)  # noqa: E731
    assert as_sets(owners_of(shuffled)) == as_sets(owners_of(units))


def test_long_lists_of_rooms_are_cut_and_say_how_many_more():
    labels = [f"5-2-{n}" for n in range(101, 141)]
    text = rooms_label(labels, 60)
    assert len(text) <= 60 and text.startswith("5-2-101、5-2-102")
    shown = text.split("…")[0].split("、")
    assert text.endswith(f"… +{40 - len(shown)}")
    assert rooms_label(["a", "b"]) == "a、b"


# ---------------------------------------------------------------- thresholds flip because of the merge


def as_owners(units: list[Unit]) -> list[Voter]:
    return [Voter(o.key, area=Fraction(o.area_centi, 100)) for o in owners_of(units)]


def as_rows(units: list[Unit]) -> list[Voter]:
    return [Voter(f"h{u.id}", area=Fraction(u.area_centi, 100)) for u in units]


def ballots_by_unit(units: list[Unit], choice_of: dict[int, str], *, by_owner: bool) -> dict[str, str]:
    """Each voter's ballot: the choice of (any of) its units; voters whose units did not vote are absent."""
    key_of_unit = {u.id: o.key for o in owners_of(units) for u in o.units} if by_owner \
        else {u.id: f"h{u.id}" for u in units}
    return {key_of_unit[i]: c for i, c in choice_of.items()}


def verdicts(units: list[Unit], choice_of: dict[int, str]) -> tuple[counting.Result, counting.Result]:
    by_rows = counting.count(Kind.FOR_AGAINST, Rule.OWNERS_MAJOR, as_rows(units),
                             ballots_by_unit(units, choice_of, by_owner=False), weighting=Weighting.BOTH)
    by_owners = counting.count(Kind.FOR_AGAINST, Rule.OWNERS_MAJOR, as_owners(units),
                               ballots_by_unit(units, choice_of, by_owner=True), weighting=Weighting.BOTH)
    return by_rows, by_owners


def test_rows_would_pass_but_owners_fail_when_one_owner_of_three_units_agrees():
    # X (person A) owns units 1–3 and votes for; five other owners, units 4–8, three for and two against.
    # Rows: 6 of 8 for = 3/4 ≥ 3/4 passes. Owners: A counts once, 4 of 6 = 2/3 < 3/4 fails.
    # Area is the same either way: 600 / 800 m² = 3/4.
    units = [unit(1, A), unit(2, A), unit(3, A)] + [unit(i, 10 + i) for i in range(4, 9)]
    choice = {1: "for", 2: "for", 3: "for", 4: "for", 5: "for", 6: "for", 7: "against", 8: "against"}
    by_rows, by_owners = verdicts(units, choice)
    heads = lambda r: [(c.numerator, c.denominator) for c in r.comparisons if c.basis == "head"]  # noqa: E731
    assert heads(by_rows) == [(8, 8), (6, 8)] and by_rows.verdict == "passed"
    assert heads(by_owners) == [(6, 6), (4, 6)] and by_owners.verdict == "failed"
    areas = [(c.numerator, c.denominator) for c in by_owners.comparisons if c.basis == "area"]
    assert areas == [(800, 800), (600, 800)]


def test_rows_would_fail_but_owners_pass_when_one_owner_of_three_units_disagrees():
    # Y (person B) owns three small units (20 m² each) and votes against; five owners of 100 m² for.
    # Rows: 5/8 < 3/4 fails by head. Owners: 5/6 ≥ 3/4; area 500/560 ≥ 3/4: passes.
    units = [unit(1, B, area="20"), unit(2, B, area="20"), unit(3, B, area="20")] + \
        [unit(i, 10 + i) for i in range(4, 9)]
    choice = {1: "against", 2: "against", 3: "against"} | {i: "for" for i in range(4, 9)}
    by_rows, by_owners = verdicts(units, choice)
    assert by_rows.verdict == "failed" and [c.met for c in by_rows.comparisons] == [True, True, True, False]
    assert by_owners.verdict == "passed"
    agree = by_owners.comparisons[3]
    assert (agree.basis, agree.numerator, agree.denominator) == ("head", 5, 6)


def test_the_developers_silence_fails_participation_by_rows_but_not_by_owners():
    # Four unsold units (50 m² each) whose developer does not vote; six owners of 100 m² all vote for.
    # Rows: 6/10 took part < 2/3 fails. Owners: the developer is one owner, 6/7 ≥ 2/3; area 600/800 ≥ 2/3.
    units = [unit(i, dev=True, area="50") for i in range(1, 5)] + [unit(i, 10 + i) for i in range(5, 11)]
    choice = {i: "for" for i in range(5, 11)}
    by_rows, by_owners = verdicts(units, choice)
    assert by_rows.comparisons[1].basis == "head" and not by_rows.comparisons[1].met
    assert (by_rows.comparisons[1].numerator, by_rows.comparisons[1].denominator) == (6, 10)
    assert by_rows.verdict == "failed" and by_owners.verdict == "passed"
    assert (by_owners.comparisons[1].numerator, by_owners.comparisons[1].denominator) == (6, 7)


def test_the_developer_voting_against_once_can_pass_what_rows_would_fail():
    # The developer holds 2 units and votes against; 6 owners for. Rows 6/8 ≥ 3/4 passes by head as it
    # happens, so take 3 developer units: rows 6/9 < 3/4 fails; owners 6/7 ≥ 3/4 passes (area 600/750).
    units = [unit(i, dev=True, area="50") for i in range(1, 4)] + [unit(i, 10 + i) for i in range(4, 10)]
    choice = {1: "against", 2: "against", 3: "against"} | {i: "for" for i in range(4, 10)}
    by_rows, by_owners = verdicts(units, choice)
    assert (by_rows.verdict, by_owners.verdict) == ("failed", "passed")


# ---------------------------------------------------------------- on the demo's lift stairwell


@pytest.fixture
def db(demo_engine):
    with Session(demo_engine, expire_on_commit=False) as session:
        yield session


def stairwell(db: Session) -> dict[str, Household]:
    community = db.exec(select(Area).where(Area.slug == "jiaochangkou")).one()
    return {h.room: h for h in db.exec(select(Household).where(Household.community_id == community.id,
                                                                Household.building == "5", Household.unit == "2"))}


def owners_vote(db: Session, scope: str = "unit", counting_unit: str = "household", **over) -> Vote:
    community = db.exec(select(Area).where(Area.slug == "jiaochangkou")).one()
    vote = Vote(community_id=community.id, question="加装电梯", kind="for_against", scope=scope, scope_building="5",
                scope_unit="2" if scope == "unit" else "", counting_unit=counting_unit,
                weighting="both" if counting_unit == "household" else "head",
                rule="owners_major" if counting_unit == "household" else "simple", created_by="test", **over)
    db.add(vote)
    db.commit()
    return vote


def owner_of(db: Session, household: Household) -> list[int]:
    return sorted(db.exec(select(Ownership.person_id).where(Ownership.household_id == household.id)))


def test_the_lift_stairwell_has_twelve_units_and_ten_owners(db):
    flats = stairwell(db)
    vote = owners_vote(db)
    electors, links = electorate.build(db, vote)
    by_key = {e.voter_key: e for e in electors}
    assert len(electors) == 10 and sum(e.units for e in electors) == 12 and len(links) == 12
    dev = by_key["dev"]
    assert (dev.units, dev.merged, dev.area_centi) == (2, DEVELOPER, sum(
        int(flats[r].floor_area * 100) for r in ("101", "102")))
    [double] = [e for e in electors if e.merged == SAME_OWNER]
    assert double.units == 2 and double.label == "5-2-301、5-2-302"
    assert double.area_centi == int((flats["301"].floor_area + flats["302"].floor_area) * 100)
    assert owner_of(db, flats["301"]) == owner_of(db, flats["302"]) == [double.person_id]
    couple = by_key[f"h{flats['401'].id}"]
    assert couple.merged == CO_OWNERS and len(owner_of(db, flats["401"])) == 2
    assert electorate.scope_summary(db, vote).owners == 10


def test_keys_for_people_and_households(db):
    flats = stairwell(db)
    vote = owners_vote(db)
    double_owner = owner_of(db, flats["301"])[0]
    wife, husband = owner_of(db, flats["401"])
    tenant = db.exec(select(Person).where(Person.household_id == flats["101"].id)).first()

    def check() -> None:
        assert electorate.key_for_person(db, vote, double_owner) == f"p{double_owner}"
        assert electorate.key_for_household(db, vote, flats["302"].id) == f"p{double_owner}"
        assert electorate.key_for_person(db, vote, wife) == electorate.key_for_person(db, vote, husband) == \
            f"h{flats['401'].id}"
        assert electorate.key_for_household(db, vote, flats["101"].id) == "dev"
        # The tenant living in a developer-held flat owns nothing: no ballot of their own.
        assert electorate.key_for_person(db, vote, tenant.id) is None

    check()  # a draft: worked out from the register
    votes.open_vote(db, vote, actor="test")
    db.commit()
    check()  # open: read from the units fixed at opening
    assert db.get(VoteElectorUnit, (vote.id, flats["302"].id)).voter_key == f"p{double_owner}"
    assert db.get(VoteElector, (vote.id, f"p{double_owner}")).units == 2
    # Out of the scope: an owner in another stairwell has no key, nor does a household there.
    elsewhere = db.exec(select(Household).where(Household.building == "1")).first()
    assert electorate.key_for_household(db, vote, elsewhere.id) is None
    assert electorate.key_for_person(db, vote, owner_of(db, elsewhere)[0]) is None


def test_a_building_scope_joins_an_owners_units_across_stairwells_and_a_unit_scope_does_not(db):
    flats = stairwell(db)
    double_owner = owner_of(db, flats["301"])[0]
    other = db.exec(select(Household).where(Household.community_id == flats["301"].community_id,
                                            Household.building == "5", Household.unit == "1",
                                            Household.room == "201")).one()
    db.add(Ownership(household_id=other.id, person_id=double_owner))
    db.commit()
    in_unit = {e.voter_key: e for e in electorate.compute_electorate(db, owners_vote(db))}
    assert in_unit[f"p{double_owner}"].units == 2
    building_vote = owners_vote(db, scope="building")
    in_building = {e.voter_key: e for e in electorate.compute_electorate(db, building_vote)}
    # Keyed by the smallest person id among them: 5-1-201's first owner's.
    key = electorate.key_for_person(db, building_vote, double_owner)
    assert key == f"p{min(owner_of(db, other))}"
    assert in_building[key].units == 3
    assert in_building[key].label == "5-1-201、5-2-301、5-2-302"
    # Building 5 has 36 flats; the developer's two are one owner, and 5-1-201 (now co-owned with the
    # owner of 5-2-301 and 302) is one owner with those two: 36 - 1 - 2 = 33.
    assert len(in_building) == 33
    assert set(in_building[key].merged.split(",")) == {SAME_OWNER, CO_OWNERS}


def test_one_ballot_per_person_gives_each_owner_one_ballot_once(db):
    flats = stairwell(db)
    vote = owners_vote(db, counting_unit="person")
    electors = {e.voter_key: e for e in electorate.compute_electorate(db, vote)}
    double_owner = owner_of(db, flats["301"])[0]
    # Seven owners of one flat (201, 202, 402, 501, 502, 601, 602), the couple of 401 (two people) and
    # the owner of 301 and 302 (once); the developer is nobody: ten people.
    assert len(electors) == 10 and electors[f"p{double_owner}"].units == 2
    assert all(e.person_id for e in electors.values())


def test_a_vote_through_the_app_counts_the_owner_of_two_flats_once(app, facilitator, db):
    """The lift vote on the demo: the owner of 301 and 302 casts once, with both flats' area."""
    flats = stairwell(db)
    issue_id = db.exec(select(Issue.id).where(Issue.title == "5栋2单元加装电梯")).one()
    data = {"question": "是否同意5栋2单元加装电梯？", "kind": "for_against", "scope": "unit", "scope_building": "5",
            "scope_unit": "2", "counting_unit": "household", "weighting": "both", "rule": "owners_major",
            "closing": "facilitator", "results_while_open": "on"}
    r = facilitator.post(f"/issues/{issue_id}/votes", data=data, follow_redirects=False)
    vote_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert facilitator.post(f"/votes/{vote_id}/open", follow_redirects=False).status_code == 303
    double_owner = owner_of(db, flats["301"])[0]
    key = f"p{double_owner}"
    # Entered once under the owner's key; a second paper ballot for flat 302 is the same voter.
    ok = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": key, "serial": "A1", "choice": "for"},
                          follow_redirects=False)
    assert ok.status_code == 303
    again = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": f"h{flats['302'].id}", "serial": "A2",
                                                              "choice": "for"})
    assert again.status_code == 422
    body = facilitator.get(f"/votes/{vote_id}/result.json").json()
    assert (body["ballots"], body["eligible"]) == (1, 10)
    totals = {t["key"]: t for t in body["result"]["totals"]}
    assert totals["for"]["heads"] == 1
    assert Decimal(totals["for"]["area"]) == flats["301"].floor_area + flats["302"].floor_area
    # A tablet checked in for flat 302 by its resident (the owner's son) casts the owner's one ballot.
    son = db.exec(select(Person).where(Person.household_id == flats["302"].id)).first()
    attendance = Attendance(meeting_id=None, person_id=son.id, household_id=flats["302"].id, name=son.name,
                            building="5", unit="2", room="302", is_guest=False)
    assert votes.voter_key_for(db, db.get(Vote, vote_id), attendance) == key
    page = BeautifulSoup(facilitator.get(f"/votes/{vote_id}").text, "html.parser")
    said = page.select_one(".owners-count").get_text(" ", strip=True)
    assert re.search(r"12\s*套", said) and re.search(r"10\s*位", said), said
    merges = [li.get_text(" ", strip=True) for li in page.select(".merges li")]
    assert len(merges) == 3
    assert any("5-2-101、5-2-102" in m and "开发建设单位" in m for m in merges), merges
    assert any("5-2-301、5-2-302" in m and "同一业主" in m for m in merges), merges
    assert any(m.startswith("5-2-401") and "共有" in m for m in merges), merges


def test_a_vote_opened_before_units_were_recorded_still_finds_its_households(db):
    flats = stairwell(db)
    vote = owners_vote(db)
    vote.status = "open"
    db.add(vote)
    db.add(VoteElector(vote_id=vote.id, voter_key=f"h{flats['201'].id}", label="5-2-201", owner=True))
    db.commit()
    assert electorate.key_for_household(db, vote, flats["201"].id) == f"h{flats['201'].id}"
    assert electorate.key_for_person(db, vote, owner_of(db, flats["201"])[0]) == f"h{flats['201'].id}"
    assert electorate.key_for_household(db, vote, flats["202"].id) is None


def test_a_buyer_registered_on_a_developer_unit_gets_no_person_ballot_for_it(db):
    """An unsold or undelivered unit is the developer's, whatever the register already records on it:
    in a one-ballot-per-person vote it gives nobody a ballot nor adds to anyone's units."""
    flats = stairwell(db)
    buyer = owner_of(db, flats["201"])[0]
    db.add(Ownership(household_id=flats["101"].id, person_id=buyer))
    db.commit()
    electors = {e.voter_key: e for e in electorate.compute_electorate(db, owners_vote(db, counting_unit="person"))}
    assert len(electors) == 10 and electors[f"p{buyer}"].units == 1
    assert "101" not in electors[f"p{buyer}"].label

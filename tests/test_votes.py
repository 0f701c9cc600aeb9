"""Votes over HTTP and in the service: setting up, every way of casting, refusals, exactly-once
counting under concurrency, secrecy of secret ballots, and the lift vote of Building 5 Unit 2."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select
from starlette.testclient import TestClient

from forum import i18n, verification, votes
from forum.models import (
    AgendaEntry,
    Attendance,
    Household,
    Issue,
    IssueEvent,
    Meeting,
    Ownership,
    Person,
    Vote,
    VoteAudit,
    VoteTally,
    now,
)
from forum.views.votes import DEVICE_COOKIE
from forum.votes import tablets
from tests.conftest import sign_in

# ---------------------------------------------------------------- helpers


def lift_issue(db: Session) -> Issue:
    return db.exec(select(Issue).where(Issue.title == "5栋2单元加装电梯")).one()


def lift_meeting(db: Session) -> tuple[Meeting, AgendaEntry]:
    """The upcoming weekly talk with the lift on its agenda."""
    issue = lift_issue(db)
    entries = db.exec(select(AgendaEntry).where(AgendaEntry.issue_id == issue.id)).all()
    pairs = [(db.get(Meeting, e.meeting_id), e) for e in entries]
    return max(pairs, key=lambda p: p[0].starts_at)


def unit_households(db: Session) -> list[Household]:
    issue = lift_issue(db)
    return list(db.exec(select(Household).where(Household.community_id == issue.community_id,
                                                Household.building == "5", Household.unit == "2")
                        .order_by(Household.room)))


def check_in(db: Session, meeting: Meeting, person: Person | None = None, name: str = "来宾") -> Attendance:
    household = db.get(Household, person.household_id) if person and person.household_id else None
    a = Attendance(meeting_id=meeting.id, person_id=person.id if person else None,
                   household_id=household.id if household else None, name=person.name if person else name,
                   building=household.building if household else "", unit=household.unit if household else "",
                   room=household.room if household else "", is_guest=person is None,
                   device_token=secrets.token_hex(16), checked_in_by="前台", admitted=True)
    db.add(a)
    db.commit()
    db.refresh(a)
    return a


def registered_owner(db: Session, household_id: int) -> Person | None:
    """The first owner the register records for a household (None for a developer's unsold unit)."""
    return db.exec(select(Person).join(Ownership, Ownership.person_id == Person.id)
                   .where(Ownership.household_id == household_id).order_by(Person.id)).first()


def owners_of_unit(db: Session) -> list[Person]:
    ids = [h.id for h in unit_households(db)]
    return list(db.exec(select(Person).where(Person.household_id.in_(ids)).order_by(Person.household_id)))


def form_for_meeting(entry: AgendaEntry, **over) -> dict:
    data = {"agenda_entry": str(entry.id), "question": "同意按方案推进吗？", "kind": "for_against", "options": "",
            "scope": "attendance", "counting_unit": "person", "weighting": "head", "rule": "simple",
            "closing": "facilitator", "closes_at": "", "results_while_open": "on"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def create(client, meeting: Meeting, entry: AgendaEntry, **over) -> int:
    r = client.post(f"/meetings/{meeting.id}/votes", data=form_for_meeting(entry, **over), follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def open_(client, vote_id: int) -> None:
    r = client.post(f"/votes/{vote_id}/open", follow_redirects=False)
    assert r.status_code == 303, r.text


def close(client, vote_id: int) -> None:
    r = client.post(f"/votes/{vote_id}/close", follow_redirects=False)
    assert r.status_code == 303, r.text


def tablet(app, attendance: Attendance):
    from starlette.testclient import TestClient

    c = TestClient(app)
    c.cookies.set(DEVICE_COOKIE, attendance.device_token)
    return c


def cast(client, vote_id: int, voter: str, *choices: str):
    return client.post(f"/votes/{vote_id}/cast", data={"voter": voter, "choice": list(choices)})


def at_once(work, items) -> list[str]:
    """Run ``work(item, ready)`` for every item, each in a thread of its own; each calls ``ready()``
    when set, and all go on from there together. Returns what failed."""
    barrier = threading.Barrier(len(items), timeout=30)
    failures = []

    def run(item) -> None:
        try:
            work(item, barrier.wait)
        except Exception as e:  # noqa: BLE001 - returned, for the test to assert on
            failures.append(repr(e))

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def zh(message: str) -> str:
    """What the Chinese interface says for a message id."""
    token = i18n.set_language("zh-Hans")
    try:
        return i18n.gettext(message)
    finally:
        i18n.reset_language(token)


def result(client, vote_id: int) -> dict:
    return client.get(f"/votes/{vote_id}/result.json").json()


@pytest.fixture
def db(demo_engine):
    with Session(demo_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def room(db):
    """The lift meeting with four unit owners and one guest checked in."""
    meeting, entry = lift_meeting(db)
    owners = owners_of_unit(db)[:4]
    people = [check_in(db, meeting, p) for p in owners]
    guest = check_in(db, meeting, None, "访客")
    return meeting, entry, people, guest


# ---------------------------------------------------------------- setting up


def test_meeting_page_links_to_votes(client, db):
    meeting, _ = lift_meeting(db)
    page = client.get(f"/meetings/{meeting.id}")
    assert f"/meetings/{meeting.id}/votes" in page.text


@pytest.mark.parametrize(("over", "field"), [
    ({"question": ""}, "question"),
    ({"question": "问" * 301}, "question"),
    ({"kind": "bogus"}, "kind"),
    ({"kind": "one_of", "options": "只有一个", "rule": "consultation"}, "options"),
    ({"kind": "one_of", "options": "甲\n甲", "rule": "consultation"}, "options"),
    ({"options": "甲\n乙"}, "options"),
    ({"kind": "several_of", "options": "甲\n乙", "max_choices": "5", "rule": "consultation"}, "max_choices"),
    ({"kind": "several_of", "options": "甲\n乙", "max_choices": "x", "rule": "consultation"}, "max_choices"),
    ({"scope": "street"}, "scope"),
    ({"scope": "building", "scope_building": "99"}, "scope_building"),
    ({"scope": "unit", "scope_building": "5", "scope_unit": "9"}, "scope_unit"),
    ({"counting_unit": "dog"}, "counting_unit"),
    ({"weighting": "weight"}, "weighting"),
    ({"weighting": "area"}, "weighting"),
    ({"rule": "unanimous"}, "rule"),
    ({"kind": "rating", "rule": "simple"}, "rule"),
    ({"rule": "owners_major"}, "rule"),
    ({"secret": "on", "allow_change": "on"}, "allow_change"),
    ({"closing": "whenever"}, "closing"),
    ({"closing": "time", "closes_at": "soon"}, "closes_at"),
    ({"closing": "time", "closes_at": "2001-01-01T10:00"}, "closes_at"),
    ({"agenda_entry": "999999"}, "agenda_entry"),
])
def test_bad_input_is_shown_beside_its_field_and_kept(facilitator, db, over, field):
    meeting, entry = lift_meeting(db)
    data = form_for_meeting(entry, **over)
    r = facilitator.post(f"/meetings/{meeting.id}/votes", data=data)
    assert r.status_code == 422
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one(f"#{field}-error"), r.text
    control = soup.select_one(f"#f-{field}")
    if control is not None and control.name == "input" and control.get("type") not in ("checkbox",):
        assert control.get("value", "") == data.get(field, "")
    assert control is None or control.get("aria-invalid") == "true"
    assert soup.select_one("#f-question").text == data["question"] or field == "question"


@pytest.mark.parametrize(("place", "expected"), [
    ("5栋2单元", ("5", "2")), ("5号楼2单元门口", ("5", "2")), ("12幢 3 单元", ("12", "3")),
    ("Building 5, Unit 2", ("5", "2")), ("building 7 unit 1", ("7", "1")),
    ("2栋临街人行道", None), ("小区花园", None), ("", None),
])
def test_stairwell_is_read_from_a_place(place, expected):
    assert votes.stairwell(place) == expected


def test_an_issue_vote_starts_as_an_owners_decision_of_its_stairwell(facilitator, db):
    issue = lift_issue(db)  # placed at 5栋2单元
    form = BeautifulSoup(facilitator.get(f"/issues/{issue.id}/votes").text, "html.parser")
    assert form.select_one("[name=scope_building]")["value"] == "5"
    assert form.select_one("[name=scope_unit]")["value"] == "2"
    assert form.select_one("[name=scope] option[selected]")["value"] == "unit"
    assert form.select_one("[name=rule] option[selected]")["value"] == "owners_major"
    assert form.select_one("[name=counting_unit] option[selected]")["value"] == "household"


def test_creating_needs_a_facilitator(client, committee_member, db):
    meeting, entry = lift_meeting(db)
    r = client.post(f"/meetings/{meeting.id}/votes", data=form_for_meeting(entry), follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]
    r = committee_member.post(f"/meetings/{meeting.id}/votes", data=form_for_meeting(entry))
    assert r.status_code == 403


def test_zero_floor_area_is_refused_naming_the_rooms(facilitator, db):
    issue = lift_issue(db)
    flats = unit_households(db)
    for h in flats[:2]:
        h.floor_area = Decimal("0")
        db.add(h)
    db.commit()
    data = {"question": "加装电梯", "kind": "for_against", "scope": "unit", "scope_building": "5", "scope_unit": "2",
            "counting_unit": "household", "weighting": "both", "rule": "owners_major", "closing": "facilitator"}
    r = facilitator.post(f"/issues/{issue.id}/votes", data=data)
    assert r.status_code == 422
    error = BeautifulSoup(r.text, "html.parser").select_one("#rule-error").text
    assert f"5-2-{flats[0].room}" in error and f"5-2-{flats[1].room}" in error


def test_zero_area_appearing_before_opening_is_refused_at_open(facilitator, db):
    issue = lift_issue(db)
    data = {"question": "加装电梯", "kind": "for_against", "scope": "unit", "scope_building": "5", "scope_unit": "2",
            "counting_unit": "household", "weighting": "both", "rule": "owners_major", "closing": "facilitator"}
    r = facilitator.post(f"/issues/{issue.id}/votes", data=data, follow_redirects=False)
    vote_id = int(r.headers["location"].rsplit("/", 1)[1])
    flat = unit_households(db)[3]
    flat.floor_area = Decimal("0")
    db.add(flat)
    db.commit()
    r = facilitator.post(f"/votes/{vote_id}/open")
    assert r.status_code == 422 and f"5-2-{flat.room}" in r.text
    assert db.get(Vote, vote_id).status == "draft"


# ---------------------------------------------------------------- the lift vote


def test_lift_vote_owners_major_matter_with_checkable_fractions(facilitator, db):
    issue = lift_issue(db)
    data = {"question": "是否同意5栋2单元加装电梯？", "kind": "for_against", "scope": "unit", "scope_building": "5",
            "scope_unit": "2", "counting_unit": "household", "weighting": "head", "rule": "owners_major",
            "closing": "facilitator", "results_while_open": "on"}
    r = facilitator.post(f"/issues/{issue.id}/votes", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    vote_id = int(r.headers["location"].rsplit("/", 1)[1])
    open_(facilitator, vote_id)
    flats = {h.room: h for h in unit_households(db)}
    assert len(flats) == 12
    # Ten owners (SPC art. 9): the developer's 101+102, the owner of 301+302, the couple of 401, and
    # one owner each of 201, 202, 402, 501, 502, 601, 602. The developer does not vote; seven owners
    # for, one against, one abstains: by head 9/10 take part, 7/9 agree.
    vote = db.get(Vote, vote_id)
    plan = {"301": "for", "401": "for", "402": "for", "501": "for", "502": "for", "601": "for", "602": "for",
            "201": "against", "202": "abstain"}
    for serial, (room, choice) in enumerate(plan.items(), start=1):
        key = votes.key_for_household(db, vote, flats[room].id)
        r = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": key, "serial": f"P{serial:03d}",
                                                              "choice": choice}, follow_redirects=False)
        assert r.status_code == 303, r.text
    assert votes.key_for_household(db, vote, flats["302"].id) == votes.key_for_household(db, vote, flats["301"].id)
    close(facilitator, vote_id)
    page = facilitator.get(f"/votes/{vote_id}")
    soup = BeautifulSoup(page.text, "html.parser")
    cents = {room: int(f.floor_area * 100) for room, f in flats.items()}
    total = sum(cents.values())
    voted = total - cents["101"] - cents["102"]
    agree = voted - cents["201"] - cents["202"]
    lines = [li.get_text(" ", strip=True) for li in soup.select(".comparisons li")]
    assert len(lines) == 4
    area = lambda c: f"{Decimal(c) / 100:.2f}"  # noqa: E731
    assert f"{area(voted)} / {area(total)} m²" in lines[0] and "≥ 2/3" in lines[0]
    assert "9 / 10" in lines[1] and "≥ 2/3" in lines[1]
    assert f"{area(agree)} / {area(voted)} m²" in lines[2] and "≥ 3/4" in lines[2]
    assert "7 / 9" in lines[3]
    # The verdict follows from the shown fractions.
    expected = voted * 3 >= total * 2 and 9 * 3 >= 10 * 2 and agree * 4 >= voted * 3 and 7 * 4 >= 9 * 3
    assert expected  # with the demo's areas: 979.60/1175.52, 9/10, 783.68/979.60, 7/9: passed
    verdict = soup.select_one(".verdict").get_text(strip=True)
    assert verdict == ("通过" if expected else "未通过") or verdict in ("Passed", "Not passed")
    assert soup.select_one("svg.vote-chart title")
    # Into the issue's timeline, and the audit record lists open, every ballot, close.
    events = db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id, IssueEvent.action == "vote")).all()
    assert len(events) == 1 and "是否同意5栋2单元加装电梯" in events[0].note
    actions = [a.action for a in db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id))]
    assert actions == ["create", "open"] + ["ballot"] * 9 + ["close"]
    assert "是否同意5栋2单元加装电梯" in facilitator.get(f"/issues/{issue.id}").text


def test_paper_ballot_serials_are_unique_per_vote_and_a_voter_votes_once(facilitator, db):
    issue = lift_issue(db)
    data = {"question": "加装电梯", "kind": "for_against", "scope": "unit", "scope_building": "5", "scope_unit": "2",
            "counting_unit": "household", "weighting": "both", "rule": "owners_major", "closing": "facilitator"}
    vote_id = int(facilitator.post(f"/issues/{issue.id}/votes", data=data,
                                   follow_redirects=False).headers["location"].rsplit("/", 1)[1])
    open_(facilitator, vote_id)
    a, b = unit_households(db)[2:4]  # 201 and 202, each its own owner (101 and 102 are the developer's)
    ok = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": f"h{a.id}", "serial": "001", "choice": "for"},
                          follow_redirects=False)
    assert ok.status_code == 303
    dup = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": f"h{b.id}", "serial": "001", "choice": "for"})
    error = BeautifulSoup(dup.text, "html.parser").select_one("#paper-serial-error")
    assert dup.status_code == 422 and "001" in error.text
    again = facilitator.post(f"/votes/{vote_id}/paper",
                             data={"voter": f"h{a.id}", "serial": "002", "choice": "against"})
    assert again.status_code == 422
    missing = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": f"h{b.id}", "serial": "", "choice": ""})
    assert missing.status_code == 422
    soup = BeautifulSoup(missing.text, "html.parser")
    assert soup.select_one("#paper-serial-error") and soup.select_one("#paper-choice-error")
    outsider = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": "h999999", "serial": "003", "choice": "for"})
    assert outsider.status_code == 422
    assert result(facilitator, vote_id)["ballots"] == 1


# ---------------------------------------------------------------- tablets


def test_tablet_casts_once_and_refusals_are_clear(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry)
    t = tablet(app, people[0])
    assert "vote-chart" not in t.get(f"/votes/{vote_id}/ballot").text
    early = cast(t, vote_id, f"p{people[0].person_id}", "for")
    assert early.status_code == 409
    open_(facilitator, vote_id)
    page = BeautifulSoup(t.get(f"/votes/{vote_id}/ballot").text, "html.parser")
    buttons = page.select("form.ballot button[name=choice]")
    assert [b["value"] for b in buttons] == ["for", "against", "abstain"]
    assert all(b.get_text(strip=True) for b in buttons)  # each has an accessible name
    key = page.select_one("form.ballot input[name=voter]")["value"]
    assert key == f"p{people[0].person_id}"
    for _ in range(3):  # a double (triple) tap
        assert cast(t, vote_id, key, "for").status_code == 200
    assert result(facilitator, vote_id)["ballots"] == 1
    assert result(facilitator, vote_id)["result"]["totals"][0]["heads"] == 1
    # Not allowed to change in this vote.
    assert cast(t, vote_id, key, "against").status_code == 409
    # Unknown option, someone else's ballot, no tablet at all.
    t2 = tablet(app, people[1])
    assert cast(t2, vote_id, f"p{people[1].person_id}", "maybe").status_code == 422
    assert cast(t2, vote_id, key, "against").status_code == 422
    from starlette.testclient import TestClient

    assert cast(TestClient(app), vote_id, key, "for").status_code == 403
    # A guest checked in votes by person in an attendance-scope vote.
    g = tablet(app, guest)
    assert cast(g, vote_id, f"a{guest.id}", "against").status_code == 200
    close(facilitator, vote_id)
    closed = cast(t2, vote_id, f"p{people[1].person_id}", "for")
    assert closed.status_code == 409
    r = result(facilitator, vote_id)
    assert r["ballots"] == 2 and r["status"] == "closed" and r["result"]["verdict"] == "failed"
    # Every tablet shows the result once the vote has closed.
    assert "vote-chart" in t2.get(f"/votes/{vote_id}/ballot").text


def test_htmx_cast_returns_the_ballot_fragment(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    t = tablet(app, people[0])
    r = t.post(f"/votes/{vote_id}/cast", data={"voter": f"p{people[0].person_id}", "choice": "for"},
               headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<div id="ballot-{vote_id}"')


def test_changing_an_open_ballot_replaces_it(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry, allow_change="on")
    open_(facilitator, vote_id)
    t = tablet(app, people[0])
    key = f"p{people[0].person_id}"
    cast(t, vote_id, key, "for")
    r = cast(t, vote_id, key, "against")
    assert r.status_code == 200
    totals = {x["key"]: x["heads"] for x in result(facilitator, vote_id)["result"]["totals"]}
    assert totals == {"for": 0, "against": 1, "abstain": 0}
    actions = [a.action for a in db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id))]
    assert actions[-2:] == ["ballot", "change"]
    close(facilitator, vote_id)
    assert result(facilitator, vote_id)["result"]["totals"][1]["heads"] == 1


def test_household_vote_counts_one_ballot_per_household(app, facilitator, db):
    meeting, entry = lift_meeting(db)
    owner = owners_of_unit(db)[0]
    first = check_in(db, meeting, owner)
    household = db.get(Household, owner.household_id)
    spouse = Person(name="配偶", household_id=household.id)
    db.add(spouse)
    db.commit()
    second = check_in(db, meeting, spouse)
    for attendance, person in ((first, owner), (second, spouse)):  # a household ballot binds: both showed ID
        verification.verify(db, attendance, household, person, method="register", by="前台")
    db.commit()
    vote_id = create(facilitator, meeting, entry, counting_unit="household")
    open_(facilitator, vote_id)
    key = f"h{household.id}"
    assert cast(tablet(app, first), vote_id, key, "for").status_code == 200
    assert cast(tablet(app, second), vote_id, key, "for").status_code == 200
    assert result(facilitator, vote_id)["ballots"] == 1


def test_proxy_lets_its_holder_cast_for_the_principal(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry)
    principal = f"p{people[1].person_id}"
    bad = facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": "p0", "holder": ""})
    assert bad.status_code == 422
    soup = BeautifulSoup(bad.text, "html.parser")
    assert soup.select_one("#principal-error") and soup.select_one("#holder-error")
    own = facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": principal, "holder": str(people[1].id)})
    assert own.status_code == 422
    ok = facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": principal, "holder": str(people[0].id),
                                                           "note": "委托书已存档"}, follow_redirects=False)
    assert ok.status_code == 303
    open_(facilitator, vote_id)
    holder = tablet(app, people[0])
    page = BeautifulSoup(holder.get(f"/votes/{vote_id}/ballot").text, "html.parser")
    assert {i["value"] for i in page.select("input[name=voter]")} == {f"p{people[0].person_id}", principal}
    assert cast(holder, vote_id, principal, "against").status_code == 200
    assert cast(holder, vote_id, f"p{people[0].person_id}", "for").status_code == 200
    # The principal's own tablet no longer has a ballot of its own.
    assert cast(tablet(app, people[1]), vote_id, principal, "for").status_code == 422
    assert result(facilitator, vote_id)["ballots"] == 2
    audit = db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "ballot")).all()
    assert any(people[0].name in a.detail for a in audit)  # open vote: the proxy holder is on record


def test_kiosk_ballot_for_a_chosen_voter(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry, secret="on")
    open_(facilitator, vote_id)
    key = f"p{people[2].person_id}"
    assert facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": "nobody"}).status_code == 422
    assert facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": key},
                            follow_redirects=False).status_code == 303
    page = BeautifulSoup(facilitator.get(f"/votes/{vote_id}/shared-tablet").text, "html.parser")
    nonce = page.select_one("input[name=nonce]")["value"]
    assert people[2].name in page.text
    done = facilitator.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "against"})
    assert done.status_code == 200
    assert "反对" not in done.text.split("</header>", 1)[1] and "against" not in done.text.split("</header>", 1)[1]
    console = facilitator.get(f"/votes/{vote_id}").text
    # The console shows the count, never whose ballot said what; the voter is simply no longer pending.
    assert result(facilitator, vote_id)["ballots"] == 1
    stale = facilitator.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "for"})
    assert stale.status_code == 422
    assert result(facilitator, vote_id)["ballots"] == 1
    assert people[2].name not in BeautifulSoup(console, "html.parser").select_one("#f-shared-tablet-voter").text


def test_a_named_vote_at_the_kiosk_keeps_the_choice_off_the_console(app, facilitator, db, room):
    # In a named vote the ballot is recorded, but the facilitator, who opened the shared tablet,
    # must not read the choice off the console's audit trail.
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    tablet(app, people[0]).post(f"/votes/{vote_id}/cast", data={"choice": "for"})  # an ordinary named ballot
    facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"p{people[1].person_id}"},
                     follow_redirects=False)
    nonce = BeautifulSoup(facilitator.get(f"/votes/{vote_id}/shared-tablet").text, "html.parser") \
        .select_one("input[name=nonce]")["value"]
    assert facilitator.post(f"/votes/{vote_id}/shared-tablet/cast",
                            data={"nonce": nonce, "choice": "against"}).status_code == 200
    trail = BeautifulSoup(facilitator.get(f"/votes/{vote_id}").text, "html.parser").select_one("ol.audit").text
    assert people[0].name in trail and "赞成" in trail  # named votes do show tablet ballots
    assert people[1].name in trail and "反对" not in trail
    assert result(facilitator, vote_id)["ballots"] == 2


def test_a_device_made_the_shared_tablet_casts_without_a_staff_sign_in(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    console = BeautifulSoup(facilitator.get(f"/votes/{vote_id}").text, "html.parser")
    setup = console.select_one("form.shared-tablet-setup")
    assert setup["action"].endswith(f"/meetings/{meeting.id}/shared-tablet")
    address = f"/meetings/{meeting.id}/shared-tablet"

    shared = TestClient(app)
    anyone = TestClient(app)
    assert anyone.get(address, follow_redirects=False).status_code == 303  # to the sign-in page
    assert "/login" in anyone.post(address, follow_redirects=False).headers["location"]
    sign_in(shared, "facilitator")
    shared.cookies.set(DEVICE_COOKIE, people[0].device_token, domain="testserver.local")  # someone's tablet before
    made = shared.post(address, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == address
    # Nobody's check-in and no staff page stays on the device.
    assert DEVICE_COOKIE not in shared.cookies
    assert made.headers["Clear-Site-Data"] == '"cache"'
    assert shared.post(f"/votes/{vote_id}/cast", data={"choice": "for"}).status_code == 403
    # The staff sign-in is gone from this device: it reaches the shared tablet, not the console.
    assert shared.get(f"/meetings/{meeting.id}/run", follow_redirects=False).status_code == 303
    assert shared.get(f"/votes/{vote_id}/shared-tablet", follow_redirects=False).status_code == 303
    waiting = BeautifulSoup(shared.get(address).text, "html.parser")
    assert waiting.select_one("#room-shared-tablet .notice").get_text(strip=True) == zh(
        "Waiting for the facilitator to open a ballot for the next voter.")
    assert waiting.select_one("main")["hx-ws:connect"] == f"/meetings/{meeting.id}/ws?audience=shared_tablet"

    facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"p{people[1].person_id}"},
                     follow_redirects=False)
    ballot = BeautifulSoup(shared.get(address).text, "html.parser")
    assert people[1].name in ballot.select_one("#shared-tablet-for").text
    nonce = ballot.select_one("#room-shared-tablet input[name=nonce]")["value"]
    assert anyone.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "for"},
                       follow_redirects=False).status_code == 303  # not the shared tablet: sign in first
    done = shared.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "against"},
                       headers={"HX-Request": "true"})
    assert done.status_code == 200
    part = BeautifulSoup(done.text, "html.parser").select_one("#room-shared-tablet")
    assert part.select_one("[role=status]").get_text(strip=True) == zh(
        "Your ballot is counted. Thank you. Please hand the tablet back.")
    assert "反对" not in part.text and not part.select("input[name=nonce]")
    again = shared.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "for"})
    assert again.status_code == 422 and BeautifulSoup(again.text, "html.parser").select_one("[role=alert]")
    assert result(facilitator, vote_id)["ballots"] == 1
    # On record as cast at the shared tablet the facilitator set up.
    row = db.execute(text("SELECT via, cast_by FROM ballot WHERE vote_id = :v"), {"v": vote_id}).one()
    assert tuple(row) == ("kiosk", "王主任")


def test_only_the_shared_tablet_and_staff_get_its_ballots_pushed(app, facilitator, db, room):
    from starlette.websockets import WebSocketDisconnect

    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    with TestClient(app) as shared, TestClient(app) as resident:
        sign_in(shared, "facilitator")
        shared.post(f"/meetings/{meeting.id}/shared-tablet")
        with pytest.raises(WebSocketDisconnect):
            with resident.websocket_connect(f"/meetings/{meeting.id}/ws?audience=shared_tablet") as ws:
                ws.receive_text()
        with shared.websocket_connect(f"/meetings/{meeting.id}/ws?audience=shared_tablet") as ws:
            first = ws.receive_text()
            assert re.findall(r'hx-target="#([\w-]+)"', first) == ["room-shared-tablet"]  # its part, nothing else
            assert "nonce" not in first
            facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"p{people[0].person_id}"})
            pushed = ws.receive_text()
            assert people[0].name in pushed and 'name="nonce"' in pushed
        # The hall's tablets never get the shared tablet's ballot (nor its key).
        with tablet(app, people[2]).websocket_connect(f"/meetings/{meeting.id}/ws?audience=tablet") as pad:
            assert "nonce" not in pad.receive_text()


def test_a_shared_tablet_is_one_meetings_only():
    from forum.auth import SHARED_TABLET_SESSION, is_shared_tablet_of

    session = {SHARED_TABLET_SESSION: {"meeting": 7, "by": "王主任"}}
    assert is_shared_tablet_of(session, 7)
    assert not is_shared_tablet_of(session, 8)
    assert not is_shared_tablet_of(session, None)
    assert not is_shared_tablet_of({}, 7)
    assert not is_shared_tablet_of({SHARED_TABLET_SESSION: 7}, 7)  # not what staff set: not a shared tablet


def test_rating_with_show_of_hands(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry, kind="rating", rule="consultation")
    open_(facilitator, vote_id)
    page = BeautifulSoup(tablet(app, people[0]).get(f"/votes/{vote_id}/ballot").text, "html.parser")
    assert [b["value"] for b in page.select("button[name=choice]")] == ["satisfied", "basically_satisfied",
                                                                        "dissatisfied"]
    cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "satisfied")
    too_many = facilitator.post(f"/votes/{vote_id}/hands", data={"hands-satisfied": "9"})
    assert too_many.status_code == 422 and BeautifulSoup(too_many.text, "html.parser").select_one(".error")
    bad = facilitator.post(f"/votes/{vote_id}/hands", data={"hands-satisfied": "-1"})
    assert bad.status_code == 422
    assert BeautifulSoup(bad.text, "html.parser").select_one("#hands-satisfied-error")
    ok = facilitator.post(f"/votes/{vote_id}/hands", data={"hands-satisfied": "1", "hands-dissatisfied": "2"},
                          follow_redirects=False)
    assert ok.status_code == 303
    close(facilitator, vote_id)
    r = result(facilitator, vote_id)["result"]
    assert r["includes_show_of_hands"] and r["verdict"] == "no_rule"
    assert {t["key"]: (t["heads"], t["hands"]) for t in r["totals"]} == {
        "satisfied": (2, 1), "basically_satisfied": (0, 0), "dissatisfied": (2, 2)}
    page = facilitator.get(f"/votes/{vote_id}").text
    assert "举手" in page or "hands" in page


def test_several_of_counts_each_ticked_option(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry, kind="several_of", options="绿化\n停车\n照明", max_choices="2",
                     rule="consultation", secret="on")
    open_(facilitator, vote_id)
    t = tablet(app, people[0])
    assert cast(t, vote_id, f"p{people[0].person_id}", "o1", "o2", "o3").status_code == 422
    assert cast(t, vote_id, f"p{people[0].person_id}", "o3", "o1").status_code == 200
    assert cast(tablet(app, people[1]), vote_id, f"p{people[1].person_id}", "o1").status_code == 200
    close(facilitator, vote_id)
    totals = {t["key"]: t["heads"] for t in result(facilitator, vote_id)["result"]["totals"]}
    assert totals == {"o1": 2, "o2": 0, "o3": 1}


def test_a_vote_closes_itself_at_its_closing_time(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    at = (now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    vote_id = create(facilitator, meeting, entry, closing="time", closes_at=at)
    open_(facilitator, vote_id)
    t = tablet(app, people[0])
    cast(t, vote_id, f"p{people[0].person_id}", "for")
    db.execute(text("UPDATE vote SET closes_at = :t WHERE id = :id"), {"t": now() - timedelta(minutes=1),
                                                                       "id": vote_id})
    db.commit()
    assert cast(tablet(app, people[1]), vote_id, f"p{people[1].person_id}", "for").status_code == 409
    votes.close_due(app.state.engine)  # what the app's closer does within a second
    r = result(facilitator, vote_id)
    assert r["status"] == "closed" and r["ballots"] == 1
    assert db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "close")).one()


def test_late_arrival_joins_an_attendance_vote(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    late = check_in(db, meeting, owners_of_unit(db)[6])
    assert result(facilitator, vote_id)["eligible"] == 5
    assert cast(tablet(app, late), vote_id, f"p{late.person_id}", "for").status_code == 200
    assert result(facilitator, vote_id)["eligible"] == 6


def test_results_hidden_while_open_when_asked(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry, results_while_open=None)
    open_(facilitator, vote_id)
    cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "for")
    r = result(facilitator, vote_id)
    assert r["ballots"] == 1 and r["result"] is None
    assert "vote-chart" not in facilitator.get(f"/votes/{vote_id}").text
    close(facilitator, vote_id)
    assert result(facilitator, vote_id)["result"]["totals"][0]["heads"] == 1


def test_open_vote_tallies_agree_with_counting_the_ballots(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry, allow_change="on")
    open_(facilitator, vote_id)
    for i, (a, choice) in enumerate(zip(people, ["for", "against", "for", "abstain"], strict=True)):
        cast(tablet(app, a), vote_id, f"p{a.person_id}", choice)
        if i == 0:
            cast(tablet(app, a), vote_id, f"p{a.person_id}", "against")
    vote = db.get(Vote, vote_id)
    assert votes.tally_result(db, vote) == votes.tally_result(db, vote, exact=True)


# ---------------------------------------------------------------- concurrency


def test_threads_casting_for_the_same_voter_count_once(demo_engine, db, room):
    """Many threads, one file SQLite database, the same voter: one receipt, one ballot, one head."""
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, allow_change="on")
    key = f"p{people[0].person_id}"
    outcomes = []

    def work(i: int, ready) -> None:
        with Session(demo_engine, expire_on_commit=False) as s:
            v = s.get(Vote, vote_id)
            ready()  # each holds a pooled connection while it waits (the pool has 5 + 10 overflow)
            outcomes.append(votes.cast(s, v, key, ["for" if i % 2 else "against"], via="tablet").outcome)

    assert not at_once(work, range(12))
    assert outcomes.count("counted") == 1
    with Session(demo_engine) as s:
        tallies = s.exec(select(VoteTally).where(VoteTally.vote_id == vote_id)).all()
        assert sum(t.heads for t in tallies) == 1
        assert s.execute(text("SELECT count(*) FROM votereceipt WHERE vote_id = :v"), {"v": vote_id}).scalar() == 1
        assert s.execute(text("SELECT count(*) FROM ballot WHERE vote_id = :v"), {"v": vote_id}).scalar() == 1


def test_concurrent_distinct_voters_are_all_counted(demo_engine, db):
    meeting, entry = lift_meeting(db)
    attendances = [check_in(db, meeting, None, f"来宾{i}") for i in range(12)]
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")

    def work(a: Attendance, ready) -> None:
        with Session(demo_engine, expire_on_commit=False) as s:
            v = s.get(Vote, vote_id)
            ready()
            for _ in range(3):  # each retries twice
                votes.cast(s, v, f"a{a.id}", ["for" if a.id % 3 else "against"], via="tablet")

    assert not at_once(work, attendances)
    with Session(demo_engine) as s:
        # A secret vote's last ballots wait to be written with its closing (forum.secrecy).
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
        totals = {t.choice: t.heads for t in s.exec(select(VoteTally).where(VoteTally.vote_id == vote_id))}
    assert totals["for"] == sum(1 for a in attendances if a.id % 3)
    assert totals["against"] == sum(1 for a in attendances if not a.id % 3)


def test_a_hall_casting_over_http_at_once_is_counted_exactly(app, facilitator, db, room, run_async):
    """Tablets cast at the same moment, each tapping twice: the queue takes them one at a time and
    every voter counts once."""
    meeting, entry, people, guest = room
    tablets = people + [guest] + [check_in(db, meeting, None, f"来宾{i}") for i in range(20)]
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    chosen = {a.id: ("for", "against", "abstain")[a.id % 3] for a in tablets}

    async def hall():
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     cookies={DEVICE_COOKIE: a.device_token}) for a in tablets]
        try:
            return await asyncio.gather(*(c.post(f"/votes/{vote_id}/cast", data={"choice": chosen[a.id]})
                                          for c, a in zip(clients, tablets, strict=True) for _tap in range(2)))
        finally:
            for c in clients:
                await c.aclose()

    responses = run_async(hall())
    assert [r.status_code for r in responses] == [200] * 2 * len(tablets)
    r = result(facilitator, vote_id)
    assert r["ballots"] == len(tablets)
    assert {t["key"]: t["heads"] for t in r["result"]["totals"]} == dict(Counter(chosen.values()))


# ---------------------------------------------------------------- batches (the ballot box)


def open_vote_in(engine, meeting: Meeting, entry: AgendaEntry, *, proxy: tuple[str, Attendance] | None = None,
                 **over) -> int:
    with Session(engine, expire_on_commit=False) as s:
        vote, errors = votes.create_vote(s, form_for_meeting(entry, **over), community_id=meeting.community_id,
                                         meeting=meeting, issue=None, actor="test")
        assert not errors
        if proxy:
            assert not votes.record_proxy(s, vote, proxy[0], proxy[1], actor="test")
        votes.open_vote(s, vote, actor="test")
        s.commit()
        return vote.id


def count_batch(engine, vote_id: int, batch: list[votes.TabletCast]) -> None:
    with Session(engine, expire_on_commit=False) as s:
        votes.cast_from_tablets(s, s.get(Vote, vote_id), batch)


def outcomes(batch: list[votes.TabletCast]) -> list[str]:
    return [t.outcome.outcome if t.outcome else t.refused.code for t in batch]


def test_a_batch_counts_each_voter_once_and_answers_each_tablet_as_alone(demo_engine, db, room):
    meeting, entry, people, guest = room
    principal = f"p{people[3].person_id}"
    vote_id = open_vote_in(demo_engine, meeting, entry, allow_change="on", proxy=(principal, people[2]))
    count_batch(demo_engine, vote_id, [votes.TabletCast(people[0], "", ["for"])])  # voted before this batch
    batch = [
        votes.TabletCast(people[1], "", ["against"]),
        votes.TabletCast(people[1], "", ["against"]),  # a double tap in the same batch
        votes.TabletCast(people[0], "", ["abstain"]),  # two changes of mind: the later one stands
        votes.TabletCast(people[0], "", ["against"]),
        votes.TabletCast(people[2], principal, ["for"]),  # as proxy holder
        votes.TabletCast(people[2], "", ["abstain"]),  # and for itself
        votes.TabletCast(guest, "", ["maybe"]),  # no such option
        votes.TabletCast(people[3], principal, ["for"]),  # gave a proxy: has no ballot of its own
        votes.TabletCast(guest, f"p{people[1].person_id}", ["for"]),  # someone else's ballot
    ]
    count_batch(demo_engine, vote_id, batch)
    assert outcomes(batch) == ["counted", "unchanged", "changed", "changed", "counted", "counted", "unknown_choice",
                               "ineligible", "ineligible"]
    # Each tablet's own list marks what it has just cast.
    assert [(b.voter_key, b.voted) for b in batch[4].mine] == [(f"p{people[2].person_id}", False), (principal, True)]
    with Session(demo_engine) as s:
        vote = s.get(Vote, vote_id)
        assert votes.tally_result(s, vote) == votes.tally_result(s, vote, exact=True)
        totals = {t.choice: t.heads for t in s.exec(select(VoteTally).where(VoteTally.vote_id == vote_id))}
        assert totals == {"for": 1, "against": 2, "abstain": 1}
        assert votes.turnout(s, vote)[0] == 4
        trail = s.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "ballot")).all()
        assert len(trail) == 4  # one per counted ballot; changes have their own entries
        changes = s.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "change")).all()
        assert [c.detail for c in changes] == ["赞成 → 弃权", "弃权 → 反对"]
        by_proxy = s.execute(text("SELECT via, cast_by FROM ballot WHERE vote_id = :v AND voter_key = :k"),
                             {"v": vote_id, "k": principal}).one()
        assert tuple(by_proxy) == ("proxy", people[2].name)


def test_a_batch_for_a_secret_vote_writes_who_voted_and_anonymous_sums_only(demo_engine, db, room):
    meeting, entry, people, guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    batch = [votes.TabletCast(a, "", [c]) for a, c in zip(people + [guest], ["for", "for", "against", "abstain", "for"],
                                                           strict=True)]
    count_batch(demo_engine, vote_id, batch)
    # Five voters: received, and written together with the closing (forum.secrecy, K = 5).
    assert outcomes(batch) == ["received"] * 5
    with Session(demo_engine) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
        assert s.execute(text("SELECT count(*) FROM ballot WHERE vote_id = :v"), {"v": vote_id}).scalar() == 0
        trail = s.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id,
                                               VoteAudit.action.in_(["ballot", "ballots"]))).all()
        assert [(a.actor, a.action, a.detail) for a in trail] == [("—", "ballots", zh(
            "%(n)d secret ballots counted together (%(ways)s).") % {"n": 5, "ways": f"{zh('tablet')} 5"})]
        totals = {t.choice: t.heads for t in s.exec(select(VoteTally).where(VoteTally.vote_id == vote_id))}
        assert totals == {"for": 3, "against": 1, "abstain": 1}


def test_a_batch_for_a_closed_vote_is_refused_whole(demo_engine, db, room):
    meeting, entry, people, guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    with Session(demo_engine, expire_on_commit=False) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
        s.commit()
    batch = [votes.TabletCast(a, "", ["for"]) for a in people]
    count_batch(demo_engine, vote_id, batch)
    assert outcomes(batch) == ["not_open"] * 4
    assert db.execute(text("SELECT count(*) FROM votereceipt WHERE vote_id = :v"), {"v": vote_id}).scalar() == 0


def test_a_vote_closed_while_a_batch_was_checked_takes_none_of_it(demo_engine, db, room, monkeypatch):
    """Closing between the checks and the write: the status is read again under the writer lock."""
    meeting, entry, people, guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    checks = tablets._check_tablets

    def then_close(db_, vote, batch):
        checks(db_, vote, batch)
        with Session(demo_engine, expire_on_commit=False) as other:
            votes.close_vote(other, other.get(Vote, vote_id), actor="test")
            other.commit()

    monkeypatch.setattr(tablets, "_check_tablets", then_close)
    batch = [votes.TabletCast(a, "", ["for"]) for a in people]
    count_batch(demo_engine, vote_id, batch)
    assert outcomes(batch) == ["not_open"] * 4
    assert db.execute(text("SELECT count(*) FROM votereceipt WHERE vote_id = :v"), {"v": vote_id}).scalar() == 0


def held_box(engine, monkeypatch, fail_batches: bool = False):
    """A ballot box whose first batch waits for ``gate``, so what is handed in meanwhile is
    counted together; records the size of every batch."""
    from forum.ballot_box import BallotBox

    gate, sizes = threading.Event(), []
    gate.entered = threading.Event()  # set once the first batch is being counted
    real = votes.cast_from_tablets

    def counting(db_, vote, batch):
        sizes.append(len(batch))
        if len(sizes) == 1:
            gate.entered.set()
            assert gate.wait(10), "the test never opened the gate"
        if fail_batches and len(batch) > 1:
            raise RuntimeError("something unexpected")
        real(db_, vote, batch)

    monkeypatch.setattr(votes, "cast_from_tablets", counting)
    return BallotBox(engine, "zh-Hans"), gate, sizes


async def hand_in(box, gate, vote_id: int, slips: list[tuple[str, str]]):
    """The first slip, then the rest while the box is busy with it."""
    first = asyncio.ensure_future(box.cast(vote_id, slips[0][0], "", [slips[0][1]]))
    await asyncio.to_thread(gate.entered.wait, 10)
    rest = [asyncio.ensure_future(box.cast(vote_id, token, "", [choice])) for token, choice in slips[1:]]
    await asyncio.sleep(0)  # each task runs up to its wait: every slip is in the box's queue
    gate.set()
    return [await first] + [await r for r in rest]


def test_the_ballot_box_counts_what_arrives_together_in_one_batch(demo_engine, db, monkeypatch, run_async):
    meeting, entry = lift_meeting(db)
    hall = [check_in(db, meeting, None, f"来宾{i}") for i in range(40)]
    vote_id = open_vote_in(demo_engine, meeting, entry)
    box, gate, sizes = held_box(demo_engine, monkeypatch)
    slips = [(a.device_token, "for") for a in hall] + [("not-a-device", "for")]
    *counted, stranger = run_async(hand_in(box, gate, vote_id, slips))
    assert [c.tablet.outcome.outcome for c in counted] == ["counted"] * 40
    assert stranger.vote is not None and stranger.tablet is None  # not checked in here: the view answers 403
    assert sizes == [1, 39]
    assert result_heads(demo_engine, vote_id) == {"for": 40, "against": 0, "abstain": 0}
    nowhere = run_async(box.cast(999999, hall[0].device_token, "", ["for"]))
    assert nowhere.vote is None  # no such vote: 404


def test_a_failing_batch_is_retried_ballot_by_ballot(demo_engine, db, monkeypatch, run_async, caplog):
    meeting, entry, people, guest = room_of(db)
    vote_id = open_vote_in(demo_engine, meeting, entry)
    box, gate, sizes = held_box(demo_engine, monkeypatch, fail_batches=True)
    counted = run_async(hand_in(box, gate, vote_id, [(a.device_token, "against") for a in people + [guest]]))
    assert [c.tablet.outcome.outcome for c in counted] == ["counted"] * 5
    assert sizes == [1, 4, 1, 1, 1, 1]
    assert "counting them one by one" in caplog.text
    assert result_heads(demo_engine, vote_id)["against"] == 5


def test_the_ballot_box_thread_stops_when_idle_and_starts_again(demo_engine, db, monkeypatch, run_async):
    from forum import ballot_box

    monkeypatch.setattr(ballot_box, "IDLE_SECONDS", 0.05)
    meeting, entry, people, guest = room_of(db)
    vote_id = open_vote_in(demo_engine, meeting, entry)
    box = ballot_box.BallotBox(demo_engine, "zh-Hans")
    first = run_async(box.cast(vote_id, people[0].device_token, "", ["for"]))
    thread = box._thread
    thread.join(2)
    assert not thread.is_alive() and box._thread is None
    second = run_async(box.cast(vote_id, people[1].device_token, "", ["for"]))
    assert (first.tablet.outcome.outcome, second.tablet.outcome.outcome) == ("counted", "counted")


def room_of(db: Session) -> tuple[Meeting, AgendaEntry, list[Attendance], Attendance]:
    meeting, entry = lift_meeting(db)
    people = [check_in(db, meeting, p) for p in owners_of_unit(db)[:4]]
    return meeting, entry, people, check_in(db, meeting, None, "访客")


def result_heads(engine, vote_id: int) -> dict[str, int]:
    with Session(engine) as s:
        return {t["key"]: t["heads"] for t in votes.tally_result(s, s.get(Vote, vote_id))["totals"]}


# ---------------------------------------------------------------- secrecy


def test_secret_ballot_leaves_no_link_between_voter_and_choice(app, facilitator, db, room, caplog):
    caplog.set_level(logging.DEBUG)
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry, secret="on")
    principal = f"p{people[3].person_id}"
    facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": principal, "holder": str(people[2].id)})
    open_(facilitator, vote_id)
    plan = [(people[0], "for"), (people[1], "against"), (guest, "abstain")]
    for a, choice in plan:
        key = f"p{a.person_id}" if a.person_id else f"a{a.id}"
        assert cast(tablet(app, a), vote_id, key, choice).status_code == 200
    assert cast(tablet(app, people[2]), vote_id, principal, "for").status_code == 200
    facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"p{people[2].person_id}"})
    nonce = BeautifulSoup(facilitator.get(f"/votes/{vote_id}/shared-tablet").text, "html.parser").select_one(
        "input[name=nonce]")["value"]
    facilitator.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "against"})
    # A second ballot for a secret vote is not a change: it is "already counted".
    assert cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "against").status_code == 200
    close(facilitator, vote_id)
    totals = {t["key"]: t["heads"] for t in result(facilitator, vote_id)["result"]["totals"]}
    assert totals == {"for": 2, "against": 2, "abstain": 1}

    voters = {f"p{a.person_id}" for a in people} | {f"a{guest.id}"}
    names = {a.name for a in people} | {guest.name}
    attendance_ids = {a.id for a in people} | {guest.id}
    choices = {"for", "against", "abstain", "赞成", "反对", "弃权", "For", "Against", "Abstain"}

    def identifies(value) -> bool:
        s = str(value)
        return s in voters or any(n in s for n in names)

    def chooses(value) -> bool:
        s = str(value)
        return s in choices or any(c in s for c in ("赞成", "反对", "弃权"))

    with Session(app.state.engine) as s:
        for table in SQLModel.metadata.sorted_tables:
            for row in s.execute(table.select()).mappings():
                values = dict(row)
                linked_to_vote = values.get("vote_id") == vote_id or (table.name == "vote" and values["id"] == vote_id)
                if not linked_to_vote:
                    continue
                who = [k for k, v in values.items() if identifies(v)
                       or (k.endswith("attendance_id") and v in attendance_ids)]
                what = [k for k, v in values.items() if chooses(v) or (k == "result" and v)]
                assert not (who and what), f"{table.name} links a voter to a choice: {values}"
                if table.name == "vote":
                    assert values["kiosk_voter"] is None
                assert table.name != "ballot", "a secret vote wrote a named ballot"
    for record in caplog.records:
        message = record.getMessage()
        assert not (identifies(message) and chooses(message)), message


# ---------------------------------------------------------------- the live room and the minutes


def test_room_part_shows_ballot_on_tablets_and_counts_on_console(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "for")
    hub = app.state.hub
    with Session(app.state.engine) as s:
        m = s.get(Meeting, meeting.id)
        tablet_html = hub.page_parts(s, m, "tablet", "")["vote"]
        console_html = hub.page_parts(s, m, "console", "")["vote"]
        screen_html = hub.page_parts(s, m, "screen", "")["vote"]
    soup = BeautifulSoup(tablet_html, "html.parser")
    assert soup.select_one("#room-vote") and len(soup.select("button[name=choice]")) == 3
    assert soup.select_one("[hx-preserve]")["id"] == f"room-ballot-{vote_id}-open"
    assert "1 / 5" in console_html and "vote-chart" in console_html and "vote-chart" in screen_html
    # A tablet casting from the room's fragment (no voter named) casts its own ballot.
    r = tablet(app, people[1]).post(f"/votes/{vote_id}/cast", data={"choice": "against"},
                                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and result(facilitator, vote_id)["ballots"] == 2
    close(facilitator, vote_id)
    with Session(app.state.engine) as s:
        tablet_html = hub.page_parts(s, s.get(Meeting, meeting.id), "tablet", "")["vote"]
    assert "vote-chart" in tablet_html and "verdict" in tablet_html
    assert "button" not in tablet_html.split("vote-chart")[0]


def test_closed_vote_is_in_the_minutes(facilitator, db, room, app):
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry, question="是否同意设置临时停车位？")
    open_(facilitator, vote_id)
    cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "for")
    close(facilitator, vote_id)
    page = facilitator.get(f"/meetings/{meeting.id}/minutes")
    assert page.status_code == 200
    assert "是否同意设置临时停车位" in page.text and "1 / 1" in page.text


def test_facilitator_cannot_hold_votes_in_another_community(admin, facilitator, db):
    # The demo facilitator belongs to the lift's community; a vote in the other one is not theirs.
    own = lift_issue(db).community_id
    entry, meeting = db.exec(select(AgendaEntry, Meeting).join(Meeting, Meeting.id == AgendaEntry.meeting_id)
                             .where(Meeting.community_id != own, Meeting.status == "planned")).first()
    r = facilitator.post(f"/meetings/{meeting.id}/votes", data=form_for_meeting(entry))
    assert r.status_code == 403
    assert db.exec(select(Vote).where(Vote.meeting_id == meeting.id)).all() == []
    vote_id = create(admin, meeting, entry)
    assert facilitator.post(f"/votes/{vote_id}/open", follow_redirects=False).status_code == 403
    db.expire_all()
    assert db.get(Vote, vote_id).status == "draft"
    open_(admin, vote_id)

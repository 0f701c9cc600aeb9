"""Who may cast a binding ballot: a self-declared flat is refused in every binding kind; household
slips (single use, expiring, revocable, throttled) and the facilitator's check of an ID verify a
resident, whose ballot then counts; the ballot box takes devices of the vote's own meeting only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, func, select
from starlette.requests import Request
from starlette.testclient import TestClient

from forum import ballot_box, verification, votes
from forum.models import (
    Attendance,
    Household,
    HouseholdSlip,
    Meeting,
    Ownership,
    Person,
    Verification,
    Vote,
    VoteAudit,
    VoteElector,
    VoteReceipt,
    VoteTally,
    now,
)
from tests.test_votes import create, lift_meeting, open_, registered_owner, unit_households, zh


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def lift(facilitator, demo_engine):
    """The lift meeting, live; its unit's households and owners."""
    with Session(demo_engine) as db:
        meeting, entry = lift_meeting(db)
        flats = owned_flats(db)
        owners = {h.id: p for h in flats if (p := registered_owner(db, h.id)) is not None}
    facilitator.post(f"/meetings/{meeting.id}/run/start")
    with Session(demo_engine) as db:
        meeting = db.get(Meeting, meeting.id)
    return meeting, entry, flats, owners


def tablet_of(app, meeting: Meeting, name: str, flat: Household | None = None) -> TestClient:
    """A resident's own tablet, checked in with the hall's code and (if given) a typed flat."""
    client = TestClient(app)
    home = {"building": flat.building, "unit": flat.unit, "room": flat.room} if flat else {}
    r = client.post(f"/meetings/{meeting.id}/tablet/join", data={"name": name, "code": meeting.join_code, **home},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def state(engine, vote_id: int) -> tuple[int, int, int]:
    """(receipts, heads in the tallies, audit entries of ballots): what a counted ballot changes."""
    with Session(engine) as db:
        receipts = db.exec(select(func.count()).select_from(VoteReceipt).where(VoteReceipt.vote_id == vote_id)).one()
        heads = sum(t.heads for t in db.exec(select(VoteTally).where(VoteTally.vote_id == vote_id)))
        audit = db.exec(select(func.count()).select_from(VoteAudit).where(VoteAudit.vote_id == vote_id,
                                                                          VoteAudit.action == "ballot")).one()
    return receipts, heads, audit


BINDING = {
    "owners_ordinary": dict(scope="unit", scope_building="5", scope_unit="2", counting_unit="household",
                            rule="owners_ordinary"),
    "owners_major": dict(scope="unit", scope_building="5", scope_unit="2", counting_unit="household",
                         rule="owners_major"),
    "present_households_simple": dict(counting_unit="household"),
    "community_persons": dict(scope="community"),
    "building_households": dict(scope="building", scope_building="5", counting_unit="household"),
    "unit_households": dict(scope="unit", scope_building="5", scope_unit="2", counting_unit="household"),
}


def binding_vote(facilitator, engine, meeting: Meeting, entry, kind: str) -> int:
    over = dict(BINDING[kind])
    if kind == "present_households_simple":  # someone the desk checked in, so the vote can open
        facilitator.post(f"/meetings/{meeting.id}/run/verify", data={"household": str(unit_flat(engine, 9).id),
                                                                    "person": str(owner_of(engine, 9).id)})
    vote_id = create(facilitator, meeting, entry, **over)
    open_(facilitator, vote_id)
    return vote_id


def owned_flats(db: Session) -> list[Household]:
    """The lift stairwell's units that buyers own (the developer's unsold 101 and 102 left out)."""
    return [h for h in unit_households(db) if not h.developer_held]


def unit_flat(engine, i: int) -> Household:
    with Session(engine) as db:
        return owned_flats(db)[i]


def owner_of(engine, i: int) -> Person:
    with Session(engine) as db:
        flat = owned_flats(db)[i]
        return registered_owner(db, flat.id)


# ---------------------------------------------------------------- a typed flat casts no binding ballot


@pytest.mark.parametrize("kind", list(BINDING))
def test_a_typed_flat_cannot_cast_a_binding_ballot(app, facilitator, demo_engine, lift, kind):
    meeting, entry, flats, owners = lift
    flat = flats[0]  # 5-2-201: a typed flat, as the elderly resident typed 5-2-101 in the demo
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, kind)
    assert verification.is_binding(Session(demo_engine).get(Vote, vote_id))
    stranger = tablet_of(app, meeting, owners[flat.id].name, flat)
    before = state(demo_engine, vote_id)
    key = f"h{flat.id}" if "household" in kind or "owners" in kind else f"p{owners[flat.id].id}"
    for voter in ("", key):
        r = stranger.post(f"/votes/{vote_id}/cast", data={"voter": voter, "choice": "for"})
        assert r.status_code == 422
        assert zh(verification.UNVERIFIED) in r.text
    assert state(demo_engine, vote_id) == before


def test_a_typed_flat_still_takes_part_in_a_consultation(app, facilitator, demo_engine, lift):
    meeting, entry, flats, owners = lift
    vote_id = create(facilitator, meeting, entry, rule="consultation", guests_count="on")
    open_(facilitator, vote_id)
    resident = tablet_of(app, meeting, "自报住户", flats[3])
    assert resident.post(f"/votes/{vote_id}/cast", data={"choice": "for"}).status_code == 200
    assert state(demo_engine, vote_id)[:2] == (1, 1)


# ---------------------------------------------------------------- verified: counted


def print_slips(engine, community_id: int, *, at=None, days: int = 90) -> dict[int, str]:
    with Session(engine) as db:
        printed = verification.issue_slips(db, community_id, "5", "2", by="社工", days=days, at=at)
        db.commit()
        return {s.household.id: s.code for s in printed}


def enter_slip(client: TestClient, meeting: Meeting, slip: str, **extra):
    return client.post(f"/meetings/{meeting.id}/tablet/slip", data={"slip": slip, **extra}, follow_redirects=False)


def test_a_resident_verified_by_slip_is_counted(app, facilitator, demo_engine, lift):
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    codes = print_slips(demo_engine, meeting.community_id)
    flat = flats[0]
    resident = tablet_of(app, meeting, "自报的名字", flat)
    refused = resident.post(f"/votes/{vote_id}/cast", data={"choice": "for"})
    assert refused.status_code == 422
    typed = codes[flat.id].lower()
    r = enter_slip(resident, meeting, f"{typed[:5]}-{typed[5:]}")  # as people type it: any case, a dash
    assert r.status_code == 303, r.text
    page = resident.get(f"/meetings/{meeting.id}/tablet")
    assert "已核验为 5-2-201" in page.text
    assert resident.post(f"/votes/{vote_id}/cast", data={"choice": "for"}).status_code == 200
    assert state(demo_engine, vote_id)[:2] == (1, 1)
    with Session(demo_engine) as db:
        record = db.exec(select(Verification).where(Verification.household_id == flat.id)).one()
        me = db.get(Attendance, record.attendance_id)
        assert (record.method, record.person_id, record.revoked_at) == ("slip", owners[flat.id].id, None)
        assert me.verified and me.household_id == flat.id and me.name == owners[flat.id].name
        assert db.exec(select(HouseholdSlip).where(HouseholdSlip.household_id == flat.id,
                                                   HouseholdSlip.used_at.is_not(None))).one()
        # Only the hash of the code is kept.
        assert not db.exec(select(HouseholdSlip).where(HouseholdSlip.code_hash.contains(codes[flat.id]))).first()


def test_a_slip_is_a_way_in_for_a_device_without_a_check_in(app, demo_engine, lift):
    meeting, _entry, flats, owners = lift
    codes = print_slips(demo_engine, meeting.community_id)
    no_code = TestClient(app)
    assert enter_slip(no_code, meeting, codes[flats[2].id]).status_code == 403  # the hall's code first
    with Session(demo_engine) as db:
        assert db.exec(select(HouseholdSlip).where(HouseholdSlip.used_at.is_not(None))).first() is None
    device = TestClient(app)
    assert enter_slip(device, meeting, codes[flats[2].id], code=meeting.join_code).status_code == 303
    assert owners[flats[2].id].name in device.get(f"/meetings/{meeting.id}/tablet").text


def test_the_facilitator_verifies_from_the_register_and_it_counts(app, facilitator, demo_engine, lift):
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_ordinary")
    flat = flats[4]
    resident = tablet_of(app, meeting, owners[flat.id].name, flat)
    assert resident.post(f"/votes/{vote_id}/cast", data={"choice": "against"}).status_code == 422
    me = next(a for a in Session(demo_engine).exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                                             Attendance.household_id == flat.id)))
    console = html(facilitator.get(f"/meetings/{meeting.id}/run"))
    assert console.select_one(f'form[action$="/run/verify"] input[name=attendance][value="{me.id}"]') is not None
    facilitator.post(f"/meetings/{meeting.id}/run/verify", data={"attendance": me.id})
    assert resident.post(f"/votes/{vote_id}/cast", data={"choice": "against"}).status_code == 200
    assert state(demo_engine, vote_id)[:2] == (1, 1)
    with Session(demo_engine) as db:
        record = db.exec(select(Verification).where(Verification.attendance_id == me.id)).one()
        assert record.method == "register" and record.verified_by and record.verified_at


def test_a_verification_can_be_revoked_and_then_binds_nothing(app, facilitator, demo_engine, lift):
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    flat = flats[5]
    resident = tablet_of(app, meeting, owners[flat.id].name, flat)
    with Session(demo_engine) as db:
        me = db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                              Attendance.household_id == flat.id)).one()
    facilitator.post(f"/meetings/{meeting.id}/run/verify", data={"attendance": me.id})
    facilitator.post(f"/meetings/{meeting.id}/run/revoke", data={"attendance": me.id})
    assert resident.post(f"/votes/{vote_id}/cast", data={"choice": "for"}).status_code == 422
    assert state(demo_engine, vote_id)[:2] == (0, 0)
    with Session(demo_engine) as db:
        record = db.exec(select(Verification).where(Verification.attendance_id == me.id)).one()
        assert record.revoked_at is not None and record.revoked_by


def test_the_desk_checks_in_and_verifies_from_the_household_search(facilitator, demo_engine, lift):
    meeting, _entry, flats, owners = lift
    flat = flats[6]
    results = html(facilitator.get(f"/meetings/{meeting.id}/run/households?q=5-2-{flat.room}"))
    form = results.select_one('form[action$="/run/verify"]')
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    assert data == {"household": str(flat.id), "person": str(owners[flat.id].id)}
    facilitator.post(f"/meetings/{meeting.id}/run/verify", data=data)
    with Session(demo_engine) as db:
        a = db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                             Attendance.household_id == flat.id)).one()
        assert a.verified and a.admitted and a.person_id == owners[flat.id].id and a.device_token is None


def test_the_shared_tablet_opens_a_binding_ballot_only_for_a_verified_resident(app, facilitator, demo_engine, lift):
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    flat = flats[7]
    kiosk = html(facilitator.get(f"/votes/{vote_id}")).select_one("#f-shared-tablet-voter")
    assert f"{flat.building}-{flat.unit}-{flat.room}" not in kiosk.get_text()
    r = facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"h{flat.id}"})
    assert r.status_code == 422 and zh(verification.SHARED_TABLET_UNVERIFIED) in r.text
    facilitator.post(f"/meetings/{meeting.id}/run/verify", data={"household": flat.id, "person": owners[flat.id].id})
    kiosk = html(facilitator.get(f"/votes/{vote_id}")).select_one("#f-shared-tablet-voter")
    assert f"{flat.building}-{flat.unit}-{flat.room}" in kiosk.get_text()
    assert facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"h{flat.id}"},
                            follow_redirects=False).status_code == 303
    with Session(demo_engine) as db:
        nonce = db.get(Vote, vote_id).kiosk_nonce
    assert facilitator.post(f"/votes/{vote_id}/shared-tablet/cast",
                            data={"nonce": nonce, "choice": "for"}).status_code == 200
    assert state(demo_engine, vote_id)[:2] == (1, 1)


def test_every_casting_path_asks_the_same_rule(demo_engine, lift, facilitator):
    """votes.cast refuses an unverified tablet's, a serial-less paper and an unverified kiosk ballot."""
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    key = f"h{flats[8].id}"
    with Session(demo_engine, expire_on_commit=False) as db:
        vote = db.get(Vote, vote_id)
        stranger = Attendance(meeting_id=meeting.id, name="陌生人", household_id=flats[8].id, building="5", unit="2",
                              room=flats[8].room, device_token="t" * 20)
        db.add(stranger)
        db.commit()
        for via, extra in (("tablet", {"attendance": stranger}), ("tablet", {}), ("kiosk", {}), ("paper", {})):
            with pytest.raises(votes.VoteRefused) as refused:
                votes.cast(db, vote, key, ["for"], via=via, **extra)
            assert refused.value.code in ("unverified", "no_serial")
        assert votes.cast(db, vote, key, ["for"], via="paper", paper_serial="P-1", cast_by="社工").outcome == "counted"
    assert state(demo_engine, vote_id)[:2] == (1, 1)


def test_a_proxy_holder_casts_for_the_principal(app, facilitator, demo_engine, lift):
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    holder = tablet_of(app, meeting, "受托人")
    with Session(demo_engine) as db:
        holder_id = db.exec(select(Attendance.id).where(Attendance.name == "受托人")).one()
    r = facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": f"h{flats[9].id}", "holder": holder_id},
                         follow_redirects=False)
    assert r.status_code == 303, r.text
    assert holder.post(f"/votes/{vote_id}/cast", data={"voter": f"h{flats[9].id}", "choice": "for"}).status_code == 200
    assert state(demo_engine, vote_id)[:2] == (1, 1)


# ---------------------------------------------------------------- slips


def slip_request(address: str = "203.0.113.9") -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": [], "client": (address, 1),
                    "session": {}})


def test_slip_codes_are_long_unambiguous_and_grouped():
    codes = {verification.new_slip_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[2-9A-HJKMNP-TW-Z]{10}", c) for c in codes)
    assert len(verification.SLIP_ALPHABET) ** verification.SLIP_LENGTH >= 2 ** 40
    assert verification.slip_groups("K7M3PX9QRT") == "K7M3P X9QRT"


def test_a_slip_is_single_use(app, demo_engine, lift):
    meeting, _entry, flats, _owners = lift
    codes = print_slips(demo_engine, meeting.community_id)
    first, second = tablet_of(app, meeting, "甲"), tablet_of(app, meeting, "乙")
    assert enter_slip(first, meeting, codes[flats[1].id]).status_code == 303
    again = enter_slip(second, meeting, codes[flats[1].id])
    assert again.status_code == 422 and "已经用过" in again.text
    with Session(demo_engine) as db:
        assert len(db.exec(select(Verification)).all()) == 1
        assert db.exec(select(Attendance).where(Attendance.name == "乙")).one().verified is False


def test_an_expired_slip_is_refused(app, demo_engine, lift):
    meeting, _entry, flats, _owners = lift
    codes = print_slips(demo_engine, meeting.community_id, at=now() - timedelta(days=91), days=90)
    r = enter_slip(tablet_of(app, meeting, "甲"), meeting, codes[flats[1].id])
    assert r.status_code == 422 and "过期" in r.text
    with Session(demo_engine) as db:
        assert db.exec(select(Verification)).first() is None


def test_a_revoked_slip_is_refused(app, demo_engine, lift):
    meeting, _entry, flats, _owners = lift
    old = print_slips(demo_engine, meeting.community_id)
    new = print_slips(demo_engine, meeting.community_id)  # printing again withdraws the unused slips
    r = enter_slip(tablet_of(app, meeting, "甲"), meeting, old[flats[1].id])
    assert r.status_code == 422 and "作废" in r.text
    with Session(demo_engine) as db:
        slip = db.exec(select(HouseholdSlip).where(HouseholdSlip.code_hash == verification.hash_code(new[flats[2].id]))
                       ).one()
        verification.revoke_slip(db, slip, by="社工")
        db.commit()
    r = enter_slip(tablet_of(app, meeting, "乙"), meeting, new[flats[2].id])
    assert r.status_code == 422 and "作废" in r.text
    with Session(demo_engine) as db:
        assert db.exec(select(Verification)).first() is None


def test_wrong_slip_codes_are_throttled_per_address(demo_engine, lift):
    meeting, _entry, flats, _owners = lift
    codes = print_slips(demo_engine, meeting.community_id)
    t0 = now()
    guesser = slip_request()
    with Session(demo_engine) as db:
        for _ in range(verification.SLIP_LIMIT.attempts):
            with pytest.raises(verification.SlipRefused):
                verification.find_slip(db, guesser, meeting.community_id, "AAAAABBBBB", at=t0)
        db.commit()
        with pytest.raises(verification.SlipRefused) as blocked:
            verification.find_slip(db, guesser, meeting.community_id, codes[flats[0].id], at=t0)
        assert "15" in blocked.value.message
        assert verification.find_slip(db, slip_request("198.51.100.1"), meeting.community_id, codes[flats[0].id],
                                      at=t0)
        later = t0 + timedelta(seconds=verification.SLIP_LIMIT.seconds + 1)
        assert verification.find_slip(db, guesser, meeting.community_id, codes[flats[0].id], at=later)


def test_a_slip_of_another_community_is_unknown_here(demo_engine, lift):
    meeting, _entry, flats, _owners = lift
    codes = print_slips(demo_engine, meeting.community_id)
    with Session(demo_engine) as db:
        other = db.exec(select(Meeting.community_id).where(Meeting.community_id != meeting.community_id)).first()
        with pytest.raises(verification.SlipRefused):
            verification.find_slip(db, slip_request(), other, codes[flats[0].id])


def test_staff_print_an_a4_sheet_of_slips(facilitator, committee_member, client, demo_engine, lift):
    meeting, _entry, flats, owners = lift
    with Session(demo_engine) as db:
        from forum.models import Area

        slug = db.get(Area, meeting.community_id).slug
    assert committee_member.get(f"/c/{slug}/slips").status_code == 403
    assert client.get(f"/c/{slug}/slips", follow_redirects=False).status_code == 303
    form = facilitator.get(f"/c/{slug}/slips")
    assert form.status_code == 200 and html(form).select_one("select[name=building]")
    bad = facilitator.post(f"/c/{slug}/slips", data={"building": "999", "unit": ""})
    assert bad.status_code == 422 and html(bad).select_one("#building-error")
    sheet = facilitator.post(f"/c/{slug}/slips", data={"building": "5", "unit": "2"})
    doc = html(sheet)
    slips = doc.select(".slip")
    # Twelve units, two of them the developer's unsold ones, which get no slip.
    assert len(slips) == 10 and all(s.select_one(".qr svg") for s in slips)
    assert not any(s["aria-label"] in ("5-2-101", "5-2-102") for s in slips)
    first = slips[0].get_text(" ")
    assert owners[flats[0].id].name in first and "5-2-201" in first
    code = slips[0].select_one(".code").get_text(strip=True)
    assert re.fullmatch(r"[2-9A-Z]{5} [2-9A-Z]{5}", code)
    with Session(demo_engine) as db:
        assert db.exec(select(HouseholdSlip).where(HouseholdSlip.code_hash == verification.hash_code(code))).one()


def test_a_slips_qr_code_leads_to_the_tablet_with_the_code_kept(app, demo_engine, lift):
    meeting, _entry, flats, _owners = lift
    codes = print_slips(demo_engine, meeting.community_id)
    device = TestClient(app)
    r = device.get(f"/slip?code={codes[flats[0].id]}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/join"
    device.get(f"/join?code={meeting.join_code}")
    page = device.get(f"/meetings/{meeting.id}/tablet")
    with Session(demo_engine) as db:
        assert db.exec(select(HouseholdSlip).where(HouseholdSlip.used_at.is_not(None))).first() is None  # a GET
    assert html(page).select_one("#f-slip")["value"] == codes[flats[0].id]


# ---------------------------------------------------------------- nobody else's identity


def test_typing_a_verified_residents_name_and_flat_gives_a_new_unverified_check_in(app, facilitator, demo_engine,
                                                                                   lift):
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    flat = flats[9]
    facilitator.post(f"/meetings/{meeting.id}/run/verify", data={"household": flat.id, "person": owners[flat.id].id})
    impostor = tablet_of(app, meeting, owners[flat.id].name, flat)
    with Session(demo_engine) as db:
        rows = db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                Attendance.household_id == flat.id)).all()
    assert len(rows) == 2 and sum(a.verified for a in rows) == 1
    assert next(a for a in rows if a.verified).device_token is None
    assert impostor.post(f"/votes/{vote_id}/cast", data={"choice": "for"}).status_code == 422
    assert state(demo_engine, vote_id)[:2] == (0, 0)


# ---------------------------------------------------------------- the ballot box's meeting guard


def test_the_ballot_box_refuses_a_device_of_another_meeting(app, demo_engine, lift, facilitator, run_async):
    meeting, entry, flats, owners = lift
    vote_id = create(facilitator, meeting, entry, guests_count="on")
    facilitator.post(f"/meetings/{meeting.id}/run/checkin", data={"name": "在场的人"})
    open_(facilitator, vote_id)
    with Session(demo_engine) as db:
        elsewhere = db.exec(select(Meeting).where(Meeting.id != meeting.id)).first()
        outsider = Attendance(meeting_id=elsewhere.id, name="别处的人", device_token="o" * 24, admitted=True,
                              checked_in_by="前台")
        db.add(outsider)
        db.commit()
        vote = db.get(Vote, vote_id)
        assert ballot_box.devices_of_meeting(db, vote, {"o" * 24}) == {}
    box = app.state.ballot_box
    counted = run_async(box.cast(vote_id, "o" * 24, "", ["for"]))
    assert counted.vote is not None and counted.attendance is None and counted.tablet is None
    over_http = TestClient(app, cookies={"forum_device": "o" * 24}).post(f"/votes/{vote_id}/cast",
                                                                        data={"choice": "for"})
    assert over_http.status_code == 403
    assert state(demo_engine, vote_id)[:2] == (0, 0)


def test_the_desk_verifies_owners_only(facilitator, demo_engine, lift):
    """Binding votes are the owners': a tenant's ID makes them no owner's voter."""
    meeting, _entry, flats, _owners = lift
    with Session(demo_engine) as db:
        tenant = Person(name="租户小王", household_id=flats[3].id)
        db.add(tenant)
        db.commit()
        db.refresh(tenant)
    results = html(facilitator.get(f"/meetings/{meeting.id}/run/households?q=租户小王"))
    assert results.select_one('form[action$="/run/checkin"]') is not None
    assert results.select_one(f'form[action$="/run/verify"] input[name=person][value="{tenant.id}"]') is None
    r = facilitator.post(f"/meetings/{meeting.id}/run/verify", data={"household": flats[3].id, "person": tenant.id})
    assert r.status_code == 409
    with Session(demo_engine) as db:
        assert db.exec(select(Verification)).first() is None
        assert db.exec(select(Attendance).where(Attendance.name == "租户小王")).first() is None


# ---------------------------------------------------------------- whom a verification speaks for


def test_a_verified_buyer_of_a_developer_unit_never_casts_the_developers_ballot(facilitator, demo_engine, lift):
    """The developer's unsold or undelivered units are one owner (art. 9), whose ballot comes by paper
    or proxy: a buyer recorded on an undelivered unit, even verified, does not hold it."""
    meeting, entry, _flats, _owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    with Session(demo_engine) as db:
        developer_unit = next(h for h in unit_households(db) if h.developer_held)
        buyer = Person(name="准业主", household_id=developer_unit.id)
        db.add(buyer)
        db.flush()
        db.add(Ownership(household_id=developer_unit.id, person_id=buyer.id))
        verified = Attendance(meeting_id=meeting.id, name=buyer.name, household_id=developer_unit.id,
                              person_id=buyer.id, verified=True, admitted=True, checked_in_by="前台")
        db.add(verified)
        db.commit()
        vote = db.get(Vote, vote_id)
        assert db.get(VoteElector, (vote_id, "dev")) is not None  # the developer is an owner here
        assert "dev" not in verification.keys_spoken_for(db, vote, verified)
        assert verification.refusal(db, vote, "dev", "tablet", verified) is not None
        assert "dev" not in verification.verified_keys(db, vote)  # nor is the shared tablet opened for it


def test_only_residents_verified_at_the_votes_own_meeting_open_the_shared_tablet(facilitator, demo_engine, lift):
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    with Session(demo_engine) as db:
        vote = db.get(Vote, vote_id)
        other = db.exec(select(Meeting).where(Meeting.community_id == meeting.community_id,
                                              Meeting.id != meeting.id)).first()
        flat, owner = flats[0], owners[flats[0].id]
        elsewhere = Attendance(meeting_id=other.id, name=owner.name, household_id=flat.id, person_id=owner.id,
                               verified=True, admitted=True, checked_in_by="前台")
        db.add(elsewhere)
        db.commit()
        key = votes.key_for_household(db, vote, flat.id)
        assert key not in verification.verified_keys(db, vote)  # verified at another meeting: not here
        here = Attendance(meeting_id=meeting.id, name=owner.name, household_id=flat.id, person_id=owner.id,
                          verified=True, admitted=True, checked_in_by="前台")
        db.add(here)
        db.commit()
        assert key in verification.verified_keys(db, vote)


def test_the_shared_tablet_check_agrees_with_every_verified_residents_keys(facilitator, demo_engine, lift):
    """``verified_at_meeting`` looks only at the attendances that could speak for a key; it must
    answer as the whole hall's keys do, for every elector, merged owners included."""
    meeting, entry, flats, owners = lift
    vote_id = binding_vote(facilitator, demo_engine, meeting, entry, "owners_major")
    for i in (0, 2, 4):  # 201 alone; 301 (one owner with 302); 401 (co-owners)
        facilitator.post(f"/meetings/{meeting.id}/run/verify",
                         data={"household": str(flats[i].id), "person": str(owners[flats[i].id].id)})
    with Session(demo_engine) as db:
        vote = db.get(Vote, vote_id)
        everyone = verification.verified_keys(db, vote)
        electors = [e.voter_key for e in db.exec(select(VoteElector).where(VoteElector.vote_id == vote_id))]
        assert len(everyone) == 3 and everyone <= set(electors)
        assert {k for k in electors if verification.verified_at_meeting(db, vote, k)} == everyone

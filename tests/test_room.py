"""The room's pages over HTTP: who may run a meeting, joining by code, tablets, and bad input."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import auth
from forum.models import (
    Attendance,
    Comment,
    Household,
    Issue,
    IssueEvent,
    Meeting,
    MeetingStatus,
    Ownership,
    Person,
    SpeakingRequest,
)
from tests.conftest import upcoming_meeting


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def code_of(engine, meeting_id: int) -> str:
    return meeting(engine, meeting_id).join_code


def meeting(engine, meeting_id: int) -> Meeting:
    with Session(engine) as db:
        return db.get(Meeting, meeting_id)


# ---------------------------------------------------------------- the console


def test_anonymous_visitors_are_sent_to_sign_in(client, meeting_id):
    for method, url in (("get", f"/meetings/{meeting_id}/run"), ("post", f"/meetings/{meeting_id}/run/start")):
        response = getattr(client, method)(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("http://testserver/login?next=")


def test_committee_members_may_not_run_a_meeting(committee_member, meeting_id):
    assert committee_member.get(f"/meetings/{meeting_id}/run").status_code == 403
    assert committee_member.post(f"/meetings/{meeting_id}/run/start").status_code == 403


def test_starting_assigns_a_join_code_and_goes_live(facilitator, meeting_id, demo_engine):
    response = facilitator.post(f"/meetings/{meeting_id}/run/start", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{meeting_id}/run"
    m = meeting(demo_engine, meeting_id)
    assert m.status == MeetingStatus.live and re.fullmatch(r"\d{10}", m.join_code)
    assert m.current_entry_id is not None and m.started_at is not None
    page = facilitator.get(f"/meetings/{meeting_id}/run")
    assert page.status_code == 200
    doc = html(page)
    assert doc.select_one(".room-qr svg") is not None
    assert doc.select_one("[hx-ws\\:connect]")["hx-ws:connect"] == f"/meetings/{meeting_id}/ws?audience=console"
    facilitator.post(f"/meetings/{meeting_id}/run/start")
    assert meeting(demo_engine, meeting_id).join_code == m.join_code


def test_the_qr_code_encodes_the_join_address(facilitator, live_meeting, demo_engine):
    from forum.web import qr_svg

    code = meeting(demo_engine, live_meeting).join_code
    svg = str(qr_svg(f"http://testserver/join?code={code}"))
    assert svg in facilitator.get(f"/meetings/{live_meeting}/run").text


def test_next_previous_and_jump_move_the_current_entry(facilitator, live_meeting, demo_engine):
    first = meeting(demo_engine, live_meeting).current_entry_id
    facilitator.post(f"/meetings/{live_meeting}/run/next")
    second = meeting(demo_engine, live_meeting).current_entry_id
    assert second != first
    facilitator.post(f"/meetings/{live_meeting}/run/previous")
    assert meeting(demo_engine, live_meeting).current_entry_id == first
    facilitator.post(f"/meetings/{live_meeting}/run/jump", data={"entry": second})
    assert meeting(demo_engine, live_meeting).current_entry_id == second
    with Session(demo_engine) as db:
        from forum.models import AgendaEntry

        issue = db.get(Issue, db.get(AgendaEntry, second).issue_id)
        events = db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id,
                                                  IssueEvent.meeting_id == live_meeting)).all()
    assert issue.status != "on_agenda" or not events  # discussed where the lifecycle allows


def test_the_speaking_queue(app, facilitator, live_meeting, demo_engine):
    tablets = []
    for name in ("甲", "乙", "丙"):
        t = TestClient(app)
        t.post(f"/meetings/{live_meeting}/tablet/join", data={"name": name, "code": code_of(demo_engine, live_meeting)})
        t.post(f"/meetings/{live_meeting}/tablet/hand", data={"up": "1"})
        tablets.append(t)
    with Session(demo_engine) as db:
        requests = db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == live_meeting)
                           .order_by(SpeakingRequest.id)).all()
    assert [r.status for r in requests] == ["waiting"] * 3
    facilitator.post(f"/meetings/{live_meeting}/run/floor", data={"request": requests[1].id})
    facilitator.post(f"/meetings/{live_meeting}/run/next-speaker")
    facilitator.post(f"/meetings/{live_meeting}/run/remove", data={"request": requests[2].id})
    with Session(demo_engine) as db:
        statuses = [db.get(SpeakingRequest, r.id).status for r in requests]
    assert statuses == ["speaking", "done", "removed"]
    tablets[0].post(f"/meetings/{live_meeting}/tablet/hand", data={"up": "0"})  # the speaker can't withdraw
    facilitator.post(f"/meetings/{live_meeting}/run/clear")
    with Session(demo_engine) as db:
        assert db.get(SpeakingRequest, requests[0].id).status == "done"


def test_htmx_actions_answer_with_the_changed_parts(facilitator, live_meeting):
    response = facilitator.post(f"/meetings/{live_meeting}/run/next", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert '<hx-partial hx-target="#room-entry" hx-swap="outerHTML">' in response.text


def partial_targets(response) -> list[str]:
    """The elements an htmx reply swaps: each <hx-partial>'s target, and the id of what it holds."""
    doc = html(response)
    targets = [p["hx-target"] for p in doc.find_all("hx-partial")]
    assert targets == [f"#{p.find(True)['id']}" for p in doc.find_all("hx-partial")]
    return targets


def test_an_htmx_reply_carries_only_the_parts_the_action_changed(app, facilitator, live_meeting, demo_engine):
    htmx = {"HX-Request": "true"}
    response = facilitator.post(f"/meetings/{live_meeting}/run/next", headers=htmx)
    assert sorted(partial_targets(response)) == ["#room-agenda", "#room-entry", "#room-queue"]
    response = facilitator.post(f"/meetings/{live_meeting}/run/next-speaker", headers=htmx)
    assert partial_targets(response) == ["#room-queue"]
    response = facilitator.post(f"/meetings/{live_meeting}/run/decision", data={"decision": "同意"}, headers=htmx)
    assert sorted(partial_targets(response)) == ["#room-agenda", "#room-entry"]
    # Starting or ending changes everything: the reply is the whole console.
    response = facilitator.post(f"/meetings/{live_meeting}/run/end", headers=htmx)
    assert len(partial_targets(response)) == len(app.state.hub.parts_for("console"))
    # A tablet's hand changes its queue; its comment nothing a tablet shows, so nothing is swapped.
    facilitator.post(f"/meetings/{live_meeting}/run/start")
    tablet = TestClient(app)
    tablet.post(f"/meetings/{live_meeting}/tablet/join",
                data={"name": "甲", "code": code_of(demo_engine, live_meeting)})
    assert partial_targets(tablet.post(f"/meetings/{live_meeting}/tablet/hand", data={"up": "1"},
                                       headers=htmx)) == ["#room-queue"]
    response = tablet.post(f"/meetings/{live_meeting}/tablet/comment", data={"text": "好"}, headers=htmx)
    assert response.status_code == 204 and response.text == ""


def test_check_in_from_the_household_registry(facilitator, live_meeting, demo_engine):
    with Session(demo_engine) as db:
        person = db.exec(select(Person).where(Person.household_id.is_not(None))).first()
        household = db.get(Household, person.household_id)
    query = f"{household.building}-{household.unit}-{household.room}"
    found = facilitator.get(f"/meetings/{live_meeting}/run/households", params={"q": query})
    assert person.name in found.text
    by_name = facilitator.get(f"/meetings/{live_meeting}/run", params={"q": person.name})
    assert query in by_name.text
    facilitator.post(f"/meetings/{live_meeting}/run/checkin", data={"household": household.id, "name": person.name})
    with Session(demo_engine) as db:
        attendance = db.exec(select(Attendance).where(Attendance.meeting_id == live_meeting)).one()
    assert attendance.household_id == household.id and attendance.person_id == person.id
    assert not attendance.is_guest and attendance.checked_in_by != "self" and attendance.device_token is None


def test_a_guest_check_in_needs_a_name(facilitator, live_meeting):
    response = facilitator.post(f"/meetings/{live_meeting}/run/checkin", data={"name": " ", "room": "9"})
    assert response.status_code == 422
    assert html(response).select_one("#f-g-room")["value"] == "9"


@pytest.mark.parametrize("action, data, status", [
    ("jump", {"entry": "abc"}, 404),
    ("jump", {"entry": "999999"}, 404),
    ("floor", {"request": "x"}, 404),
    ("remove", {}, 404),
    ("fly", {}, 404),
])
def test_bad_console_input_is_refused_not_a_crash(facilitator, live_meeting, action, data, status):
    assert facilitator.post(f"/meetings/{live_meeting}/run/{action}", data=data).status_code == status


def test_a_decision_needs_an_entry_under_discussion(facilitator, meeting_id):
    assert facilitator.post(f"/meetings/{meeting_id}/run/decision", data={"decision": "x"}).status_code == 409


def test_ending_the_meeting(facilitator, live_meeting, demo_engine):
    facilitator.post(f"/meetings/{live_meeting}/run/end")
    m = meeting(demo_engine, live_meeting)
    assert m.status == MeetingStatus.ended and m.ended_at and m.current_entry_id is None


# ---------------------------------------------------------------- joining


def test_the_join_form(client):
    response = client.get("/join")
    assert response.status_code == 200 and html(response).select_one("input[name=code]")


@pytest.mark.parametrize("typed, status", [("12345", 422), ("abc123", 422), ("482913", 422), ("0000000000", 404)])
def test_a_wrong_code_says_so_and_keeps_what_was_typed(client, typed, status):
    response = client.post("/join", data={"code": typed})
    assert response.status_code == status
    doc = html(response)
    assert doc.html["lang"] == "zh-Hans"
    assert doc.select_one("input[name=code]")["value"] == typed
    assert doc.select_one("#code-error").get_text(strip=True)
    assert doc.select_one("input[name=code]")["aria-invalid"] == "true"


def test_the_right_code_opens_the_tablet(client, live_meeting, demo_engine):
    code = meeting(demo_engine, live_meeting).join_code
    for response in (client.post("/join", data={"code": f" {code} "}, follow_redirects=False),
                     client.get(f"/join?code={code}", follow_redirects=False)):
        assert response.status_code == 303 and response.headers["location"] == f"/meetings/{live_meeting}/tablet"


def test_an_ended_meetings_code_no_longer_joins(client, facilitator, live_meeting, demo_engine):
    code = meeting(demo_engine, live_meeting).join_code
    facilitator.post(f"/meetings/{live_meeting}/run/end")
    assert client.post("/join", data={"code": code}).status_code == 404


# ---------------------------------------------------------------- tablets


def test_a_resident_joins_and_is_matched_to_their_household(client, live_meeting, demo_engine):
    with Session(demo_engine) as db:
        owner = db.exec(select(Person).join(Ownership, Ownership.person_id == Person.id)
                      .where(Ownership.household_id == Person.household_id)).first()
        home = db.get(Household, owner.household_id)
    response = client.post(f"/meetings/{live_meeting}/tablet/join", follow_redirects=False,
                           data={"name": owner.name, "building": home.building, "unit": home.unit, "room": home.room,
                                 "code": code_of(demo_engine, live_meeting)})
    assert response.status_code == 303
    token = client.cookies.get(auth.DEVICE_COOKIE)
    with Session(demo_engine) as db:
        me = db.exec(select(Attendance).where(Attendance.device_token == token)).one()
    assert me.household_id == home.id and me.person_id == owner.id and not me.is_guest
    page = client.get(f"/meetings/{live_meeting}/tablet")
    doc = html(page)
    assert doc.select_one('meta[name="room-attendance"]')["content"] == str(me.id)
    assert doc.select_one("#room-vote") is not None
    assert doc.select_one('[data-hand="up"]') is not None


def test_a_tablet_join_needs_a_name(client, live_meeting, demo_engine):
    response = client.post(f"/meetings/{live_meeting}/tablet/join",
                           data={"name": "", "room": "301", "code": code_of(demo_engine, live_meeting)})
    assert response.status_code == 422
    assert html(response).select_one("#f-room")["value"] == "301"


def test_next_person_forgets_the_identity_but_not_the_attendance(client, live_meeting, demo_engine):
    client.get(f"/join?code={code_of(demo_engine, live_meeting)}")  # the hall's code gives the tablet its pass
    client.post(f"/meetings/{live_meeting}/tablet/join", data={"name": "第一位"})
    client.post(f"/meetings/{live_meeting}/tablet/next-person")
    page = client.get(f"/meetings/{live_meeting}/tablet")
    assert html(page).select_one('meta[name="room-attendance"]') is None
    assert html(page).select_one(f'form[action$="/meetings/{live_meeting}/tablet/join"]') is not None
    client.post(f"/meetings/{live_meeting}/tablet/join", data={"name": "第二位"})
    with Session(demo_engine) as db:
        people = db.exec(select(Attendance).where(Attendance.meeting_id == live_meeting)).all()
    assert sorted(a.name for a in people) == ["第一位", "第二位"]
    assert [a.device_token is None for a in sorted(people, key=lambda a: a.name == "第二位")] == [True, False]


def test_the_tablet_offers_nobody_elses_name(client, facilitator, live_meeting, demo_engine):
    """The list of residents the facilitator checked in is not shown to an anonymous device, and
    the old "this is me" pick no longer binds a device to someone's check-in."""
    facilitator.post(f"/meetings/{live_meeting}/run/checkin", data={"name": "刘奶奶"})
    client.get(f"/join?code={code_of(demo_engine, live_meeting)}")
    page = client.get(f"/meetings/{live_meeting}/tablet")
    assert "刘奶奶" not in page.text and html(page).select_one("select[name=attendance]") is None
    with Session(demo_engine) as db:
        granny = db.exec(select(Attendance).where(Attendance.name == "刘奶奶")).one()
    client.post(f"/meetings/{live_meeting}/tablet/pick", data={"attendance": granny.id})
    with Session(demo_engine) as db:
        assert db.get(Attendance, granny.id).device_token is None


@pytest.mark.parametrize("action, data", [("hand", {"up": "1"}), ("comment", {"text": "hi"}), ("fly", {}),
                                          ("pick", {"attendance": "nope"})])
def test_tablet_actions_without_an_identity_do_no_harm(client, live_meeting, action, data, demo_engine):
    before = room_state(demo_engine, live_meeting)
    response = client.post(f"/meetings/{live_meeting}/tablet/{action}", data=data, follow_redirects=False)
    assert response.status_code in (303, 422)
    assert room_state(demo_engine, live_meeting) == before  # no check-in, hand or comment stored
    assert auth.DEVICE_COOKIE not in response.cookies  # and the device was given nobody's identity


def room_state(engine, meeting_id: int) -> tuple[list, list, list]:
    """Who is checked in (and on which device), the speaking queue and the comments of a meeting."""
    with Session(engine) as db:
        return ([(a.id, a.name, a.device_token) for a in db.exec(select(Attendance)
                                                                 .where(Attendance.meeting_id == meeting_id))],
                [(r.id, r.status) for r in db.exec(select(SpeakingRequest)
                                                   .where(SpeakingRequest.meeting_id == meeting_id))],
                [c.id for c in db.exec(select(Comment).where(Comment.meeting_id == meeting_id))])


def test_a_forged_device_cookie_is_ignored(client, live_meeting, demo_engine):
    client.post(f"/meetings/{live_meeting}/tablet/join", data={"name": "真住户"})  # someone is checked in
    before = room_state(demo_engine, live_meeting)
    forger = TestClient(client.app)
    forger.cookies.set(auth.DEVICE_COOKIE, "x' OR 1=1 --")
    page = forger.get(f"/meetings/{live_meeting}/tablet")
    assert page.status_code == 200
    # It is nobody: the join form, not the checked-in resident's tablet.
    assert html(page).select_one('meta[name="room-attendance"]') is None
    assert html(page).select_one("form[action$='/tablet/join']") is not None
    for action, data in (("hand", {"up": "1"}), ("comment", {"text": "冒名发言"})):
        assert forger.post(f"/meetings/{live_meeting}/tablet/{action}", data=data,
                           follow_redirects=False).status_code == 303
    assert room_state(demo_engine, live_meeting) == before


def test_the_screen(client, live_meeting, demo_engine):
    page = client.get(f"/meetings/{live_meeting}/screen")
    doc = html(page)
    assert page.status_code == 200
    assert meeting(demo_engine, live_meeting).join_code[:3] in doc.select_one(".room-code").get_text()
    assert doc.select_one("#room-vote") is not None and doc.select_one("#room-queue") is not None
    assert client.get("/meetings/999999/screen").status_code == 404


def test_the_meeting_page_links_to_the_room(facilitator, meeting_id):
    doc = html(facilitator.get(f"/meetings/{meeting_id}"))
    hrefs = {a["href"] for a in doc.select("a[href]")}
    assert any(h.endswith(f"/meetings/{meeting_id}/run") for h in hrefs)
    assert any(h.endswith(f"/meetings/{meeting_id}/minutes") for h in hrefs)


# ---------------------------------------------------------------- in a browser, over a real websocket


@pytest.mark.browser
def test_a_tablet_follows_the_meeting_live(live_server, tablet, demo_engine):
    import httpx

    from tests.conftest import axe_serious
    from tests.room_pages import join_on

    meeting_id = upcoming_meeting(demo_engine)
    with httpx.Client(base_url=live_server) as staff:
        staff.post("/login", data={"username": "facilitator", "password": "demo1234"})
        staff.post(f"/meetings/{meeting_id}/run/start")
        code = meeting(demo_engine, meeting_id).join_code
        join_on(tablet, live_server, code, "李秀英")
        assert not axe_serious(tablet)
        first = tablet.locator("#room-entry .entry-title").inner_text()
        tablet.locator('[data-hand="up"] button').click()
        tablet.wait_for_function("document.querySelector('[data-my-place]').textContent.includes('1')")
        assert tablet.locator('[data-hand="up"]').is_hidden()
        tablet.wait_for_function("document.querySelector('#room-queue .mine') !== null")
        # The facilitator's actions reach the tablet without a reload.
        staff.post(f"/meetings/{meeting_id}/run/next")
        tablet.wait_for_function("t => document.querySelector('#room-entry .entry-title').innerText !== t", arg=first)
        staff.post(f"/meetings/{meeting_id}/run/next-speaker")
        tablet.wait_for_function("document.querySelector('#room-queue .speaker.mine') !== null")
        assert tablet.locator('[data-hand="down"]').is_hidden()
        assert re.fullmatch(r"-?\d\d:\d\d", tablet.locator("#room-entry .timer").inner_text())


def test_a_facilitator_runs_only_their_own_communitys_meetings(facilitator, admin, demo_engine):
    with Session(demo_engine) as db:
        own = db.exec(select(Meeting).where(Meeting.id == upcoming_meeting(demo_engine))).one()
        other = db.exec(select(Meeting).where(Meeting.community_id != own.community_id)).first()
    assert facilitator.get(f"/meetings/{other.id}/run").status_code == 403
    assert facilitator.post(f"/meetings/{other.id}/run/start").status_code == 403
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with facilitator.websocket_connect(f"/meetings/{other.id}/ws?audience=console"):
            pass
    assert admin.get(f"/meetings/{other.id}/run").status_code == 200

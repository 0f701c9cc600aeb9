"""Hostile input that once crashed or stalled the server: ids beyond the database's integers,
control characters in text, numbers out of range. Each is a 404 or a 422, never a 500, and
nothing is stored."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, func, select
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from forum import forms
from forum.app import routes
from forum.models import Attendance, Issue, IssueEvent, Meeting, Series
from tests.test_live import upcoming_meeting

# 2**63 (one past SQLite's and PostgreSQL's largest integer), 2**64, a long digit string, a negative.
OUT_OF_RANGE = [str(2**63), str(2**64), "9" * 30, "1" * 400, "-1", "0"]


def _int_routes() -> list[tuple[str, list[str]]]:
    found = []
    for route in routes:
        if isinstance(route, Route) and ":int}" in route.path:
            found.append((route.path, sorted(route.methods or [])))
    return found


INT_ROUTES = _int_routes()


def test_the_route_table_has_id_routes():
    # If the table changes shape this test still covers it: it reads the table, not a list of paths.
    assert len(INT_ROUTES) >= 30


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[a-z_]+(:[a-z]+)?\}", lambda m: value if m.group(1) == ":int" else "start", path)


@pytest.mark.parametrize(("path", "methods"), INT_ROUTES, ids=[p for p, _ in INT_ROUTES])
def test_ids_beyond_the_database_range_are_not_found(admin, path, methods):
    for value in OUT_OF_RANGE:
        url = _fill(path, value)
        for method in ("GET", "POST"):
            response = admin.request(method, url, follow_redirects=False)
            # 405 where the route takes only the other method; never a 500.
            assert response.status_code in (404, 405), (method, url, response.status_code)
            if method in methods:
                assert response.status_code == 404, (method, url)


def test_ids_of_18_digits_reach_the_view_and_are_not_found(admin):
    assert admin.get("/meetings/999999999999999999").status_code == 404
    assert admin.get("/issues/999999999999999999").status_code == 404


@pytest.mark.parametrize("value", [str(2**63), "9" * 25, "-" + str(2**63 + 1)])
def test_the_room_socket_refuses_ids_beyond_range(client, value):
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(f"/meetings/{value}/ws?audience=screen") as ws:
        ws.receive_text()


@pytest.mark.parametrize("value", ["", "abc", "1.5", "+", str(2**63), str(-(2**63) - 1), "9" * 21, "1" * 5000, None,
                                   True, 2**70])
def test_int_param_refuses_what_the_database_cannot_hold(value):
    assert forms.int_param(value) is None


@pytest.mark.parametrize(("value", "expected"), [("7", 7), (" 42 ", 42), ("-3", -3), (str(2**63 - 1), 2**63 - 1),
                                                 (str(-(2**63)), -(2**63)), (5, 5)])
def test_int_param_reads_whole_numbers(value, expected):
    assert forms.int_param(value) == expected


def test_id_param_is_positive():
    assert forms.id_param("0") is None and forms.id_param("-5") is None and forms.id_param("12") == 12


# ---------------------------------------------------------------- ids in form fields

HUGE = str(2**64)


def _first(engine, model, *where):
    with Session(engine) as db:
        return db.exec(select(model).where(*where)).first()


def _count(engine, model) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(model)).one()


def test_ids_beyond_range_in_form_fields_are_refused(admin, demo_engine):
    meeting_id = upcoming_meeting(demo_engine)
    issue = _first(demo_engine, Issue)
    events = _count(demo_engine, IssueEvent)
    series = _first(demo_engine, Series)
    attempts = [
        (f"/meetings/{meeting_id}/agenda", {"issue": HUGE, "planned_minutes": "10"}),
        (f"/meetings/{meeting_id}/agenda", {"issue": "1", "planned_minutes": HUGE}),
        (f"/issues/{issue.id}/schedule", {"meeting": HUGE}),
        (f"/issues/{issue.id}/move", {"action": "accept", "committee": HUGE}),
        (f"/issues/{issue.id}/move", {"action": "merge", "merge_into": HUGE}),
        (f"/meetings/{meeting_id}/votes", {"question": "q", "kind": "yes_no", "agenda_entry": HUGE}),
        (f"/series/{series.id}/meetings", {"starts_at": "9999-12-31T23:59"}),
        ("/c/jiaochangkou/series/new", {"title": "t", "cadence": "weekly", "rrule": "FREQ=WEEKLY",
                                        "dtstart": "2026-12-01T19:00", "duration_minutes": HUGE, "place": "p",
                                        "forum_format": HUGE}),
    ]
    for url, data in attempts:
        assert admin.post(url, data=data).status_code in (404, 409, 422), url
    admin.post(f"/meetings/{meeting_id}/run/start")
    for action, data in [("jump", {"entry": HUGE}), ("floor", {"request": HUGE}), ("remove", {"request": HUGE}),
                         ("check-in", {"household": HUGE}), ("guest", {"name": "x", "household": HUGE})]:
        assert admin.post(f"/meetings/{meeting_id}/run/{action}", data=data).status_code in (303, 404, 422), action
    assert admin.get("/c/jiaochangkou/issues", params={"committee": HUGE}).status_code == 200
    assert _count(demo_engine, IssueEvent) == events


# ---------------------------------------------------------------- control characters

CONTROL = ["\x00", "\x01", "\x1b[31m", "\x7f", "\x85"]


@pytest.mark.parametrize("char", CONTROL)
def test_control_characters_are_refused_in_a_tablet_name(client, demo_engine, char):
    meeting_id = upcoming_meeting(demo_engine)
    before = _count(demo_engine, Attendance)
    response = client.post(f"/meetings/{meeting_id}/tablet/join", data={"name": f"王{char}芳", "building": "1",
                                                                        "unit": "1", "room": "101"})
    assert response.status_code == 422
    assert "“name”中含有无法保存的控制字符" in response.text
    assert _count(demo_engine, Attendance) == before


@pytest.mark.parametrize("field", ["title", "description", "place"])
def test_a_nul_byte_is_refused_in_every_field_of_a_form(facilitator, demo_engine, field):
    before = _count(demo_engine, Issue)
    data = {"title": "楼道灯坏了", "description": "三楼\n到五楼", "category": "safety", "place": "5栋", "source": "meeting",
            "raised_by": "李老师"}
    response = facilitator.post("/c/jiaochangkou/issues/new", data=data | {field: data[field] + "\x00"})
    assert response.status_code == 422 and f"“{field}”" in response.text
    assert _count(demo_engine, Issue) == before


def test_line_breaks_are_kept_in_multi_line_fields_only(facilitator, demo_engine):
    before = _count(demo_engine, Issue)
    data = {"title": "楼道灯坏了", "description": "三楼\r\n到五楼\t全黑", "category": "safety", "place": "5栋",
            "source": "meeting", "raised_by": "李老师"}
    assert facilitator.post("/c/jiaochangkou/issues/new", data=data, follow_redirects=False).status_code == 303
    assert _count(demo_engine, Issue) == before + 1
    refused = facilitator.post("/c/jiaochangkou/issues/new", data=data | {"title": "楼道\n灯"})
    assert refused.status_code == 422 and "“title”" in refused.text
    assert _count(demo_engine, Issue) == before + 1


def test_control_characters_in_query_and_path_are_refused(client):
    assert client.get("/c/jiaochangkou/issues", params={"q": "灯\x00"}).status_code == 422
    assert client.get("/c/jiao%00changkou").status_code == 404
    assert client.post("/login", data={"username": "admin\x00", "password": "demo1234"}).status_code == 422


def test_bytes_that_are_not_utf8_are_no_crash(client, demo_engine):
    before = _count(demo_engine, Attendance)
    meeting_id = upcoming_meeting(demo_engine)
    response = client.post(f"/meetings/{meeting_id}/tablet/join", content=b"name=%ED%A0%80%00&room=%FF%FE",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 422
    assert _count(demo_engine, Attendance) == before


def test_a_control_character_in_a_field_name_is_refused(client):
    assert client.post("/login", data={"username": "admin", "password": "demo1234", "x\x00": "1"}).status_code == 422


@pytest.mark.parametrize(("text", "multiline", "expected"), [
    ("王芳", False, False), ("a\tb", False, True), ("a\nb", True, False), ("a\r\nb\tc", True, False),
    ("a\x00b", True, True), ("\x9b", False, True), ("emoji 🙂", False, False), ("\u200b", False, False),
])
def test_has_control(text, multiline, expected):
    assert forms.has_control(text, multiline) is expected


def test_every_textarea_is_a_multi_line_field():
    """A new multi-line box must be named in forms.MULTILINE, or its line breaks are refused."""
    from pathlib import Path

    names = set()
    for template in Path("templates").rglob("*.html"):
        text = template.read_text()
        names |= set(re.findall(r'<textarea[^>]*name="([a-z_]+)"', text))
        names |= set(re.findall(r'textarea\("([a-z_]+)"', text))
    assert names and names <= forms.MULTILINE, names - forms.MULTILINE


def test_tablet_form_with_a_nul_keeps_the_meeting_unchanged(client, demo_engine):
    meeting_id = upcoming_meeting(demo_engine)
    before = _first(demo_engine, Meeting, Meeting.id == meeting_id)
    assert client.post(f"/meetings/{meeting_id}/tablet/comment", data={"text": "\x00"}).status_code == 422
    after = _first(demo_engine, Meeting, Meeting.id == meeting_id)
    assert before == after


def test_the_room_socket_on_a_real_meeting_still_connects(client, demo_engine):
    meeting_id = upcoming_meeting(demo_engine)
    with client.websocket_connect(f"/meetings/{meeting_id}/ws?audience=screen") as ws:
        assert "room-" in ws.receive_text()


def test_a_route_table_websocket_uses_the_bounded_convertor():
    sockets = [r for r in routes if isinstance(r, WebSocketRoute)]
    assert sockets and all(r.param_convertors["id"].regex == "[0-9]{1,18}" for r in sockets)


def test_no_unused_fixture_client_left(app):
    with TestClient(app) as c:
        assert c.get("/issues/" + "9" * 19).status_code == 404

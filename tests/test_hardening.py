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
from forum.models import Area, AreaKind, Attendance, Issue, IssueEvent, Meeting, Notice, Series, User
from tests.app_world import flat
from tests.conftest import upcoming_meeting

# 2**31 (one past what PostgreSQL's INTEGER holds), 2**63 (past SQLite's), 2**64, a long digit string, a negative.
OUT_OF_RANGE = [str(2**31), str(2**63), str(2**64), "9" * 30, "1" * 400, "-1", "0"]


def _int_routes() -> list[tuple[str, list[str]]]:
    found = []
    for path, route, _convertors in flat(routes):
        if isinstance(route, Route) and ":int}" in path:
            found.append((path, sorted(route.methods or [])))
    return found


INT_ROUTES = _int_routes()


def test_the_route_table_has_id_routes():
    # If the table changes shape this test still covers it: it reads the table, not a list of paths.
    assert len(INT_ROUTES) >= 30


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[a-z_]+(:[a-z]+)?\}", lambda m: value if m.group(1) == ":int" else "start", path)


@pytest.mark.parametrize(("path", "methods"), INT_ROUTES, ids=[p for p, _ in INT_ROUTES])
def test_ids_beyond_the_database_range_are_not_found(admin, app, demo_engine, path, methods):
    _requests_alone(app)
    for value in OUT_OF_RANGE:
        url = _fill(path, value)
        for method in ("GET", "POST"):
            response = admin.request(method, url, follow_redirects=False)
            # 405 where the route takes only the other method; never a 500.
            assert response.status_code in (404, 405), (method, url, response.status_code)
            if method in methods:
                assert response.status_code == 404, (method, url)
            # And the error page gave back every database connection it used.
            assert demo_engine.pool.checkedout() == 0, (method, url)


def test_ids_of_18_digits_reach_the_view_and_are_not_found(admin):
    assert admin.get("/meetings/999999999999999999").status_code == 404
    assert admin.get("/issues/999999999999999999").status_code == 404
    assert admin.get(f"/issues/{forms.DB_INT_MAX + 1}").status_code == 404  # past PostgreSQL's INTEGER


def _requests_alone(app) -> None:
    """Stop the app's background duty (the vote closer, which takes a connection for a moment each
    second), so that a connection out of the pool between requests is one a request kept."""
    closer = app.state.vote_closer
    while closer.running:  # once for each client's lifespan holding it
        closer.stop()


def test_error_pages_give_their_database_connection_back(admin, committee_member, app, demo_engine):
    # A view that raises has its error page rendered after the view's session is closed; a page
    # that read through that closed session kept a connection out of the pool: a few hundred
    # 404s (a scan of ids) drained it and the next request waited for one.
    _requests_alone(app)
    assert demo_engine.pool.checkedout() == 0
    for client, address, status in [(admin, "/meetings/999999", 404), (admin, "/issues/0", 404),
                                     (committee_member, "/admin/users", 403)]:
        assert client.get(address).status_code == status
        assert demo_engine.pool.checkedout() == 0, address


def test_an_error_page_still_counts_the_unread_notices(admin, demo_engine):
    with Session(demo_engine) as db:
        admin_id = db.exec(select(User.id).where(User.username == "admin")).one()
        db.add(Notice(user_id=admin_id, kind="assigned"))
        db.add(Notice(user_id=admin_id, kind="assigned"))
        db.commit()
    page = admin.get("/meetings/999999")
    assert page.status_code == 404
    assert re.search(r'class="notice-count">2<', page.text)


@pytest.mark.parametrize("value", [str(2**63), "9" * 25, "-" + str(2**63 + 1)])
def test_the_room_socket_refuses_ids_beyond_range(client, value):
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(f"/meetings/{value}/ws?audience=screen") as ws:
        ws.receive_text()


@pytest.mark.parametrize("value", ["", "abc", "1.5", "+", str(2**31), str(-(2**31) - 1), str(2**63), "9" * 21,
                                   "1" * 5000, None, True, 2**70])
def test_int_param_refuses_what_the_database_cannot_hold(value):
    assert forms.int_param(value) is None


@pytest.mark.parametrize(("value", "expected"), [("7", 7), (" 42 ", 42), ("-3", -3), (str(2**31 - 1), 2**31 - 1),
                                                 (str(-(2**31)), -(2**31)), (5, 5)])
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
    data = {"title": "楼道灯坏了", "description": "三楼\n到五楼", "category": "safety", "place": "5栋",
            "source": "meeting", "raised_by": "李老师"}
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
    sockets = [convertors for _path, r, convertors in flat(routes) if isinstance(r, WebSocketRoute)]
    assert sockets and all(convertors["id"].regex == "[0-9]{1,18}" for convertors in sockets)


def test_no_unused_fixture_client_left(app):
    with TestClient(app) as c:
        assert c.get("/issues/" + "9" * 19).status_code == 404


# ---------------------------------------------------------------- the public address and Host

from dataclasses import replace  # noqa: E402

from forum.app import create_app  # noqa: E402
from forum.settings import Settings  # noqa: E402
from forum.web import qr_svg  # noqa: E402

PUBLIC = "https://forum.example.org"


def _app(demo_engine, **settings):
    base = Settings(database_url="sqlite://", secret_key="test-secret", language="zh-Hans")
    return create_app(replace(base, **settings), engine=demo_engine)


def _start(client: TestClient, demo_engine) -> tuple[int, str]:
    from tests.conftest import sign_in

    meeting_id = upcoming_meeting(demo_engine)
    sign_in(client, "facilitator")
    client.post(f"/meetings/{meeting_id}/run/start")
    code = _first(demo_engine, Meeting, Meeting.id == meeting_id).join_code
    return meeting_id, code


def test_the_join_address_is_the_public_url_whatever_the_host(demo_engine):
    # Cookies not Secure here: the test client speaks plain http.
    app = _app(demo_engine, public_url=PUBLIC, allowed_hosts=("testserver", "lan.example"), secure_cookies=False)
    with TestClient(app) as console:
        meeting_id, code = _start(console, demo_engine)
        for host in ("testserver", "lan.example"):
            page = console.get(f"/meetings/{meeting_id}/run", headers={"host": host}).text
            assert str(qr_svg(f"{PUBLIC}/join?code={code}")) in page and f"{PUBLIC}/join" in page
            assert "lan.example/join" not in page and "testserver/join" not in page
        screen = console.get(f"/meetings/{meeting_id}/screen", headers={"host": "lan.example"}).text
        assert f"{PUBLIC}/join" in screen


def test_unknown_hosts_are_refused(demo_engine):
    app = _app(demo_engine, public_url=PUBLIC)
    with TestClient(app) as client:
        assert client.get("/", headers={"host": "evil.example"}).status_code == 400
        assert client.get("/", headers={"host": "forum.example.org"}).status_code == 200
        assert client.get("/", headers={"host": "127.0.0.1:8000"}).status_code == 200
        assert client.get("/").status_code == 200  # testserver: the test client, as `forum demo` keeps localhost


def test_the_default_hosts_keep_demo_tests_and_the_public_host():
    assert set(Settings(database_url="", secret_key="", language="en").hosts) == {"localhost", "127.0.0.1",
                                                                                  "testserver"}
    assert "forum.example.org" in Settings(database_url="", secret_key="", language="en", public_url=PUBLIC).hosts


def _status_of(ws) -> str:
    """Messages until one carries the room's status part (the join address is in it)."""
    for _ in range(10):
        text = ws.receive_text()
        if 'id="room-status"' in text:
            return text
    raise AssertionError("no status part arrived")


@pytest.mark.parametrize("public_url", ["", PUBLIC])
def test_a_forged_host_on_the_anonymous_screen_socket_changes_nothing(demo_engine, public_url):
    """The attack of #9: a screen socket with Host: evil.example re-pointed every QR code."""
    app = _app(demo_engine, public_url=public_url, allowed_hosts=("testserver", "*") if not public_url else (),
               secure_cookies=False)
    with TestClient(app) as console, TestClient(app) as attacker:
        meeting_id, code = _start(console, demo_engine)
        expected = public_url or "http://testserver"
        with console.websocket_connect(f"/meetings/{meeting_id}/ws?audience=console") as console_ws:
            assert f"{expected}/join" in _status_of(console_ws)
            try:
                with attacker.websocket_connect(f"/meetings/{meeting_id}/ws?audience=screen",
                                                headers={"host": "evil.example"}) as forged:
                    forged.receive_text()
            except WebSocketDisconnect:
                pass  # refused outright where the host is not allowed
            # A change makes the hub push the status part to every console and screen.
            console.post(f"/meetings/{meeting_id}/tablet/join", data={"name": "王芳", "code": code},
                         headers={"host": "testserver"})
            pushed = _status_of(console_ws)
        assert f"{expected}/join" in pushed and "evil.example" not in pushed
        with console.websocket_connect(f"/meetings/{meeting_id}/ws?audience=screen") as screen_ws:
            shown = _status_of(screen_ws)
        assert "evil.example" not in shown and str(qr_svg(f"{expected}/join?code={code}")) in shown


def test_a_forged_host_is_refused_on_the_socket_by_default(demo_engine):
    app = _app(demo_engine)
    with TestClient(app) as client:
        meeting_id = upcoming_meeting(demo_engine)
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(
                f"/meetings/{meeting_id}/ws?audience=screen", headers={"host": "evil.example"}) as ws:
            ws.receive_text()


def test_the_console_warns_when_the_qr_code_points_at_this_machine(demo_engine):
    with TestClient(_app(demo_engine), base_url="http://127.0.0.1:8000") as console:
        meeting_id, _code = _start(console, demo_engine)
        warned = console.get(f"/meetings/{meeting_id}/run").text
    assert "FORUM_PUBLIC_URL" in warned and 'class="room-warning"' in warned
    with TestClient(_app(demo_engine, public_url="http://192.168.1.10:8000")) as console:
        meeting_id, _code = _start(console, demo_engine)
        assert 'class="room-warning"' not in console.get(f"/meetings/{meeting_id}/run").text


@pytest.mark.parametrize("given", ["forum.example.org", "ftp://x", "https://x/forum", "https://x?y=1", "https://u@x",
                                   "https://x:99999"])
def test_a_wrong_public_url_is_refused(given):
    with pytest.raises(ValueError, match="FORUM_PUBLIC_URL"):
        Settings.from_env({"FORUM_PUBLIC_URL": given})


def test_settings_for_hosts_and_cookies():
    s = Settings.from_env({"FORUM_PUBLIC_URL": "https://Forum.Example.org/", "FORUM_ALLOWED_HOSTS": "a.org, *.b.org"})
    assert s.public_url == "https://forum.example.org" and s.hosts == ["a.org", "*.b.org"] and s.cookies_secure
    assert not Settings.from_env({"FORUM_PUBLIC_URL": "https://x.org", "FORUM_SECURE_COOKIES": "0"}).cookies_secure
    assert Settings.from_env({"FORUM_SECURE_COOKIES": "1"}).cookies_secure
    assert not Settings.from_env({}).cookies_secure
    for key, value in [("FORUM_SECURE_COOKIES", "maybe"), ("FORUM_ALLOWED_HOSTS", "http://x.org"),
                       ("FORUM_ALLOWED_HOSTS", "x.org:80")]:
        with pytest.raises(ValueError, match=key):
            Settings.from_env({key: value})


# ---------------------------------------------------------------- headers on every response

def _page_urls(demo_engine) -> list[str]:
    meeting_id = upcoming_meeting(demo_engine)
    issue = _first(demo_engine, Issue)
    series = _first(demo_engine, Series)
    return ["/", "/c/jiaochangkou", "/c/jiaochangkou/issues", "/c/jiaochangkou/issues/new",
            "/c/jiaochangkou/series", "/c/jiaochangkou/series/new", f"/series/{series.id}", f"/issues/{issue.id}",
            f"/meetings/{meeting_id}", f"/meetings/{meeting_id}/run", f"/meetings/{meeting_id}/screen",
            f"/meetings/{meeting_id}/tablet", f"/meetings/{meeting_id}/minutes", f"/meetings/{meeting_id}/minutes.md",
            "/join", "/login", "/admin/households", "/c/nowhere", "/static/forum.css", "/static/room.js",
            f"/meetings/{meeting_id}/votes"]


def test_security_headers_on_every_kind_of_response(admin, demo_engine):
    for url in _page_urls(demo_engine):
        for response in (admin.get(url), admin.get(url, headers={"HX-Request": "true"})):
            headers = response.headers
            assert "script-src 'self'" in headers["content-security-policy"], url
            assert "frame-ancestors 'none'" in headers["content-security-policy"], url
            assert "unsafe-inline" not in headers["content-security-policy"]
            assert "unsafe-eval" not in headers["content-security-policy"]
            assert headers["x-content-type-options"] == "nosniff", url
            assert headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin"), url
    # Redirects, refusals and the host check's own 400 too.
    assert "content-security-policy" in admin.post("/logout", follow_redirects=False).headers
    assert "content-security-policy" in admin.get("/", headers={"host": "evil.example"}).headers


def test_cookies_are_secure_behind_https_only(demo_engine):
    from tests.conftest import sign_in

    with TestClient(_app(demo_engine, public_url=PUBLIC), base_url=PUBLIC) as client:
        response = client.post("/login", data={"username": "admin", "password": "demo1234"}, follow_redirects=False)
        cookie = response.headers["set-cookie"]
        assert "forum_session=" in cookie and "secure" in cookie.lower()
        assert response.headers["strict-transport-security"].startswith("max-age=")
        meeting_id = upcoming_meeting(demo_engine)
        joined = client.post(f"/meetings/{meeting_id}/tablet/next-person", follow_redirects=False)
        assert "forum_device=" in joined.headers["set-cookie"] and "secure" in joined.headers["set-cookie"].lower()
    with TestClient(_app(demo_engine)) as plain:
        response = sign_in(plain, "admin").post("/login", data={"username": "admin", "password": "demo1234"},
                                                follow_redirects=False)
        assert "secure" not in response.headers["set-cookie"].lower()
        assert "strict-transport-security" not in response.headers


def test_no_inline_script_or_handler_is_left_in_templates():
    """script-src 'self' runs no inline <script> and no on*= attribute, and style-src 'self' applies
    no <style> block or style= attribute: they belong in static/."""
    from pathlib import Path

    problems = []
    for template in sorted(Path("templates").rglob("*.html")):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            if "src=" not in tag:
                problems.append(f"{template}: {tag}")
        problems += [f"{template}: {m}" for m in re.findall(r"<[^>]*\son[a-z]+\s*=", text, flags=re.I)]
        problems += [f"{template}: {m}" for m in re.findall(r"\bhx-on[:-]|javascript:|\bstyle\s*=", text, flags=re.I)]
        problems += [f"{template}: {m}" for m in re.findall(r"<style\b", text, flags=re.I)]
    assert problems == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    # The scan above is only worth something if it sees an inline script and a handler.
    sample = '<script>alert(1)</script><button onclick="x()">'
    assert re.findall(r"<script\b[^>]*>", sample) == ["<script>"]
    assert re.findall(r"<[^>]*\son[a-z]+\s*=", sample)


# ---------------------------------------------------------------- origins: CSRF and websockets

@pytest.mark.parametrize(("headers", "refused"), [
    ({"Origin": "null", "Cookie": "forum_session=x"}, True),
    ({"Origin": "null"}, False),  # nobody's cookies: nothing to forge with
    ({"Origin": "https://testserver"}, True),  # the right host, the wrong scheme
    ({"Origin": "http://testserver"}, False),
    ({"Origin": "http://testserver:8080"}, True),
    ({"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}, True),
])
def test_csrf_origin_checks(client, demo_engine, headers, refused):
    before = _count(demo_engine, Issue)
    data = {"title": "楼道灯坏了", "category": "safety", "raised_by": "李", "place": "", "description": ""}
    response = client.post("/c/jiaochangkou/issues/new", data=data, headers=headers, follow_redirects=False)
    assert (response.status_code == 403) is refused, response.status_code
    assert _count(demo_engine, Issue) == before + (0 if refused else 1)


def test_the_public_url_gives_the_scheme_behind_a_tls_proxy(demo_engine):
    # A proxy ends TLS and forwards plain http: the browser's Origin is https, as the public URL says.
    app = _app(demo_engine, public_url=PUBLIC)
    with TestClient(app, base_url="http://forum.example.org") as client:
        data = {"title": "楼道灯坏了", "category": "safety", "raised_by": "李", "place": "", "description": ""}
        ok = client.post("/c/jiaochangkou/issues/new", data=data, headers={"Origin": PUBLIC}, follow_redirects=False)
        assert ok.status_code == 303
        forged = client.post("/c/jiaochangkou/issues/new", data=data, headers={"Origin": "http://forum.example.org"})
        assert forged.status_code == 403


@pytest.mark.parametrize(("origin", "accepted"), [
    (None, True),  # not a browser
    ("http://testserver", True),
    ("http://evil.example", False),
    ("null", False),
    ("https://testserver", False),
])
def test_the_room_socket_checks_origin(client, demo_engine, origin, accepted):
    meeting_id = upcoming_meeting(demo_engine)
    headers = {"origin": origin} if origin else {}
    if accepted:
        with client.websocket_connect(f"/meetings/{meeting_id}/ws?audience=screen", headers=headers) as ws:
            assert "room-" in ws.receive_text()
    else:
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(
                f"/meetings/{meeting_id}/ws?audience=screen", headers=headers) as ws:
            ws.receive_text()
        assert closed.value.code == 1008


# ---------------------------------------------------------------- the Markdown minutes

def test_the_markdown_minutes_escape_a_flat(app, facilitator, demo_engine):
    meeting_id = upcoming_meeting(demo_engine)
    facilitator.post(f"/meetings/{meeting_id}/run/start")
    with Session(demo_engine) as db:
        code = db.get(Meeting, meeting_id).join_code
    with TestClient(app) as tablet:
        joined = tablet.post(f"/meetings/{meeting_id}/tablet/join", data={
            "name": "王芳", "building": "*5*", "unit": "[x](http:", "room": "<b>#1</b>", "code": code},
            follow_redirects=False)
        assert joined.status_code == 303
    text = facilitator.get(f"/meetings/{meeting_id}/minutes.md").text
    line = next(x for x in text.splitlines() if "王芳" in x)
    assert r"\*5\*" in line and r"\[x\](http:" in line and r"\<b\>\#1\</b\>" in line
    assert "*5*" not in line.replace(r"\*", "")


def test_serving_beyond_loopback_without_a_public_url_warns(monkeypatch, database_url):
    from click.testing import CliRunner

    from forum import cli, server

    served = []
    monkeypatch.setattr(server, "serve", lambda app, host, port: served.append((host, port)))
    monkeypatch.setattr(cli.database, "upgrade", lambda engine: None)
    env = {"FORUM_DATABASE_URL": database_url, "FORUM_SECRET_KEY": "k"}
    warned = CliRunner().invoke(cli.main, ["serve", "--host", "0.0.0.0"], env=env, catch_exceptions=False)
    assert "FORUM_PUBLIC_URL is not set" in warned.output and served == [("0.0.0.0", 8000)]
    quiet = CliRunner().invoke(cli.main, ["serve", "--host", "0.0.0.0"], catch_exceptions=False,
                               env=env | {"FORUM_PUBLIC_URL": "http://192.168.1.10:8000"})
    assert "warning" not in quiet.output and len(served) == 2


def test_redis_away_is_a_503_in_the_users_language_not_a_500(app, monkeypatch, caplog):
    """Several workers lean on Redis (the broadcast, the secret urn): while it is away a request
    that needed it gets 'try again', in Chinese, with no trace; the error is logged as a warning."""
    import redis.exceptions

    from forum import oversight

    def away(*_args, **_kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(oversight, "dashboard", away)
    client = TestClient(app, raise_server_exceptions=False)
    with Session(app.state.engine) as db:
        slug = db.exec(select(Area.slug).where(Area.kind == AreaKind.community)).first()
    answer = client.get(f"/c/{slug}/dashboard")
    assert answer.status_code == 503
    assert "服务器暂时连接不上所需的服务" in answer.text
    assert "Traceback" not in answer.text and "6379" not in answer.text

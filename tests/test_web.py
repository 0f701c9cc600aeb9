"""The web plumbing: language choice, date formats, safe redirects, the same-origin guard."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from forum import i18n
from forum.web import LANG_COOKIE, LanguageMiddleware, SameOriginMiddleware, format_when, nl2br, safe_next


def _language_app(default: str = "zh-Hans") -> Starlette:
    async def which(request):
        return PlainTextResponse(i18n.current_language())

    app = Starlette(routes=[Route("/", which)])
    return LanguageMiddleware(app, default=default)


@pytest.mark.parametrize(("cookie", "default", "expected"), [
    (None, "zh-Hans", "zh-Hans"),
    (None, "en", "en"),
    ("en", "zh-Hans", "en"),
    ("en-GB", "zh-Hans", "en"),
    ("zh-Hans", "en", "zh-Hans"),
    ("zh-CN", "en", "zh-Hans"),
    ("klingon", "en", "en"),  # unsupported: the default
    ("", "zh-Hans", "zh-Hans"),
])
def test_language_middleware_picks_cookie_language(cookie, default, expected):
    headers = {"cookie": f"{LANG_COOKIE}={cookie}"} if cookie is not None else {}
    with TestClient(_language_app(default)) as client:
        assert client.get("/", headers=headers).text == expected


def test_language_middleware_survives_a_malformed_cookie_header():
    with TestClient(_language_app("en")) as client:
        response = client.get("/", headers={"cookie": 'a="unterminated; forum_lang=zh-Hans; \x7f=\x00'})
    assert response.status_code == 200
    assert response.text in ("en", "zh-Hans")


def test_language_middleware_finds_the_cookie_among_others():
    with TestClient(_language_app("zh-Hans")) as client:
        response = client.get("/", headers={"cookie": f"forum_session=abc; {LANG_COOKIE}=en; other=1"})
    assert response.text == "en"


def test_language_is_reset_after_the_request():
    before = i18n.current_language()
    with TestClient(_language_app("en")) as client:
        assert client.get("/", headers={"cookie": f"{LANG_COOKIE}=en"}).text == "en"
    assert i18n.current_language() == before


@pytest.mark.parametrize(("given", "expected"), [
    ("zh-Hans", "zh-Hans"), ("zh-CN", "zh-Hans"), ("zh_cn", "zh-Hans"), ("ZH", "zh-Hans"), ("zh-TW", "zh-Hans"),
    ("en", "en"), ("EN-us", "en"), ("en_GB", "en"), (" en ", "en"),
    ("fr", None), ("de-DE", None), ("", None), (None, None), ("*", None),
])
def test_normalise(given, expected):
    assert i18n.normalise(given) == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
    ("en-GB,en;q=0.9", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.8,zh;q=0.7", "en"),  # first supported, by weight
    ("zh;q=0.5,en;q=0.9", "en"),  # weights, not order, decide
    ("en;q=0.5,zh;q=0.5", "en"),  # a tie keeps the header's order
    ("fr,de", None),
    ("", None),
    (None, None),
    ("en;q=abc,zh", "zh-Hans"),  # an unreadable weight counts as 0
])
def test_negotiate(header, expected):
    assert i18n.negotiate(header) == expected


WHEN = datetime(2026, 3, 3, 19, 30, 45)


@pytest.mark.parametrize(("language", "style", "expected"), [
    ("zh-Hans", "medium", "2026年3月3日 19:30"),
    ("zh-Hans", "date", "2026年3月3日星期二"),
    ("zh-Hans", "time", "19:30"),
    ("en", "medium", "3 Mar 2026 19:30"),
    ("en", "date", "Tuesday, 3 March 2026"),
    ("en", "time", "19:30"),
])
def test_format_when(language, style, expected):
    token = i18n.set_language(language)
    try:
        assert format_when(WHEN, style) == expected
    finally:
        i18n.reset_language(token)


@pytest.mark.parametrize(("language", "expected"), [("zh-Hans", "2026年3月3日"), ("en", "3 Mar 2026")])
def test_format_when_date(language, expected):
    token = i18n.set_language(language)
    try:
        assert format_when(date(2026, 3, 3)) == expected
        assert format_when(None) == ""
    finally:
        i18n.reset_language(token)


@pytest.mark.parametrize(("url", "expected"), [
    ("/c/x", "/c/x"),
    ("/issues/3?tab=history", "/issues/3?tab=history"),
    ("//evil", "/"),
    ("//evil.example/path", "/"),
    ("http://evil", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("evil", "/"),
    ("", "/"),
    (None, "/"),
    ("/\\evil.example", "/"),  # browsers read a backslash as a slash
])
def test_safe_next(url, expected):
    assert safe_next(url) == expected


def test_safe_next_default():
    assert safe_next("http://evil", default="/login") == "/login"


def test_nl2br_escapes_and_breaks():
    result = nl2br("one <b>\ntwo & three")
    assert isinstance(result, Markup)
    assert str(result) == "one &lt;b&gt;<br>two &amp; three"


def _origin_app() -> TestClient:
    async def ok(request):
        return PlainTextResponse("done")

    app = SameOriginMiddleware(Starlette(routes=[Route("/", ok, methods=["GET", "POST"])]))
    return TestClient(app, base_url="http://forum.test")


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 200),  # curl, scripts: no browser headers
    ({"Sec-Fetch-Site": "same-origin"}, 200),
    ({"Sec-Fetch-Site": "none"}, 200),  # typed in the address bar
    ({"Origin": "http://forum.test"}, 200),
    ({"Origin": "http://forum.test", "Sec-Fetch-Site": "same-origin"}, 200),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "same-site"}, 403),  # another subdomain is another site's page
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}, 403),
    ({"Origin": "http://forum.test.evil.example"}, 403),
])
def test_same_origin_middleware(headers, status):
    with _origin_app() as client:
        response = client.post("/", headers=headers)
    assert response.status_code == status
    assert (response.text == "done") is (status == 200)


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}])
def test_same_origin_middleware_lets_safe_methods_through(headers):
    with _origin_app() as client:
        assert client.get("/", headers=headers).status_code == 200


@pytest.mark.parametrize(("path", "page"), [("/admin/", "/admin"), ("/meetings/5/", "/meetings/5"),
                                            ("/votes/5/", "/votes/5"), ("/c/x/", "/c/x"),
                                            ("/issues/5/", "/issues/5"), ("/series/5/", "/series/5")])
def test_a_groups_prefix_with_a_trailing_slash_redirects_to_its_page(path, page):
    # As before the route table was grouped: the router's slash redirect, not a 404 from the group.
    from forum.app import routes

    client = TestClient(Starlette(routes=routes))
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == f"http://testserver{page}"


def test_a_group_passes_route_names_and_paths_through():
    from forum.app import routes

    app = Starlette(routes=routes)
    assert app.url_path_for("room_ws", id=7) == "/meetings/7/ws"
    assert app.url_path_for("agenda_move", id=7, entry=3) == "/meetings/7/agenda/3/move"
    assert app.url_path_for("slips", community="x") == "/c/x/slips"

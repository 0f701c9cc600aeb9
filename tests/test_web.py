"""The web plumbing: language choice, date formats, safe redirects, the same-origin guard, and
views queued one at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date, datetime

import httpx
import pytest
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from forum import i18n
from forum.db import make_engine
from forum.web import (
    LANG_COOKIE,
    LanguageMiddleware,
    SameOriginMiddleware,
    form,
    format_when,
    nl2br,
    page,
    queued_page,
    safe_next,
)


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


# ---------------------------------------------------------------- queued views


def _views_app(wrap, **views) -> LanguageMiddleware:
    app = Starlette(routes=[Route(f"/{name}", wrap(view), methods=["POST"]) for name, view in views.items()],
                    middleware=[Middleware(SessionMiddleware, secret_key="test")])
    app.state.engine = make_engine("sqlite://")
    return LanguageMiddleware(app, default="en")


async def _post_all(app, paths: list[str], cookies: dict | None = None) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", cookies=cookies) as c:
        return await asyncio.gather(*(c.post(p, data={"n": str(i)}) for i, p in enumerate(paths)))


@pytest.mark.parametrize(("wrap", "one_at_a_time"), [(queued_page, True), (page, False)])
def test_queued_page_runs_requests_one_at_a_time_on_one_thread(wrap, one_at_a_time, run_async):
    seen = {"running": 0, "most": 0, "threads": set(), "languages": []}
    lock = threading.Lock()

    def view(request, db):
        with lock:
            seen["running"] += 1
            seen["most"] = max(seen["most"], seen["running"])
        seen["threads"].add(threading.current_thread().name)
        seen["languages"].append(i18n.current_language())
        time.sleep(0.03)
        with lock:
            seen["running"] -= 1
        return PlainTextResponse(str(form(request).get("n")))

    responses = run_async(_post_all(_views_app(wrap, v=view), ["/v"] * 8, cookies={LANG_COOKIE: "zh-Hans"}))
    assert [r.text for r in responses] == [str(i) for i in range(8)]
    # The view runs in the request's context: its language came with it.
    assert seen["languages"] == ["zh-Hans"] * 8
    if one_at_a_time:
        assert seen["most"] == 1
        assert seen["threads"] == {"forum-queue_0"}
    else:  # the threadpool overlaps them: what the queue is there to prevent
        assert seen["most"] > 1


def test_queued_view_errors_reach_the_client_as_their_status(run_async):
    def refuse(request, db):
        from starlette.exceptions import HTTPException

        raise HTTPException(403)

    (response,) = run_async(_post_all(_views_app(queued_page, refuse=refuse), ["/refuse"]))
    assert response.status_code == 403


def test_a_queued_request_is_carried_out_even_if_its_client_goes_away(run_async):
    gate, done = threading.Event(), []

    def slow(request, db):
        gate.wait(5)
        return PlainTextResponse("slow")

    def later(request, db):
        done.append(form(request).get("n"))
        return PlainTextResponse("later")

    app = _views_app(queued_page, slow=slow, later=later)

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            first = asyncio.create_task(c.post("/slow"))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(c.post("/later", data={"n": "kept"}))
            await asyncio.sleep(0.05)  # waiting behind the slow one
            second.cancel()
            gate.set()
            assert (await first).text == "slow"
            with pytest.raises(asyncio.CancelledError):
                await second
            for _ in range(100):
                if done:
                    break
                await asyncio.sleep(0.02)

    run_async(main())
    assert done == ["kept"]

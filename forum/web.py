"""The web layer's plumbing: the Jinja environment, the view wrapper, htmx helpers, middleware.

Views are plain functions ``view(request, db) -> Response`` run in the threadpool (a sync
SQLModel session suits it) by ``@page``, which also reads a POSTed form first, opens one session
for the request and loads the signed-in user.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from functools import wraps
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date, format_time
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from forum import auth, i18n, lifecycle, models
from forum.i18n import LANGUAGES, gettext, ngettext
from forum.models import User
from forum.paths import TEMPLATES

log = logging.getLogger("forum")

LANG_COOKIE = "forum_lang"


# ---------------------------------------------------------------- templates


def _babel_locale() -> str:
    return "zh_Hans_CN" if i18n.current_language() == "zh-Hans" else "en_GB"


def format_when(value: datetime | date | None, style: str = "medium") -> str:
    """Dates and times as people in the current language write them."""
    if value is None:
        return ""
    locale = _babel_locale()
    if isinstance(value, datetime):
        if style == "time":
            return format_time(value, "short", locale=locale)
        if style == "date":
            return format_date(value, "full", locale=locale)
        # Minutes, not seconds: people read "19:30", never "19:30:00".
        return f"{format_date(value, 'medium', locale=locale)} {format_time(value, 'short', locale=locale)}"
    return format_date(value, "medium", locale=locale)


def translate(label: str | None) -> str:
    return gettext(label) if label else ""


def nl2br(text: str) -> Markup:
    return Markup("<br>").join(text.splitlines())


def build_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The translation functions read the request's language from a context variable, so one
    # environment serves every language.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(when=format_when, t=translate, nl2br=nl2br)
    env.globals.update(
        LANGUAGES=LANGUAGES,
        STATUS_LABELS=lifecycle.STATUS_LABELS,
        ACTION_LABELS=lifecycle.ACTION_LABELS,
        ACTION_BUTTONS=lifecycle.ACTION_BUTTONS,
        CATEGORIES=models.CATEGORIES,
        SOURCES=models.SOURCES,
        CADENCES=models.CADENCES,
        COMMITTEE_NAMES=models.COMMITTEE_NAMES,
        ORGANISATION_KINDS=models.ORGANISATION_KINDS,
        ROLES=models.ROLES,
        MEETING_STATUSES=models.MEETING_STATUSES,
        # Staff forms show only to those who may use them: staff of the object's community.
        runs_meetings_in=auth.runs_meetings_in,
        triages_in=auth.triages_in,
    )
    return env


def _common_context(request: Request) -> dict[str, Any]:
    return {
        "user": getattr(request.state, "user", None),
        "language": i18n.current_language(),
        "htmx": is_htmx(request),
    }


templates = Jinja2Templates(env=build_env(), context_processors=[_common_context])


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context or {}, status_code=status_code, headers=headers)
    # The same URL answers an htmx request with a fragment and a browser with the page.
    response.headers.append("Vary", "HX-Request")
    return response


# ---------------------------------------------------------------- htmx


def is_htmx(request: Request) -> bool:
    # History restores want the whole page even though htmx asks for them.
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def redirect(request: Request, url: str) -> Response:
    """After a successful POST: a 303 for a browser, HX-Location for htmx (no full reload)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Location": url})
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- views


def form(request: Request) -> FormData:
    return request.state.form


View = Callable[[Request, Session], Response]


def page(func: View) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a sync view: read the form (POST), open the request's session, load the user."""

    @wraps(func)
    async def endpoint(request: Request) -> Response:
        request.state.form = await request.form() if request.method == "POST" else FormData()
        try:
            return await run_view(func, request)
        finally:
            await request.state.form.close()

    return endpoint


async def run_view(func: View, request: Request) -> Response:
    """Run a sync view as ``page`` does, from an async endpoint that has read the request itself."""
    return await run_in_threadpool(_run, func, request)


def _run(func: Callable[[Request, Session], Response], request: Request) -> Response:
    with Session(request.app.state.engine, expire_on_commit=False) as db:
        user_id = request.session.get("user_id")
        request.state.user = db.get(User, user_id) if user_id else None
        return func(request, db)


def user(request: Request) -> User | None:
    return request.state.user


def require(request: Request, allowed: Callable[[User | None], bool]) -> User:
    """The signed-in user if ``allowed``; else a sign-in page (nobody) or 403 (wrong role)."""
    current = request.state.user
    if current is None:
        raise HTTPException(401)
    if not allowed(current):
        raise HTTPException(403)
    return current


def require_in(request: Request, allowed: Callable[[User | None], bool], community_id: int | None) -> User:
    """``require``, and the user acts for that community: staff of another community get 403."""
    current = require(request, allowed)
    if not auth.acts_for(current, community_id):
        raise HTTPException(403)
    return current


def int_param(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def get_or_404(db: Session, model: type, ident: Any) -> Any:
    obj = db.get(model, int_param(ident)) if int_param(ident) is not None else None
    if obj is None:
        raise HTTPException(404)
    return obj


def safe_next(url: str | None, default: str = "/") -> str:
    """Only same-site paths, so a crafted link can't bounce a user elsewhere after sign-in."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url or urlsplit(url).netloc:
        return default
    return url


# ---------------------------------------------------------------- middleware


class LanguageMiddleware:
    """Sets the request's language from the switch's cookie, else the configured default."""

    def __init__(self, app: ASGIApp, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        chosen = None
        for key, value in scope.get("headers", []):
            if key == b"cookie":
                cookie = SimpleCookie()
                try:
                    cookie.load(value.decode("latin-1"))
                except Exception:  # a malformed cookie header from some other site's script
                    continue
                if LANG_COOKIE in cookie:
                    chosen = i18n.normalise(cookie[LANG_COOKIE].value)
        token = i18n.set_language(chosen or self.default)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.reset_language(token)


class SameOriginMiddleware:
    """Refuses state-changing requests that a browser says come from another site.

    Browsers send Sec-Fetch-Site (and Origin) with every POST; comparing them is the CSRF
    defence that needs no token in every form and works for htmx requests alike. Requests with
    neither header (curl, the test client) are not from a browser page and are let through.
    """

    SAFE = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in self.SAFE:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            site = headers.get("sec-fetch-site")
            origin = headers.get("origin")
            host = headers.get("host", "")
            cross = site not in (None, "same-origin", "none") or (
                origin is not None and origin != "null" and urlsplit(origin).netloc != host
            )
            if cross:
                response = HTMLResponse("Cross-site request refused / 拒绝跨站请求", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

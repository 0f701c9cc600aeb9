"""The web layer's plumbing: the Jinja environment, the view wrapper, htmx helpers, middleware.

Views are plain functions ``view(request, db) -> Response`` run in the threadpool (a sync
SQLModel session suits it) by ``@page``, which also reads a POSTed form first, opens one session
for the request and loads the signed-in user.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache, wraps
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import URL, FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum import auth, followup, forms, i18n, lifecycle, models, page_cache, sessions
from forum.addresses import url_for  # noqa: F401  (views take it from here, with render)
from forum.i18n import LANGUAGES, format_when, gettext, ngettext
from forum.models import User
from forum.paths import TEMPLATES

log = logging.getLogger("forum")

LANG_COOKIE = "forum_lang"


# ---------------------------------------------------------------- templates


def translate(label: str | None) -> str:
    return gettext(label) if label else ""


def nl2br(text: str) -> Markup:
    return Markup("<br>").join(text.splitlines())


@lru_cache(maxsize=256)
def qr_svg(url: str) -> Markup:
    """A QR code for ``url`` as inline SVG (the room's join code, a household slip)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    return Markup(svg)


def is_loopback(origin: str) -> bool:
    """The address is this machine only: a QR code for it takes no tablet anywhere."""
    host = (urlsplit(origin).hostname or "").lower()
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")


@pass_context
def _template_url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
    return url_for(context["request"], name, **path_params)


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
    env.filters.update(when=format_when, t=translate, nl2br=nl2br, is_loopback=is_loopback,
                       status_words=lambda text: followup.status_words(text, gettext))
    env.globals.update(
        url_for=_template_url_for,  # Jinja2Templates keeps a url_for already there
        LANGUAGES=LANGUAGES,
        STATUS_LABELS=lifecycle.STATUS_LABELS,
        STEP_LABELS=lifecycle.STEP_LABELS,
        STEP_BUTTONS=lifecycle.STEP_BUTTONS,
        CATEGORIES=models.CATEGORIES,
        SOURCES=models.SOURCES,
        CADENCES=models.CADENCES,
        COMMITTEE_NAMES=models.COMMITTEE_NAMES,
        ORGANISATION_KINDS=models.ORGANISATION_KINDS,
        ROLES=models.ROLES,
        MEETING_STATUSES=models.MEETING_STATUSES,
        ACTION_STATUSES=followup.STATUS_LABELS,
        ACTION_CHANGES={f"action_{k}": v for k, v in followup.CHANGE_LABELS.items()},
        # Staff forms show only to those who may use them: staff of the object's community.
        runs_meetings_in=auth.runs_meetings_in,
        triages_in=auth.triages_in,
    )
    return env


def _common_context(request: Request) -> dict[str, Any]:
    # room_header reads the room's cookies, which forum.live names; action_registry counts notices.
    from forum import action_registry, room_header

    current = getattr(request.state, "user", None)
    return {
        "notice_count": _notice_count(request, current, action_registry.unread_count),
        "user": current,
        "language": i18n.current_language(),
        "htmx": is_htmx(request),
        # A tablet in a meeting shows the meeting's header, not the site's menu.
        "in_room": room_header.meeting_of_device(request) if not is_htmx(request) else None,
    }


def _notice_count(request: Request, current: User | None, count: Callable[[Session, User], int]) -> int:
    """The header's unread notices: read through the view's session, or, for a page rendered
    after it (an error page), through a short one of its own."""
    if current is None:
        return 0
    db = getattr(request.state, "db", None)
    if db is not None:
        return count(db, current)
    with Session(request.app.state.engine) as db:
        return count(db, current)


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
        if forms.control_problems((k, v) for k, v in request.path_params.items()):
            raise HTTPException(404)
        request.state.form = await _read_form(request, getattr(func, "upload_limit", 0)) \
            if request.method == "POST" else FormData()
        try:
            own = getattr(func, "checks_control_characters", ())
            bad = forms.control_problems([(k, v) for k, v in [*request.query_params.multi_items(),
                                                              *request.state.form.multi_items()] if k not in own])
            if bad:
                return refuse_control(request, bad[0])
            if getattr(func, "kept", False) and (quick := page_cache.quick(request)) is not None:
                return quick
            return await run_view(func, request)
        finally:
            await request.state.form.close()

    return endpoint


async def _read_form(request: Request, limit: int) -> FormData:
    """The posted form. A view that takes an upload says how large it may be: past that the body is
    not read further (``request.state.upload_too_large``), and the fields sent before the file (a
    browser sends them in the form's order) are still there to be kept for the user."""
    if not limit:
        return await request.form()
    seen = 0
    receive = request.receive

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request" and not getattr(request.state, "upload_too_large", False):
            body = message.get("body", b"")
            seen += len(body)
            if seen > limit:
                # What fits is still parsed (the fields before the file); the rest is never read.
                request.state.upload_too_large = True
                return {"type": "http.request", "body": body[:len(body) - (seen - limit)], "more_body": False}
        return message

    try:
        return await Request(request.scope, capped).form()
    except MultiPartException:
        request.state.upload_too_large = True
        return FormData()


def takes_upload(limit: int) -> Callable[[View], View]:
    """Mark a view that takes a file: the whole request may be ``limit`` bytes, no more."""

    def mark(func: View) -> View:
        func.upload_limit = limit  # type: ignore[attr-defined]
        return func

    return mark


def checks_control_characters(*fields: str) -> Callable[[View], View]:
    """Mark the fields a view checks for control characters itself, by the field in its own form
    (so what was typed stays there), instead of ``page``'s general refusal page."""

    def mark(func: View) -> View:
        func.checks_control_characters = fields  # type: ignore[attr-defined]
        return func

    return mark


def refuse_control(request: Request, field: str) -> Response:
    """A text field with a NUL byte or another control character: refused before any view runs,
    so nothing is stored half-way, with the field named (the form itself is still in the browser)."""
    message = gettext(forms.CONTROL_MESSAGE) % {"field": field[:40].encode("ascii", "backslashreplace").decode()}
    return render(request, "error.html", {"status": 422, "message": message}, status_code=422)


async def run_view(func: View, request: Request) -> Response:
    """Run a sync view as ``page`` does, from an async endpoint that has read the request itself."""
    return await run_in_threadpool(_run, func, request)


def _run(func: Callable[[Request, Session], Response], request: Request) -> Response:
    with Session(request.app.state.engine, expire_on_commit=False) as db:
        # Templates rendered by the view read through the view's own session (one connection a
        # request: a hall casting at once must not take two from the pool each).
        request.state.db = db
        try:
            # A kept page's version is read first: what the page then reads is at least that new.
            version = page_cache.version_for(request, db) if getattr(func, "kept", False) else None
            # The cookie's session must be live in the database: ended, idle or expired ones sign nobody in.
            request.state.user = sessions.resolve(db, request.session, sessions.expiry_of(request))
            if version is not None:
                return page_cache.serve(request, version, lambda: func(request, db))
            return func(request, db)
        finally:
            # A view that raised (404, 403) has its page rendered by the error handler after this
            # session is closed. A closed session still answers a query, on a connection it then
            # never gives back: each such page would hold one out of the pool until the garbage
            # collector ran, and a stream of 404s would drain it. Whoever renders later opens its own.
            request.state.db = None


def kept(func: View) -> View:
    """Mark a view whose page depends on nothing but the record, the reader, the address and the
    clock's minute: rendered once and served again until the record changes (forum.page_cache)."""
    func.kept = True  # type: ignore[attr-defined]
    return func


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


int_param = forms.int_param


def get_or_404(db: Session, model: type, ident: Any) -> Any:
    """The row with that id; 404 for none, and for any id the database's integers cannot hold."""
    key = forms.id_param(ident)
    obj = db.get(model, key) if key is not None else None
    if obj is None:
        raise HTTPException(404)
    return obj


class IdConvertor(Convertor[int]):
    """``{id:int}`` in the routing table: at most 18 digits (a longer one is no route at all, a
    404), and an id beyond what every database's integer columns hold (``forms.DB_INT_MAX``,
    PostgreSQL's 32 bits) becomes 0, which names no row either: the view answers "not found"
    rather than the database an overflow deep in a query. Registered under Starlette's own name
    "int" so the routing table reads as before."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        number = int(value)
        return number if number <= forms.DB_INT_MAX else 0

    def to_string(self, value: int) -> str:
        value = int(value)
        if not 0 <= value <= forms.DB_INT_MAX:
            raise ValueError(f"an id is a whole number from 0 to {forms.DB_INT_MAX}")
        return str(value)


register_url_convertor("int", IdConvertor())


class Group(Mount):
    """A Mount that only groups routes under a prefix, with no name, so route names stay flat.

    Unlike a plain Mount it does not take the bare prefix with a trailing slash ("/admin/",
    "/meetings/7/"): that is left to the router, which redirects it to the page without the slash
    as it did before the routes were grouped, instead of a 404 from inside the group."""

    def __init__(self, path: str, routes: Sequence[BaseRoute]) -> None:
        super().__init__(path, routes=routes)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and scope["path"] == child_scope["root_path"] + "/":
            return Match.NONE, {}
        return match, child_scope


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
    """Refuses state-changing requests and websocket handshakes that a browser says come from
    another site.

    Browsers send Sec-Fetch-Site (and Origin) with every POST and every websocket handshake;
    comparing them is the CSRF defence that needs no token in every form and works for htmx
    requests alike. The Origin must match the Host in scheme too (http://forum.example.org is not
    https://forum.example.org). ``Origin: null`` (a sandboxed frame, a data: URL, a redirect
    from elsewhere) is refused whenever the request carries cookies, since it could act with
    them. Requests with neither header (curl, the test client) are not from a browser page and
    are let through.
    """

    SAFE = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, app: ASGIApp, public_url: str = "") -> None:
        self.app = app
        self.public = urlsplit(public_url) if public_url else None

    def _scheme(self, scope: Scope, host: str) -> str:
        # Behind a proxy that ends TLS, the server itself may see plain http: the public URL says.
        if self.public is not None and self.public.netloc == host:
            return self.public.scheme
        scheme = scope.get("scheme", "http")
        return {"ws": "http", "wss": "https"}.get(scheme, scheme)

    def foreign(self, scope: Scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        site = headers.get("sec-fetch-site")
        origin = headers.get("origin")
        host = headers.get("host", "").lower()
        if site not in (None, "same-origin", "none"):
            return True
        if origin is None:
            return False
        if origin.strip().lower() == "null":
            return scope["type"] == "websocket" or "cookie" in headers
        parts = urlsplit(origin.strip().lower())
        return parts.netloc != host or parts.scheme != self._scheme(scope, host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in self.SAFE and self.foreign(scope):
            response = HTMLResponse("Cross-site request refused / 拒绝跨站请求", status_code=403)
            await response(scope, receive, send)
            return
        if scope["type"] == "websocket" and self.foreign(scope):
            # Closing before accepting: the server answers the handshake with 403.
            await send({"type": "websocket.close", "code": 1008, "reason": "cross-site"})
            return
        await self.app(scope, receive, send)


# Every response says: scripts, styles and everything else only from forum itself (no inline
# script: htmx needs no eval for what forum uses, and forum's own JavaScript is in static/), no
# framing by any site, no guessing of content types, no full address sent to other sites.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response (pages, fragments, errors, static files) and,
    when forum is served over HTTPS, marks every cookie Secure and asks browsers to keep to HTTPS.

    Pure ASGI, so streaming and websockets pass through untouched."""

    def __init__(self, app: ASGIApp, secure_cookies: bool = False) -> None:
        self.app = app
        self.secure_cookies = secure_cookies
        self.headers = SECURITY_HEADERS + (
            [(b"strict-transport-security", b"max-age=31536000")] if secure_cookies else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers += [(name, value) for name, value in self.headers if name not in present]
                if self.secure_cookies:
                    headers = [(name, _secure(value) if name.lower() == b"set-cookie" else value)
                               for name, value in headers]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure(cookie: bytes) -> bytes:
    attributes = {part.strip().lower() for part in cookie.split(b";")[1:]}
    return cookie if b"secure" in attributes else cookie + b"; Secure"


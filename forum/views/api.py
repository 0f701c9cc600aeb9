"""The read-only JSON API (/api/v1) over the public record, its OpenAPI document and its docs page.

Kept apart from the HTML pages: JSON in, JSON out. Its own mistakes (a bad parameter, nothing at an
address, a method it does not take, a fault of forum's) are JSON problem bodies (RFC 9457,
``application/problem+json``) in the reader's language: ``?lang=`` first, then the language chosen
with the site's switch (its cookie), then ``Accept-Language``, then the installation's default
(zh-Hans) — a script asks by header or parameter, a browser gets what its pages speak.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import api, forms, i18n, openapi, page_cache
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.models import Issue, Meeting, Vote, VoteStatus, now
from forum.web import LANG_COOKIE, page, render, run_view

PROBLEM = "application/problem+json"
TITLES = {400: N_("A parameter forum cannot use"), 404: N_("Not found"), 405: N_("Method not allowed"),
          500: N_("Server error")}
DETAILS = {
    404: N_("There is nothing at this address. It may have been moved or mistyped."),
    405: N_("This address does not take that kind of request."),
    500: N_("Something went wrong on our side. What you entered was not saved; please try again in a moment."),
}
CONTROL = N_("“%(parameter)s” contains a control character (such as NUL), which no parameter takes.")
NO_SUCH = N_("There is no such object: its number is not one forum has given out, or it is not yet public.")


class _Missing(Exception):
    pass


def language_of(request: Request) -> str:
    """?lang=, then the site's language switch, then Accept-Language, then the default."""
    return (i18n.normalise(request.query_params.get("lang", "")[:20])
            or i18n.normalise(request.cookies.get(LANG_COOKIE))
            or i18n.negotiate(request.headers.get("accept-language", "")[:200])
            or request.app.state.settings.language)


def _json(body: Any, status_code: int = 200, headers: dict[str, str] | None = None,
          media_type: str | None = None) -> JSONResponse:
    # Open data: anyone's page or script may read it (it carries nothing a cookie unlocks).
    return JSONResponse(body, status_code=status_code, media_type=media_type,
                        headers={"Access-Control-Allow-Origin": "*", "Content-Language": i18n.current_language(),
                                 "Vary": "Accept-Language, Cookie"} | (headers or {}))


def problem(status: int, detail: str | None = None, parameter: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem body in the current language; ``error`` repeats ``detail`` for the first clients."""
    detail = detail or _(DETAILS.get(status, DETAILS[500]))
    body = {"type": "about:blank", "title": _(TITLES.get(status, TITLES[500])), "status": status, "detail": detail,
            "error": detail, "parameter": parameter}
    return _json(body, status, headers, PROBLEM)


def error_answer(request: Request, status: int, headers: dict[str, str] | None = None) -> Response:
    """forum.app's error handler for addresses under /api/: the problem in the reader's language."""
    token = i18n.set_language(language_of(request))
    try:
        return problem(status, headers={k: v for k, v in (headers or {}).items() if k.lower() == "allow"})
    finally:
        i18n.reset_language(token)


def _answer(build: Callable[[Request, Session], Any]) -> Callable[[Request], Any]:
    def view(request: Request, db: Session) -> Response:
        try:
            return _json(build(request, db))
        except api.BadParameter as bad:
            return problem(400, bad.text(), bad.parameter)
        except _Missing:
            return problem(404, _(NO_SUCH))

    view.kept = True  # type: ignore[attr-defined]  # the public record only: kept (forum.page_cache)

    async def endpoint(request: Request) -> Response:
        token = i18n.set_language(language_of(request))
        try:
            bad = forms.control_problems(request.query_params.multi_items())
            if bad:
                name = bad[0][:40].encode("ascii", "backslashreplace").decode()
                return problem(400, _(CONTROL) % {"parameter": name}, name)
            return page_cache.quick(request) or await run_view(view, request)
        finally:
            i18n.reset_language(token)

    endpoint.__name__ = build.__name__
    endpoint.__doc__ = build.__doc__
    return endpoint


def _get(db: Session, model: type, request: Request) -> Any:
    key = forms.id_param(request.path_params["id"])
    obj = db.get(model, key) if key is not None else None
    if obj is None:
        raise _Missing
    return obj


@_answer
def areas(request: Request, db: Session) -> Any:
    return api.areas(db, api.paging(request.query_params))


@_answer
def issues(request: Request, db: Session) -> Any:
    return api.issues(db, request.query_params, api.paging(request.query_params))


@_answer
def issue(request: Request, db: Session) -> Any:
    return api.issue_detail(db, _get(db, Issue, request), now())


@_answer
def meetings(request: Request, db: Session) -> Any:
    return api.meetings(db, request.query_params, api.paging(request.query_params))


@_answer
def meeting(request: Request, db: Session) -> Any:
    return api.meeting_detail(db, _get(db, Meeting, request))


@_answer
def votes(request: Request, db: Session) -> Any:
    return api.public_votes(db, request.query_params, api.paging(request.query_params))


@_answer
def vote(request: Request, db: Session) -> Any:
    found = _get(db, Vote, request)
    if found.status == VoteStatus.draft:  # not yet part of the record
        raise _Missing
    return api.vote_dict(db, found)


@_answer
def actions(request: Request, db: Session) -> Any:
    return api.actions(db, request.query_params, api.paging(request.query_params), now())


async def openapi_json(request: Request) -> Response:
    return _json(openapi.document())


@page
def docs(request: Request, db: Session) -> Response:
    """The API's endpoints and parameters as a page, from the same document (no scripts needed)."""
    document = openapi.document()
    endpoints = [{"path": path, **operation["get"]} for path, operation in document["paths"].items()]
    return render(request, "api_docs.html", {"document": document, "endpoints": endpoints,
                                             "per_page_max": api.PER_PAGE_MAX})

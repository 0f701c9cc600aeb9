"""The read-only JSON API (/api/v1) over the public record, its OpenAPI document and its docs page.

Kept apart from the HTML pages: JSON in, JSON out, errors as JSON with the parameter named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum import api, forms, openapi
from forum.models import Issue, Meeting, Vote, VoteStatus
from forum.web import page, render


class _Missing(Exception):
    pass


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    # Open data: anyone's page or script may read it (it carries nothing a cookie unlocks).
    return JSONResponse(body, status_code=status_code, headers={"Access-Control-Allow-Origin": "*"})


def _answer(build: Callable[[Request, Session], Any]) -> Callable[[Request, Session], Response]:
    def view(request: Request, db: Session) -> Response:
        try:
            return _json(build(request, db))
        except api.BadParameter as bad:
            return _json({"error": bad.message, "parameter": bad.parameter}, 400)
        except _Missing:
            return _json({"error": "no such object", "parameter": None}, 404)

    view.__name__ = build.__name__
    view.__doc__ = build.__doc__
    return page(view)


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
    return api.issue_detail(db, _get(db, Issue, request))


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


async def openapi_json(request: Request) -> Response:
    return _json(openapi.document())


@page
def docs(request: Request, db: Session) -> Response:
    """The API's endpoints and parameters as a page, from the same document (no scripts needed)."""
    document = openapi.document()
    endpoints = [{"path": path, **operation["get"]} for path, operation in document["paths"].items()]
    return render(request, "api_docs.html", {"document": document, "endpoints": endpoints,
                                             "per_page_max": api.PER_PAGE_MAX})

"""Addresses by route name, made faster (forum.web.RouteIndex, forum.web.url_for): for every route
forum has, the same address Starlette's own walk and ``request.url_for`` give, and the same refusal."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.routing import Mount, NoMatchFound, Router

from forum.addresses import RouteIndex, url_for


def _routes(routes, outer=()):
    """(name, parameter names) of every named route, inside groups too (with the group's)."""
    for route in routes:
        if isinstance(route, Mount) and route.name is None:
            yield from _routes(route.routes, (*outer, *(set(route.param_convertors) - {"path"})))
        elif getattr(route, "name", None):
            own = set(route.param_convertors) - ({"path"} if isinstance(route, Mount) else set())
            yield route.name, sorted(own | set(outer))


def _same(app, name, given):
    """The index's answer and the walk's, or both refusals."""
    answers = []
    for ask in (lambda: Router.url_path_for(app.router, name, **given), lambda: app.router.url_path_for(name, **given)):
        try:
            found = ask()
            answers.append((str(found), found.protocol))
        except NoMatchFound:
            answers.append("refused")
    return answers[0] == answers[1]


def _params(names):
    return {n: (7 if n in ("id", "entry", "invitee", "photo") else "a b-é") for n in names}


def _request(app, scheme="http", root_path="", host=b"forum.example.org:8443"):
    return Request({"type": "http", "scheme": scheme, "server": ("forum.example.org", 8443), "path": "/x",
                    "root_path": root_path, "query_string": b"", "headers": [(b"host", host)],
                    "router": app.router, "app": app})


def test_the_index_answers_as_the_walk_for_every_route(app):
    assert isinstance(app.router.url_path_for, RouteIndex)
    routes = list(_routes(app.router.routes))
    assert len(routes) > 100
    for name, params in routes:
        if name == "static":
            params = ["path"]
        given = _params(params) if name != "static" else {"path": "forum.css"}
        walked = Router.url_path_for(app.router, name, **given)
        indexed = app.router.url_path_for(name, **given)
        assert (str(indexed), indexed.protocol) == (str(walked), walked.protocol), name
        # A group's parameter left out: Starlette leaves "{community}" in the address; so does the index.
        for left_out in params:
            assert _same(app, name, {k: v for k, v in given.items() if k != left_out}), (name, left_out)


@pytest.mark.parametrize(("name", "params"), [
    ("nothing_of_that_name", {}),
    ("issue", {}),  # a parameter missing
    ("issue", {"id": 1, "extra": 2}),  # one too many
    ("community", {"id": 1}),  # the wrong one
    ("static:forum.css", {}),
])
def test_the_index_refuses_as_the_walk(app, name, params):
    with pytest.raises(NoMatchFound):
        Router.url_path_for(app.router, name, **params)
    with pytest.raises(NoMatchFound):
        app.router.url_path_for(name, **params)


@pytest.mark.parametrize(("scheme", "root_path"), [("http", ""), ("https", ""), ("http", "/forum"),
                                                    ("https", "/forum/")])
def test_url_for_gives_what_starlette_gives(app, scheme, root_path):
    for name, params in _routes(app.router.routes):
        given = {"path": "forum.css"} if name == "static" else _params(params)
        request = _request(app, scheme, root_path)
        ours, theirs = url_for(request, name, **given), request.url_for(name, **given)
        assert str(ours) == str(theirs), name
        # And it is a URL like Starlette's: templates add query parameters to it.
        for params in ({}, {"quarter": "2026Q3"}, {"q": "楼道 灯&不亮", "status": "open", "n": 3, "none": None}):
            assert str(ours.include_query_params(**params)) == str(theirs.include_query_params(**params))
        assert ours.path == theirs.path


def test_pages_carry_the_same_links_as_before(client):
    # The templates' url_for is forum's: a page's links are the absolute addresses Starlette made.
    page = client.get("/c/jiaochangkou")
    assert page.status_code == 200
    assert 'href="http://testserver/c/jiaochangkou/issues' in page.text

"""Addresses by route name, as Starlette makes them, made faster (``forum bench pages``): an index
of the routes by name instead of Starlette's walk through all of them, and absolute addresses made
as one string. ``forum.web`` puts ``url_for`` in the templates; ``forum.app`` indexes its routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, NoMatchFound, Route, Router, URLPath, WebSocketRoute

_SCHEMES = {"http": {True: "https", False: "http"}, "websocket": {True: "wss", False: "ws"}}


def url_for(request: Request, name: str, /, **path_params: Any) -> URL:
    """``request.url_for``, the same absolute address, made as one string.

    Starlette builds it from its parts (URL(scheme=…, netloc=…, path=…) splits and joins them
    again), a tenth of a millisecond each; a page with 40 links spent 4 ms on its addresses."""
    router = request.scope.get("router") or request.scope.get("app")
    path = router.url_path_for(name, **path_params)
    base = request.base_url
    scheme = _SCHEMES[path.protocol][base.is_secure] if path.protocol else base.scheme
    return Address(f"{scheme}://{path.host or base.netloc}{base.path.rstrip('/')}{path}")


class Address(URL):
    """An address ``url_for`` made: no query yet, so parameters are added by joining them on,
    as ``URL.include_query_params`` would give after splitting and joining the whole address
    (a district's dashboard adds them to 500 links)."""

    def include_query_params(self, **kwargs: Any) -> URL:
        query = urlencode([(str(key), str(value)) for key, value in kwargs.items()])
        return URL(f"{self}?{query}" if query else str(self))


class RouteIndex:
    """``url_for`` by name without walking the whole URL space.

    Starlette finds a route's address by asking every route in turn, each group asking each of
    its own, by raising and catching an exception per miss: some 25 misses an address, 0.25 ms, and
    a page with 40 links spent a third of its time there. This asks only the top-level routes that
    hold a route of that name, in the same order, so the answer (or the NoMatchFound) is the same.
    Names it does not hold, and "mount:child" names, go to Starlette's own walk."""

    def __init__(self, router: Router) -> None:
        self.walk = router.url_path_for
        self.by_name: dict[str, list[tuple[BaseRoute, BaseRoute | None]]] = {}
        for route in router.routes:
            for name, answer in _answers_in(route):
                self.by_name.setdefault(name, []).append((answer, route if answer is not route else None))

    def __call__(self, name: str, /, **path_params: Any) -> URLPath:
        candidates = self.by_name.get(name)
        if candidates is None or ":" in name:
            return self.walk(name, **path_params)
        for route, whole in candidates:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                if whole is None:
                    continue
            try:  # what the group says to what its route refused (a group's parameter left out)
                return whole.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def _answers_in(route: BaseRoute, prefix: str = "", group: BaseRoute | None = None) -> list[tuple[str, BaseRoute]]:
    """(name, the route that answers it) for a top-level route. A route inside a Group answers as a
    route of its whole path (the group's prefix and its own), as the group would, in one step;
    anything else in a group (a named Mount) is answered by the group itself."""
    if isinstance(route, Mount) and route.name is None:  # a Group
        return [pair for child in route.routes for pair in _answers_in(child, prefix + route.path, group or route)]
    name = getattr(route, "name", None)
    if not name:
        return []
    if not prefix:
        return [(name, route)]
    if isinstance(route, WebSocketRoute):
        return [(name, WebSocketRoute(prefix + route.path, route.endpoint, name=name))]
    if isinstance(route, Route):
        return [(name, Route(prefix + route.path, route.endpoint, methods=route.methods, name=name))]
    return [(name, group)]


def index_routes(router: Router) -> None:
    """Look addresses up through a RouteIndex of the router's routes as they are now."""
    router.url_path_for = RouteIndex(router)  # type: ignore[method-assign]

"""Rendering the live room's parts outside a request (:mod:`forum.live`'s hub renders with it):
each changed part's context built once per push from the database (:func:`forum.parts.contexts`),
each part rendered once per audience and language, as the htmx partials a push or an action's
reply carries. Links are paths, and the language is set around each render."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from forum import i18n
from forum import parts as parts_module
from forum.models import Meeting
from forum.parts import Part

# Renders a process runs at once (each in a thread, with a database connection). They hold the
# interpreter's lock for most of their time, so more at once only adds switching, and takes from
# requests the connections their pool keeps open (one beyond it is opened and closed each time).
# The checks of pages connecting go through the same gate: a hall of tablets reconnecting at once
# took 30 connections a worker and ran a shared PostgreSQL out of them ("too many clients").
RENDERS_AT_ONCE = 3


class Renderer:
    """Renders parts outside a request: links are paths (devices reach the hall by different
    host names), and the translation functions read the language set around each render."""

    def __init__(self, url_path_for: Callable[..., Any], env: Environment) -> None:
        self.url_path_for = url_path_for
        self.env = env
        # Counted so a test can check that a push to many devices renders each part once.
        self.renders = 0

    def url_for(self, name: str, /, **params: Any) -> str:
        return str(self.url_path_for(name, **params))

    def render(self, part: Part, context: dict[str, Any], meeting: Meeting, audience: str,
               origin: str = "") -> Markup:
        self.renders += 1
        template = self.env.get_template(part.template)
        return Markup(template.render({**context, "meeting": meeting, "audience": audience, "origin": origin,
                                       "url_for": self.url_for, "part": part}))


def reading(engine: Engine) -> Session:
    """A session for what the hub only reads. On PostgreSQL its connection runs without a
    transaction: under READ COMMITTED each statement sees what was committed when it began, inside
    a transaction or not, so a BEGIN and a ROLLBACK around a render's reads were two round trips
    for nothing (two of a push's eleven). SQLite opens no transaction for reads as it is. The
    session stays bound to ``engine`` itself (not to a copy with other options): what is kept per
    engine, such as a secret vote's ballots waiting in ``secrecy``'s urn, is found by it."""
    db = Session(engine)
    if engine.dialect.name == "postgresql":
        try:
            db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        except BaseException:
            db.close()
            raise
    return db


def partial(part: Part, html: str) -> str:
    """A part as htmx swaps it by its id, in a push or an action's reply."""
    return f'<hx-partial hx-target="#{part.element_id}" hx-swap="outerHTML">{html}</hx-partial>'



class Rendering:
    """The hub's rendering: the parts of a page (a page load, an action's reply) and of a push."""

    def __init__(self, engine: Engine, parts: Mapping[str, Part], renderer: Renderer) -> None:
        self.engine = engine
        self.parts = dict(parts)
        self.renderer = renderer
        self._renders: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def parts_for(self, audience: str) -> list[Part]:
        return [p for p in self.parts.values() if audience in p.audiences]

    def contexts(self, db: Session, meeting: Meeting, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        return parts_module.contexts(db, meeting, [self.parts[n] for n in names if n in self.parts])

    def render_part(self, name: str, context: dict[str, Any], meeting: Meeting, audience: str,
                    origin: str = "") -> Markup:
        """One part with a context the caller built (the shared tablet's answer to its ballot)."""
        return self.renderer.render(self.parts[name], context, meeting, audience, origin)

    def page_parts(self, db: Session, meeting: Meeting, audience: str, origin: str,
                   names: Iterable[str] | None = None) -> dict[str, Markup]:
        """The parts of an audience (all, or those named), as a page or an action's reply shows them
        (the language is the request's)."""
        parts = self.parts_for(audience)
        if names is not None:
            wanted = set(names)
            parts = [p for p in parts if p.name in wanted]
        contexts = self.contexts(db, meeting, [p.name for p in parts])
        return {p.name: self.renderer.render(p, contexts[p.name], meeting, audience, origin) for p in parts}

    def rendered(self, meeting_id: int, groups: Iterable[tuple[str, str]], names: Iterable[str] | None,
                 origin: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """The changed parts as htmx partials, per (audience, language): each part's context built
        once, and each rendered once per group, whatever the number of pages in it."""
        groups = list(groups)
        wanted = {p.name for p in self.parts.values() if any(a in p.audiences for a, _lang in groups)}
        names = sorted(wanted if names is None else wanted & set(names))
        with reading(self.engine) as db:
            meeting = db.get(Meeting, meeting_id)
            if meeting is None:
                return {}
            contexts = self.contexts(db, meeting, names)
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for audience, language in groups:
            token = i18n.set_language(language)
            try:
                out[(audience, language)] = [
                    (name, partial(self.parts[name], self.renderer.render(
                        self.parts[name], contexts[name], meeting, audience, origin)))
                    for name in names if audience in self.parts[name].audiences]
            finally:
                i18n.reset_language(token)
        return out


    async def _render(self, *args: Any) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """:meth:`rendered` in a thread, at most RENDERS_AT_ONCE at a time on this loop."""
        return await self._in_thread(self.rendered, *args)

    async def _in_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        """A call that reads the database, in a thread: at most RENDERS_AT_ONCE at a time on this
        loop (renders, and the checks of pages connecting: a hall reconnecting at once)."""
        loop = asyncio.get_running_loop()
        gate = self._renders.get(loop)
        if gate is None:
            gate = self._renders[loop] = asyncio.Semaphore(RENDERS_AT_ONCE)
        async with gate:
            return await run_in_threadpool(function, *args)

"""What the room's pages share (the console, tablets, the screen, the shared tablet, and the
verification and vote views that answer inside them): the meeting of the URL, a page's parts and
socket, and answering an action — tell the hub what changed, then send htmx the changed parts or
a browser a redirect.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from forum import auth, joining, live, verification
from forum.models import Area, Attendance, Meeting
from forum.room import queue_of
from forum.web import get_or_404, is_htmx


@dataclass
class Acting:
    """One press of a room's button: where, the form fields it reads, and who pressed it."""

    request: Request
    db: Session
    meeting: Meeting
    values: dict[str, Any]
    actor: str = ""  # a console's: the staff member
    me: Attendance | None = None  # a tablet's: who the device is
    token: str | None = None  # a tablet's: the device's new token, when the button gives one


class Refused(Exception):
    """A button's input does not allow it: the page again with the reasons. ``counted``: what was
    counted against guessing (and only that) is committed; ``parts``: what that changed."""

    def __init__(self, errors: dict[str, str], status: int = 422, *, values: dict[str, str] | None = None,
                 counted: bool = False, parts: tuple[str, ...] = ()) -> None:
        super().__init__(errors)
        self.errors, self.status, self.values = errors, status, values or {}
        self.counted, self.parts = counted, parts


def meeting_of(request: Request, db: Session) -> Meeting:
    return get_or_404(db, Meeting, request.path_params["id"])


def origin_of(request: Request) -> str:
    """Where tablets reach forum: the configured public URL, never a request's Host header;
    without one (local use), the address this request came to, which the allowed hosts bound."""
    return request.app.state.settings.public_url or str(request.base_url).rstrip("/")


def join_url(request: Request, meeting: Meeting) -> str:
    if not meeting.join_code:
        return ""
    return f"{origin_of(request)}{request.url_for('join').path}?code={meeting.join_code}"


def base_context(request: Request, db: Session, meeting: Meeting, audience: str) -> dict[str, Any]:
    """What every room page has: its audience's parts as they stand, and where its socket is.
    A console has a name (``page``) it tells its socket and sends with its actions, so the push
    of what it changed leaves it out."""
    hub = request.app.state.hub
    page = secrets.token_urlsafe(12) if audience == "console" else None
    return {"meeting": meeting, "community": db.get(Area, meeting.community_id), "audience": audience,
            "parts": hub.page_parts(db, meeting, audience, origin_of(request)),
            "ws_url": f"{request.url_for('room_ws', id=meeting.id).path}?audience={audience}",
            "page": page,
            "heartbeat": request.app.state.settings.heartbeat_seconds}


def my_attendance(request: Request, db: Session, meeting: Meeting) -> Attendance | None:
    return auth.device_attendance(db, request.cookies, meeting.id)


def tablet_context(request: Request, db: Session, meeting: Meeting, me: Attendance | None,
                   errors: dict | None = None, values: dict | None = None) -> dict[str, Any]:
    mine = None
    place = None
    if me is not None:
        for i, (req, att) in enumerate(queue_of(db, meeting)):
            if att.id == me.id:
                mine, place = req, i
    # Nobody else's name is offered here: joining as someone checked in takes their slip or the facilitator.
    return base_context(request, db, meeting, "tablet") | {
        "me": me, "my_request": mine, "place": place, "errors": errors or {},
        "values": values or {"name": "", "building": "", "unit": "", "room": "", "code": "",
                             "slip": str(request.session.get(verification.SLIP_SESSION, ""))[:40]},
        "has_pass": joining.has_pass(request.session, meeting), "open_for_joining": joining.open_for_joining(meeting),
        "my_verification": verification.verifications_of(db, meeting).get(me.id) if me is not None else None,
    }


def with_token(response: Response, token: str) -> Response:
    # A year: a tablet in the hall stays itself across meetings until "next person" is pressed.
    response.set_cookie(auth.DEVICE_COOKIE, token, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return response


def acting_page(request: Request) -> tuple[str, int] | None:
    """The console page whose htmx request this is (its name, and how many messages of its socket
    it had taken in), if it said so."""
    return live.acting_page(request.headers.get(live.PAGE_HEADER)) if is_htmx(request) else None


def announce(request: Request, meeting: Meeting, *parts: str, page: tuple[str, int] | None = None) -> None:
    """Tell the room (after the commit) which parts changed; ``page`` gets them in the reply."""
    request.app.state.hub.changed(meeting.id, *parts, page=page)


def answer(request: Request, db: Session, meeting: Meeting, audience: str, back: str, parts: Iterable[str]) -> Response:
    """After a change: tell the room, then answer htmx with the changed parts this audience shows
    (nothing changed here: 204, and htmx swaps nothing), a browser with a redirect."""
    parts = tuple(parts)
    page = acting_page(request) if audience == "console" else None
    if parts:
        announce(request, meeting, *parts, page=page)
    if not is_htmx(request):
        return RedirectResponse(back, status_code=303)
    db.refresh(meeting)
    hub = request.app.state.hub
    rendered = hub.page_parts(db, meeting, audience, origin_of(request), names=parts)
    if not rendered:
        return Response(status_code=204, headers={"Vary": "HX-Request"})
    body = "".join(live.partial(hub.parts[name], html) for name, html in rendered.items())
    return HTMLResponse(body, headers={"Vary": "HX-Request"})

"""Tablets stay in the room: on a device that has joined a meeting, or is a meeting's shared
tablet, every page shows the meeting's own header instead of the site's menu, so a resident
passing the tablet on cannot wander off into the rest of forum. Staff signed in on the device see
the site's menu as ever (a facilitator can always leave); the meeting's header offers them the
sign-in.

Which meeting: the shared tablet's (the session says), else the one the device's cookie has an
attendance in, while that meeting has not ended. Only requests carrying such a cookie or session
cost a query.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request

from forum import auth
from forum.models import Meeting, MeetingStatus


def meeting_of_device(request: Request) -> tuple[Meeting, str] | None:
    """The meeting this device is kept in, with the page that is its place ("tablet" or "shared_tablet")."""
    if getattr(request.state, "user", None) is not None or "session" not in request.scope:
        return None
    shared_tablet = request.session.get(auth.SHARED_TABLET_SESSION)
    has_token = auth.device_token(request.cookies) is not None
    if not isinstance(shared_tablet, dict) and not has_token:
        return None
    db = getattr(request.state, "db", None)
    if db is not None:
        return _meeting_of(db, request, shared_tablet, has_token)
    with Session(request.app.state.engine) as db:  # an error page, rendered outside any view
        return _meeting_of(db, request, shared_tablet, has_token)


def _meeting_of(db: Session, request: Request, shared_tablet: object, has_token: bool) -> tuple[Meeting, str] | None:
    if isinstance(shared_tablet, dict) and isinstance(shared_tablet.get("meeting"), int):
        meeting = db.get(Meeting, shared_tablet["meeting"])
        if meeting is not None and meeting.status != MeetingStatus.ended:
            return meeting, "shared_tablet"
    if has_token:
        # The one way from a device to a person: its latest check-in at a meeting not ended.
        attendance = auth.device_attendance(db, request.cookies, None)
        if attendance is not None:
            return db.get(Meeting, attendance.meeting_id), "tablet"
    return None

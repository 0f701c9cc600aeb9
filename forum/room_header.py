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

import re

from sqlmodel import Session, col, select
from starlette.requests import Request

from forum import live
from forum.models import Attendance, Meeting, MeetingStatus

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,64}")


def meeting_of_device(request: Request) -> tuple[Meeting, str] | None:
    """The meeting this device is kept in, with the page that is its place ("tablet" or "kiosk")."""
    if getattr(request.state, "user", None) is not None or "session" not in request.scope:
        return None
    kiosk = request.session.get(live.KIOSK_SESSION)
    token = request.cookies.get(live.DEVICE_COOKIE, "")
    if not isinstance(kiosk, dict) and not _TOKEN.fullmatch(token):
        return None
    with Session(request.app.state.engine) as db:
        if isinstance(kiosk, dict) and isinstance(kiosk.get("meeting"), int):
            meeting = db.get(Meeting, kiosk["meeting"])
            if meeting is not None and meeting.status != MeetingStatus.ended:
                return meeting, "kiosk"
        if _TOKEN.fullmatch(token):
            meeting = db.exec(select(Meeting).join(Attendance, col(Attendance.meeting_id) == Meeting.id)
                              .where(Attendance.device_token == token, Meeting.status != MeetingStatus.ended)
                              .order_by(col(Attendance.id).desc())).first()
            if meeting is not None:
                return meeting, "tablet"
    return None

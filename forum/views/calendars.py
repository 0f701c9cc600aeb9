"""Calendar feeds to subscribe to: a series', and a community's (every series and one-off meeting)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from forum import calendars
from forum.models import Meeting, Series, now
from forum.views.common import community_or_404
from forum.web import get_or_404, page

# A feed carries the meetings of the last year and what is to come (the rule carries the rest),
# at most this many, so a feed stays small however old the series.
PAST = timedelta(days=366)
MEETINGS_MAX = 1000


def _links(request: Request) -> calendars.Links:
    public = request.app.state.settings.public_url
    return calendars.Links(series=lambda i: str(request.url_for("series", id=i)),
                           meeting=lambda i: str(request.url_for("meeting", id=i)),
                           host=urlsplit(public).hostname if public else request.url.hostname or "forum")


def _meetings(db: Session, *where) -> list[Meeting]:
    return list(db.exec(select(Meeting).where(*where, Meeting.starts_at >= now() - PAST)
                        .order_by(Meeting.starts_at, Meeting.id).limit(MEETINGS_MAX)).all())


def _ics(body: bytes, filename: str) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@page
def series_ics(request: Request, db: Session) -> Response:
    series = get_or_404(db, Series, request.path_params["id"])
    body = calendars.feed(series.title, [series], _meetings(db, Meeting.series_id == series.id), _links(request))
    return _ics(body, f"series-{series.id}.ics")


@page
def community_ics(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    series = db.exec(select(Series).where(Series.community_id == community.id).order_by(col(Series.id))).all()
    body = calendars.feed(community.name, series, _meetings(db, Meeting.community_id == community.id),
                          _links(request))
    return _ics(body, f"{community.slug}.ics")

"""The district overview and a community's home: next meetings, open issues, recent decisions."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from forum import lifecycle, review
from forum.models import AgendaEntry, Area, AreaKind, Issue, Meeting, MeetingStatus, now
from forum.views.common import committees_of, community_or_404, count_by
from forum.web import kept, page, render


@page
@kept
def index(request: Request, db: Session) -> Response:
    areas = db.exec(select(Area).where(col(Area.archived_at).is_(None)).order_by(Area.id)).all()  # archived: not listed
    streets = [a for a in areas if a.kind == AreaKind.street]
    communities = [a for a in areas if a.kind == AreaKind.community]
    open_counts = count_by(db, Issue.community_id, col(Issue.status).in_([s.value for s in lifecycle.OPEN]))
    return render(request, "index.html", {"streets": streets, "communities": communities,
                                          "districts": [a for a in areas if a.kind == AreaKind.district],
                                          "open_counts": open_counts})


@page
@kept
def community_home(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    open_statuses = [s.value for s in lifecycle.OPEN]
    next_meetings = db.exec(select(Meeting).where(Meeting.community_id == community.id,
                                                  Meeting.status != MeetingStatus.ended, Meeting.starts_at >= now())
                            .order_by(Meeting.starts_at).limit(5)).all()
    live = db.exec(select(Meeting).where(Meeting.community_id == community.id,
                                         Meeting.status == MeetingStatus.live)).all()
    decisions = db.exec(
        select(AgendaEntry, Meeting, Issue)
        .join(Meeting, col(Meeting.id) == AgendaEntry.meeting_id)
        .join(Issue, col(Issue.id) == AgendaEntry.issue_id)
        .where(Meeting.community_id == community.id, col(AgendaEntry.decision).is_not(None),
               AgendaEntry.decision != "")
        .order_by(col(Meeting.starts_at).desc()).limit(6)).all()
    return render(request, "community.html", {
        "community": community,
        "next_meetings": live + list(next_meetings),
        "by_status": count_by(db, Issue.status, Issue.community_id == community.id,
                              col(Issue.status).in_(open_statuses)),
        "by_category": count_by(db, Issue.category, Issue.community_id == community.id,
                                col(Issue.status).in_(open_statuses)),
        "decisions": decisions,
        "committees": committees_of(db, community.id),
        "open_statuses": [s for s in lifecycle.Status if s in lifecycle.OPEN],
        # The figure the district reports: (满意 + 基本满意) over all ratings, per quarter (forum.review).
        "quarter_rates": review.quarter_rates(db, community.id)[:4],
    })

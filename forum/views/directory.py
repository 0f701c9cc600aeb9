"""Committees and organisations: who takes on residents' problems."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from forum import action_registry, lifecycle
from forum.models import Area, Committee, Issue, Organisation, Person, User, now
from forum.views.common import committees_of, community_or_404, count_by
from forum.web import get_or_404, kept, page, render


@page
@kept
def committee_list(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    committees = committees_of(db, community.id)
    open_counts = count_by(db, Issue.committee_id, Issue.community_id == community.id,
                           col(Issue.status).in_([s.value for s in lifecycle.OPEN]))
    organisations = db.exec(select(Organisation).order_by(Organisation.kind, Organisation.id)).all()
    return render(request, "committees.html", {"community": community, "committees": committees,
                                               "open_counts": open_counts, "organisations": organisations})


@page
@kept
def committee_detail(request: Request, db: Session) -> Response:
    committee = get_or_404(db, Committee, request.path_params["id"])
    issues = db.exec(select(Issue).where(Issue.committee_id == committee.id)
                     .order_by(col(Issue.updated_at).desc())).all()
    members = db.exec(select(User).where(User.committee_id == committee.id)).all()
    open_issues = [i for i in issues if i.status in lifecycle.OPEN]
    return render(request, "committee.html", {
        "community": db.get(Area, committee.community_id),
        "committee": committee,
        "open_issues": open_issues,
        "closed_issues": [i for i in issues if i.status not in lifecycle.OPEN],
        "members": members,
        # Overdue actions are what committees chase: their issues say so in the list.
        "overdue_issues": action_registry.overdue_issue_ids(db, (i.id for i in open_issues), now().date()),
    })


@page
@kept
def organisation_detail(request: Request, db: Session) -> Response:
    organisation = get_or_404(db, Organisation, request.path_params["id"])
    liaisons = db.exec(select(User).where(User.organisation_id == organisation.id)).all()
    people = db.exec(select(Person).where(Person.organisation_id == organisation.id)).all()
    return render(request, "organisation.html", {"organisation": organisation, "liaisons": liaisons,
                                                 "people": people})

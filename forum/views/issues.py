"""Issue pages: the list with filters, raising an issue, its detail and timeline, triage."""

from __future__ import annotations

from types import SimpleNamespace

from sqlmodel import Session, col, func, select
from starlette.requests import Request
from starlette.responses import Response

from forum import (
    action_registry,
    audit,
    auth,
    followup,
    issue_query,
    issue_registry,
    lifecycle,
    owner_privacy,
    people,
    review,
    votes,
)
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.lifecycle import Facts, Status, Step
from forum.models import (
    CATEGORIES,
    SOURCES,
    AgendaEntry,
    Area,
    Committee,
    Issue,
    IssueEvent,
    Meeting,
    MeetingStatus,
    Source,
    now,
)
from forum.views import followup as followup_views
from forum.views.common import committees_of, community_or_404, refusal
from forum.web import form, get_or_404, int_param, is_htmx, kept, page, redirect, render, require_in, user

TITLE_MAX = 120
PAGE_SIZE = 50


@page
@kept
def issue_list(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    filters = issue_query.read(request.query_params)
    try:
        conditions = issue_query.where(filters)
    except issue_query.BadDate as bad:
        return render(request, "error.html", {"status": 400, "message": _(
            "“%(field)s” is a date written YYYY-MM-DD.") % {"field": bad.field}}, status_code=400)
    conditions.append(Issue.community_id == community.id)
    issues = db.exec(select(Issue).where(*conditions).order_by(col(Issue.updated_at).desc(), col(Issue.id).desc())
                     .limit(PAGE_SIZE + 1)).all()
    context = {
        "community": community,
        "issues": issues[:PAGE_SIZE],
        "more": len(issues) > PAGE_SIZE,
        # The exact number, so a dashboard's figure and the list it links to can be compared.
        "total": db.exec(select(func.count()).select_from(Issue).where(*conditions)).one(),
        "filters": filters,
        "committees": {c.id: c for c in committees_of(db, community.id)},
        "overdue_issues": action_registry.overdue_issue_ids(db, (i.id for i in issues[:PAGE_SIZE]), now().date()),
    }
    # The filter form swaps only the results; the address bar keeps the filters for sharing.
    name = "_partials/issue_list.html" if is_htmx(request) else "issues.html"
    return render(request, name, context)


def _raise_form_errors(values: dict[str, str], staff: bool) -> dict[str, str]:
    errors = {}
    if not values["title"]:
        errors["title"] = _("Say in a few words what the problem is.")
    elif len(values["title"]) > TITLE_MAX:
        errors["title"] = _("Keep the title under %(n)d characters.") % {"n": TITLE_MAX}
    if values["category"] not in CATEGORIES:
        errors["category"] = _("Choose a category.")
    if not values["raised_by"]:
        errors["raised_by"] = _("Give your name, so the committee can come back to you.")
    elif len(values["raised_by"]) > 60:
        errors["raised_by"] = _("Keep the name under %(n)d characters.") % {"n": 60}
    if len(values["place"]) > 120:
        errors["place"] = _("Keep the place under %(n)d characters.") % {"n": 120}
    if staff and values["source"] not in SOURCES:
        errors["source"] = _("Choose how the issue reached you.")
    return errors


@page
def issue_new(request: Request, db: Session) -> Response:
    community = community_or_404(db, request.path_params["community"])
    staff = user(request) is not None
    values = {"title": "", "description": "", "category": "", "place": "", "raised_by": "",
              "source": Source.online if not staff else Source.meeting}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = form(request)
        values = {k: str(data.get(k, "")).strip() for k in values}
        if not staff:  # residents raise online; only staff record visits, hotline calls, meetings
            values["source"] = Source.online
        errors = _raise_form_errors(values, staff)
        if not errors:
            issue = issue_registry.raise_issue(db, community_id=community.id, actor=user(request).display_name
                                         if staff else values["raised_by"], **values)
            if staff:
                audit.record(db, request, "issue_raise", "issue", issue.id, community_id=community.id)
            db.commit()
            return redirect(request, request.url_for("issue", id=issue.id).path)
    return render(request, "issue_new.html", {"community": community, "values": values, "errors": errors,
                                              "staff": staff}, status_code=422 if errors else 200)


def _unnamed(db: Session, issue: Issue, events: list, personal: bool) -> list:
    """An action's lines of the history name its owners: a person's name is replaced, as in the API,
    for those who may not see it, and marked as personal data for those who may."""
    unnaming = owner_privacy.unnaming(db, issue.community_id, action_registry.of_issue(db, issue.id))
    out = []
    for e in events:
        public = unnaming.event(e.action, e.note)
        out.append(SimpleNamespace(**e.model_dump() | {"note": e.note if personal else public,
                                                       "personal": personal and public != e.note}))
    return out


def _detail_context(db: Session, issue: Issue, personal: bool, action_values: dict | None = None,
                    action_errors: dict | None = None) -> dict:
    """The issue's page; ``personal``: for one who may see persons' names (forum.owner_privacy)."""
    community = db.get(Area, issue.community_id)
    events = history = issue_registry.history(db, issue.id)
    if owner_privacy.any_names_owners(events):
        events = _unnamed(db, issue, events, personal)
    meetings = {m.id: m for m in db.exec(select(Meeting).where(
        col(Meeting.id).in_({e.meeting_id for e in events if e.meeting_id} | set(
            db.exec(select(AgendaEntry.meeting_id).where(AgendaEntry.issue_id == issue.id)).all()))))}
    entries = db.exec(select(AgendaEntry).where(AgendaEntry.issue_id == issue.id)).all()
    upcoming = db.exec(select(Meeting).where(Meeting.community_id == issue.community_id,
                                             Meeting.status != MeetingStatus.ended, Meeting.starts_at >= now())
                       .order_by(Meeting.starts_at).limit(10)).all()
    on_agenda_of = {e.meeting_id for e in entries}
    merge_targets = db.exec(select(Issue).where(Issue.community_id == issue.community_id, Issue.id != issue.id,
                                                col(Issue.status).in_([s.value for s in lifecycle.OPEN]))
                            .order_by(col(Issue.id).desc()).limit(100)).all()
    return {
        "community": community,
        "issue": issue,
        "events": events,
        "meetings": meetings,
        # The timeline: each meeting that took the issue up, with what it decided.
        "appearances": sorted(((meetings[e.meeting_id], e) for e in entries if e.meeting_id in meetings),
                              key=lambda pair: pair[0].starts_at),
        "committee": db.get(Committee, issue.committee_id) if issue.committee_id else None,
        "committees": committees_of(db, issue.community_id),
        "merged_into": db.get(Issue, issue.merged_into_id) if issue.merged_into_id else None,
        "steps": lifecycle.allowed_steps(issue.status),
        "schedulable_meetings": [m for m in upcoming if m.id not in on_agenda_of],
        "can_schedule": Status(issue.status) in lifecycle.SCHEDULABLE,
        "merge_targets": merge_targets,
        "values": {},
        "errors": {},
    } | followup_context(db, issue, history, personal) | \
        followup_views.new_action_context(db, issue.community_id, action_values, action_errors)


@page
@kept
def issue_detail(request: Request, db: Session) -> Response:
    return detail_page(request, db, get_or_404(db, Issue, request.path_params["id"]))


def detail_page(request: Request, db: Session, issue: Issue, *, action_values: dict | None = None,
                action_errors: dict | None = None, rating: tuple | None = None) -> Response:
    """The issue's page; with a refused new action's form, as typed, with its errors (422)."""
    # Who raised it (a resident's name, often with their building) is for the community's staff.
    may_see = people.may_see(user(request), issue.community_id)
    context = _detail_context(db, issue, may_see, action_values, action_errors) | {"may_see": may_see}
    if rating is not None:
        context |= {"rating_values": rating[0], "rating_errors": rating[1]}
    return render(request, "issue.html", context, status_code=422 if action_errors or rating else 200)


def followup_context(db: Session, issue: Issue, events: list[IssueEvent], personal: bool = False) -> dict:
    """The issue's actions (a person owning one named only if ``personal``), whether it may be
    marked resolved, its ratings (``events``: its history, read once for the page)."""
    actions = action_registry.of_issue(db, issue.id)
    by_id = {a.id: a for a in actions}
    return {"action_rows": followup_views.action_rows(db, actions, personal),
            # Photo evidence on the timeline, shown to whoever may see that action's photos.
            "event_photos": action_registry.photos_by_event(db, [e.id for e in events]),
            "may_see_photos": lambda who, action_id: followup_views.may_see_photos(who, db, by_id[action_id]),
            "resolvable": followup.resolvable(a.status for a in actions),
            "ratings": review.ratings_of(db, issue.id), "VERDICTS": review.VERDICT_LABELS,
            "RATING_SOURCES": review.SOURCES, "rating_values": {}, "rating_errors": {},
            "rating_votes": [v for v in votes.votes_of_issue(db, issue.id)
                             if v.kind == "rating" and v.status == "closed"]}


@page
def issue_move(request: Request, db: Session) -> Response:
    """Triage and every later step: accept, decline, merge, discuss, decide, start, resolve, review, reopen."""
    issue = get_or_404(db, Issue, request.path_params["id"])
    staff = require_in(request, auth.can_triage, issue.community_id)
    data = form(request)
    values = {k: str(data.get(k, "")).strip() for k in ("action", "committee", "reason", "merge_into", "note")}
    errors: dict[str, str] = {}
    if values["action"] not in Step.__members__:
        errors["action"] = _("Choose what to do with the issue.")
    else:
        step = Step(values["action"])
        committee_id = int_param(values["committee"])
        # Only a committee of the issue's own community may take it on.
        if committee_id is not None and getattr(db.get(Committee, committee_id), "community_id", None) != \
                issue.community_id:
            committee_id = None
        merge_into = int_param(values["merge_into"])
        if merge_into is not None and (target := db.get(Issue, merge_into)) is not None:
            if target.community_id != issue.community_id:
                merge_into = None
        elif merge_into is not None:
            merge_into = None
        facts = Facts(committee_id=committee_id, reason=values["reason"], merge_into=merge_into,
                      decision=values["note"] or values["reason"])
        note = values["reason"] or values["note"]
        try:
            if step is Step.resolve and not action_registry.may_resolve(db, issue.id):
                raise lifecycle.Refused(N_("Every follow-up action must be done before the issue is resolved."))
            old_status = issue.status
            issue_registry.move(db, issue, step, actor=staff.display_name, facts=facts, note=note)
            audit.record(db, request, "issue_move", "issue", issue.id, f"{step.value}: {old_status} → {issue.status}",
                         community_id=issue.community_id)
        except lifecycle.Refused as refused:
            field = {"accept": "committee", "merge": "merge_into", "decline": "reason", "reopen": "reason"}.get(
                step.value, "action")
            errors[field] = refusal(refused)
            db.rollback()
        else:
            db.commit()
            return redirect(request, request.url_for("issue", id=issue.id).path)
    db.refresh(issue)
    context = _detail_context(db, issue, people.may_see(staff, issue.community_id)) | {"values": values,
                                                                                       "errors": errors}
    return render(request, "issue.html", context, status_code=422)


@page
def issue_schedule(request: Request, db: Session) -> Response:
    issue = get_or_404(db, Issue, request.path_params["id"])
    staff = require_in(request, auth.can_triage, issue.community_id)
    data = form(request)
    meeting = db.get(Meeting, int_param(data.get("meeting")) or 0)
    errors = {}
    if meeting is None or meeting.community_id != issue.community_id or meeting.status == MeetingStatus.ended:
        errors["meeting"] = _("Choose a coming meeting of this community.")
    else:
        try:
            issue_registry.place_on_agenda(db, issue, meeting, actor=staff.display_name)
            audit.record(db, request, "issue_schedule", "issue", issue.id, f"meeting {meeting.id}",
                         community_id=issue.community_id)
        except lifecycle.Refused as refused:
            errors["meeting"] = refusal(refused)
            db.rollback()
        else:
            db.commit()
            return redirect(request, request.url_for("issue", id=issue.id).path)
    db.refresh(issue)
    context = _detail_context(db, issue, people.may_see(staff, issue.community_id)) | {
        "values": {"meeting": data.get("meeting", "")}, "errors": errors}
    return render(request, "issue.html", context, status_code=422)



@page
def issue_outside(request: Request, db: Session) -> Response:
    """Mark (or unmark) an issue as needing outside parties: it goes up to the monthly
    coordination's draft agenda (forum.cycle). The community's facilitators and committee members."""
    issue = get_or_404(db, Issue, request.path_params["id"])
    require_in(request, auth.can_triage, issue.community_id)
    issue.needs_outside = form(request).get("needs_outside") == "1"
    issue.updated_at = now()
    db.add(issue)
    audit.record(db, request, "issue_outside", "issue", issue.id, "yes" if issue.needs_outside else "no",
                 community_id=issue.community_id)
    db.commit()
    return redirect(request, request.url_for("issue", id=issue.id).path)

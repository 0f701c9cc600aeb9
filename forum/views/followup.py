"""Follow-up pages: agreeing an action (on an issue's or a meeting's page, or from the console's
decision), an action's page and its updates, "my work", notices. The rules are forum.followup's."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from forum import action_registry, audit, auth, followup, issue_registry, notify, owner_privacy, photos, votes
from forum.followup import Change, Refused
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.models import (
    Action,
    ActionPhoto,
    AgendaEntry,
    Area,
    Committee,
    Issue,
    Meeting,
    Notice,
    Organisation,
    OrganisationCommunity,
    User,
    Vote,
    now,
)
from forum.views.common import committees_of
from forum.web import form, get_or_404, int_param, kept, page, redirect, render, require, takes_upload, user


def today() -> date:
    return now().date()


def parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def owner_options(db: Session, community_id: int) -> list[tuple[str, str]]:
    """Who may own an action of that community: its committees, the organisations serving it (or
    every one, where none is linked yet), and its staff."""
    options = [(f"c{c.id}", c.name) for c in committees_of(db, community_id)]
    serving = db.exec(select(Organisation).join(OrganisationCommunity,
                                                col(OrganisationCommunity.organisation_id) == Organisation.id)
                      .where(OrganisationCommunity.community_id == community_id).order_by(Organisation.id)).all()
    organisations = serving or db.exec(select(Organisation).order_by(Organisation.id)).all()
    options += [(f"o{o.id}", o.name) for o in organisations]
    staff = db.exec(select(User).where(col(User.community_id) == community_id, col(User.disabled_at).is_(None),
                                       col(User.role).in_(["facilitator", "committee"])).order_by(User.id)).all()
    return options + [(f"u{u.id}", u.display_name) for u in staff]


def action_rows(db: Session, actions: list[Action], personal: bool = False) -> list[dict]:
    """What the shared list of actions shows for each: owner, due, status, overdue and by how much.
    A person owning one is named only to those who may see ``personal`` data (forum.owner_privacy)."""
    rows = action_registry.rows(db, actions, today())
    for row in rows:
        if not owner_privacy.action_is_named(row["action"]):
            row["personal"] = personal  # shown, and marked as personal data
            row["owner"] = row["owner"] if personal else _(owner_privacy.PERSON_LABEL)
    return rows


def new_action_context(db: Session, community_id: int, values: dict | None = None, errors: dict | None = None) -> dict:
    return {"owner_options": owner_options(db, community_id), "action_values": values or {},
            "action_errors": errors or {}, "today": today()}


def _create(request: Request, db: Session, issue: Issue, staff: User, meeting_id: int | None) -> dict[str, str]:
    """Agree an action from a form; the errors by field (nothing stored) or none (committed)."""
    data = form(request)
    values = {k: str(data.get(k, "")).strip() for k in ("what", "owner", "due")}
    try:
        action = action_registry.create(db, issue, what=values["what"], owner=followup.parse_owner(values["owner"]),
                                        due=parse_date(values["due"]), actor=staff.display_name, today=today(),
                                        meeting_id=meeting_id)
        audit.record(db, request, "action_create", "action", action.id, f"issue {issue.id}: {action.what}",
                     community_id=issue.community_id)
    except Refused as refused:
        db.rollback()
        request.state.action_values = values
        return {refused.field: _(refused.reason)}
    db.commit()
    return {}


@page
def issue_action_new(request: Request, db: Session) -> Response:
    """An action agreed on the issue's page: the issue's facilitators and committee members."""
    from forum.views.issues import detail_page

    issue = get_or_404(db, Issue, request.path_params["id"])
    staff = require(request, auth.can_triage)
    if not followup.may_change(action_registry.actor_of(staff, auth.acts_for(staff, issue.community_id)),
                               followup.Facts(owner=followup.Owner()), Change.create):
        raise HTTPException(403)
    errors = _create(request, db, issue, staff, None)
    if not errors:
        return redirect(request, request.url_for("issue", id=issue.id).path + "#actions")
    return detail_page(request, db, issue, action_values=request.state.action_values, action_errors=errors)


@page
def meeting_action_new(request: Request, db: Session) -> Response:
    """An action agreed at a meeting, for one of its agenda's issues: whoever runs the meeting."""
    meeting = get_or_404(db, Meeting, request.path_params["id"])
    staff = require(request, auth.can_run_meetings)
    if not auth.can_run(staff, meeting):
        raise HTTPException(403)
    entry = db.get(AgendaEntry, int_param(form(request).get("entry")) or 0)
    if entry is None or entry.meeting_id != meeting.id:
        errors = {"entry": _("Choose an item of this meeting's agenda.")}
        request.state.action_values = {k: str(form(request).get(k, "")).strip() for k in ("what", "owner", "due")}
    else:
        errors = _create(request, db, db.get(Issue, entry.issue_id), staff, meeting.id)
    back = str(form(request).get("back", ""))
    if not errors:
        target = "room_console" if back == "console" else "meeting"
        return redirect(request, request.url_for(target, id=meeting.id).path)
    from forum.views.meetings import meeting_page

    return meeting_page(request, db, meeting, action_values=request.state.action_values | {
        "entry": str(form(request).get("entry", ""))}, action_errors=errors)


def _action_context(request: Request, db: Session, action: Action, values: dict | None = None,
                    errors: dict | None = None) -> dict:
    issue = db.get(Issue, action.issue_id)
    me = user(request)
    actor = action_registry.actor_of(me, auth.acts_for(me, action.community_id) if me else False)
    facts = action_registry.facts_of(db, action)
    personal = auth.sees_personal_data(me, action.community_id)
    # The notes name the owners it had (agreed with, reassigned from and to): a person's name only
    # for those who may see it, marked as personal data where it is shown.
    unnaming = owner_privacy.unnaming(db, action.community_id, [action])
    notes = []
    for n in action_registry.notes_of(db, action.id):
        public = unnaming.note(n.kind, n.text)
        notes.append(SimpleNamespace(**n.model_dump() | {"text": n.text if personal else public,
                                                         "personal": personal and public != n.text}))
    return {
        "community": db.get(Area, action.community_id),
        "issue": issue,
        "row": action_rows(db, [action], personal)[0],
        "personal": personal,
        "notes": notes,
        "note_photos": action_registry.photos_by_note(db, action.id),
        "may_upload": may_see_photos(me, db, action),
        "may": {c.value: followup.may_change(actor, facts, c) for c in Change},
        "owner_options": owner_options(db, action.community_id),
        "values": values or {},
        "errors": errors or {},
        "today": today(),
    }


@page
@kept
def action_detail(request: Request, db: Session) -> Response:
    action = get_or_404(db, Action, request.path_params["id"])
    return render(request, "action.html", _action_context(request, db, action))


def _apply(db: Session, action: Action, change: Change, values: dict[str, str], actor: str) -> str:
    """Make the change; what the audit log says of it."""
    if change is Change.progress:
        action_registry.add_progress(db, action, actor=actor, text=values["note"])
        return "progress"
    if change is Change.status:
        return action_registry.set_status(db, action, values["status"], actor=actor, note=values["note"]).value
    if change is Change.reassign:
        action_registry.reassign(db, action, followup.parse_owner(values["owner"]), reason=values["reason"],
                                 actor=actor)
        return f"owner {values['owner']}"
    action_registry.move_due(db, action, parse_date(values["due"]), reason=values["reason"], actor=actor,
                             today=today())
    return f"due {values['due']}"


def _photo_of(request: Request, change: Change, values: dict[str, str]) -> photos.Processed | None:
    """The photo sent with a progress note or a "done", checked and re-encoded; None without one;
    ``Refused`` on the field "photo" for anything else (too large, not a picture, not JPEG or PNG)."""
    if getattr(request.state, "upload_too_large", False):
        raise Refused("photo", photos.TOO_LARGE)
    upload = form(request).get("photo")
    # A form whose file input was left empty still sends the part, with no file name and no bytes.
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    if change is Change.status and values["status"] != followup.Status.done:
        raise Refused("photo", N_("A photo goes with a progress note or with the action done."))
    return photos.process(upload.file.read(photos.MAX_BYTES + 1))


@page
@takes_upload(photos.MAX_BYTES + 64 * 1024)  # the photo, and the note typed with it
def action_update(request: Request, db: Session) -> Response:
    """progress, status, reassign, due: each by whom the rules allow (a liaison of another
    organisation: 403), refused by field with what was typed kept, nothing stored."""
    action = get_or_404(db, Action, request.path_params["id"])
    try:
        change = Change(request.path_params["action"])
    except ValueError:
        raise HTTPException(404) from None
    if change is Change.create:
        raise HTTPException(404)
    staff = require(request, lambda u: u is not None)
    actor = action_registry.actor_of(staff, auth.acts_for(staff, action.community_id))
    if not followup.may_change(actor, action_registry.facts_of(db, action), change):
        raise HTTPException(403)
    data = form(request)
    values = {k: str(data.get(k, "")).strip() for k in ("note", "status", "owner", "due", "reason")}
    try:
        photo = _photo_of(request, change, values) if change in (Change.progress, Change.status) else None
        detail = _apply(db, action, change, values, staff.display_name)
        audit.record(db, request, f"action_{change.value}", "action", action.id, detail,
                     community_id=action.community_id)
        if photo is not None:
            kept = action_registry.attach_photo(db, action, photo, actor=staff.display_name)
            audit.record(db, request, "action_photo", "action", action.id,
                         f"photo {kept.id} ({kept.content_type}, {kept.width}×{kept.height})",
                         community_id=action.community_id)
    except Refused as refused:
        db.rollback()
        db.refresh(action)
        # The status form's one text box is its note, which is where a blocked action's reason goes.
        field = "note" if change is Change.status and refused.field == "reason" else refused.field
        context = _action_context(request, db, action, values | {"change": change.value},
                                  {field: _(refused.reason)})
        return render(request, "action.html", context, status_code=422)
    db.commit()
    return redirect(request, request.url_for("action", id=action.id).path)


def may_see_photos(me: User | None, db: Session, action: Action) -> bool:
    """Photo evidence may show a resident's door or a shop's kitchen: it is for those who report on
    the action (its community's staff, the committee whose issue it serves, the owning organisation's
    liaison), not for everyone who may read the action's page."""
    if me is None:
        return False
    actor = action_registry.actor_of(me, auth.acts_for(me, action.community_id))
    return followup.may_change(actor, action_registry.facts_of(db, action), Change.progress)


@page
def action_photo(request: Request, db: Session) -> Response:
    """One photo of an action, large or (``?size=thumb``) its thumbnail, as it was re-encoded."""
    action = get_or_404(db, Action, request.path_params["id"])
    photo = get_or_404(db, ActionPhoto, request.path_params["photo"])
    if photo.action_id != action.id:
        raise HTTPException(404)
    me = require(request, lambda u: u is not None)
    if not may_see_photos(me, db, action):
        raise HTTPException(403)
    body = photo.thumb if request.query_params.get("size") == "thumb" else photo.large
    return Response(body, media_type=photo.content_type, headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="action-{action.id}-photo-{photo.id}"'})


@page
def my_work(request: Request, db: Session) -> Response:
    """What is theirs: actions they, their organisation or their committee own; overdue first."""
    me = require(request, lambda u: u is not None)
    day = today()
    work = action_registry.sorted_work(action_registry.work_of(db, me), day)
    # Their own work: the only person owning it is themselves.
    open_rows = action_rows(db, [a for a in work if a.status != followup.Status.done], personal=True)
    done_rows = action_rows(db, [a for a in work if a.status == followup.Status.done][:20], personal=True)
    return render(request, "my_work.html", {
        "organisation": db.get(Organisation, me.organisation_id) if me.organisation_id else None,
        "committee": db.get(Committee, me.committee_id) if me.committee_id else None,
        "open_rows": open_rows, "done_rows": done_rows,
        "overdue": sum(1 for r in open_rows if r["overdue"]),
    })


@page
def notices(request: Request, db: Session) -> Response:
    """The signed-in person's notices, newest first. Reading the page writes nothing (reads never
    write); a notice is marked read when it is opened, by its button."""
    me = require(request, lambda u: u is not None)
    found = db.exec(select(Notice).where(Notice.user_id == me.id).order_by(col(Notice.at).desc(),
                                                                           col(Notice.id).desc()).limit(100)).all()
    rows = [{"notice": n, "unread": n.read_at is None, "action": db.get(Action, n.action_id) if n.action_id else None,
             "issue": db.get(Issue, n.issue_id) if n.issue_id else None} for n in found]
    return render(request, "notices.html", {"rows": rows, "KINDS": NOTICE_KINDS})


NOTICE_KINDS = notify.KINDS


@page
def notice_open(request: Request, db: Session) -> Response:
    """Open a notice: it is read, and the person goes to what it is about. Someone else's is not
    theirs to read: back to their own notices, nothing changed."""
    me = require(request, lambda u: u is not None)
    notice = get_or_404(db, Notice, request.path_params["id"])
    if notice.user_id != me.id:
        return redirect(request, request.url_for("notices").path)
    if notice.read_at is None:
        notice.read_at = now()
        db.add(notice)
        db.commit()
    if notice.action_id is not None:
        return redirect(request, request.url_for("action", id=notice.action_id).path)
    return redirect(request, request.url_for("issue", id=notice.issue_id).path)


def meeting_followup_context(db: Session, meeting: Meeting, values: dict | None = None,
                             errors: dict | None = None, personal: bool = False) -> dict:
    """A meeting's follow-up: the actions of its agenda's issues (overdue marked), the organisations
    to invite (a monthly coordination: those owning open actions), the issues to rate (a review)."""
    from forum import review

    entries = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)
                      .order_by(AgendaEntry.position, AgendaEntry.id)).all()
    issue_ids = [e.issue_id for e in entries]
    actions = db.exec(select(Action).where(col(Action.issue_id).in_(issue_ids))
                      .order_by(Action.due, Action.id)).all() if issue_ids else []
    invite: list[Organisation] = []
    if meeting.cadence == "monthly":
        owning = db.exec(select(Action.owner_organisation_id).where(
            Action.community_id == meeting.community_id, Action.status != followup.Status.done,
            col(Action.owner_organisation_id).is_not(None)).distinct()).all()
        invite = list(db.exec(select(Organisation).where(col(Organisation.id).in_(owning)).order_by(Organisation.id)))
    to_rate = [db.get(Issue, i) for i in issue_ids] if meeting.cadence == "quarterly" else []
    # The cycle's proposal for a meeting yet to end (forum.cycle), for the facilitator to take.
    proposed: list[Issue] = []
    if meeting.status != "ended":
        draft, by_id = issue_registry.draft_for(db, meeting, day=meeting.starts_at.date())
        proposed = [by_id[i] for i in draft.issue_ids]
    return new_action_context(db, meeting.community_id, values, errors) | {
        "proposed": proposed,
        "meeting_action_rows": action_rows(db, list(actions), personal),
        "invite": invite,
        "to_rate": [i for i in to_rate if i is not None],
        "entry_issues": [(e, db.get(Issue, e.issue_id)) for e in entries],
        "VERDICTS": review.VERDICT_LABELS,
        "RATING_SOURCES": review.SOURCES,
        "rating_values": {}, "rating_errors": {}, "rating_issue": None,
        # The vote of those present, taken with the votes package on the item: its closed tally is the rating.
        "rating_votes_by_issue": {i.id: [v for v in votes.votes_of_issue(db, i.id)
                                         if v.kind == "rating" and v.status == "closed"] for i in to_rate if i},
    }


def _counts(values: dict[str, str]) -> tuple[object | None, str | None]:
    from forum import review

    numbers = {}
    for key in ("satisfied", "basically", "dissatisfied"):
        n = int_param(values[key] or "0")
        if n is None or not 0 <= n <= review.COUNT_MAX:
            return None, key
        numbers[key] = n
    return review.Counts(**numbers), None


@page
def issue_rate(request: Request, db: Session) -> Response:
    """The quarterly review's rating of a resolved issue: counts from a closed rating vote, a show of
    hands or paper; 不满意 reopens it. Those who run the community's meetings."""
    from forum import review
    from forum.views.issues import detail_page

    issue = get_or_404(db, Issue, request.path_params["id"])
    staff = require(request, auth.can_run_meetings)
    if not auth.acts_for(staff, issue.community_id):
        raise HTTPException(403)
    data = form(request)
    values = {k: str(data.get(k, "")).strip() for k in ("satisfied", "basically", "dissatisfied", "source",
                                                         "reason", "vote", "meeting")}
    meeting = db.get(Meeting, int_param(values["meeting"]) or 0)
    if meeting is not None and meeting.community_id != issue.community_id:
        meeting = None
    errors: dict[str, str] = {}
    counts = None
    if values["source"] == "vote":
        vote = db.get(Vote, int_param(values["vote"]) or 0)
        if vote is None or vote.issue_id != issue.id or vote.kind != "rating" or vote.status != "closed":
            errors["vote"] = _("Choose a closed rating vote on this issue.")
        else:
            counts = review.counts_of_vote(db, vote)
    elif values["source"] in ("hands", "paper"):
        counts, bad = _counts(values)
        if bad:
            errors[bad] = _("Counts are whole numbers from 0 to 100000.")
    else:
        errors["source"] = _("Say how residents rated it.")
    if not errors and counts is not None:
        try:
            rating = review.rate(db, issue, counts, source=values["source"], reason=values["reason"],
                                 actor=staff.display_name, on=meeting.starts_at.date() if meeting else today(),
                                 meeting_id=meeting.id if meeting else None)
            audit.record(db, request, "issue_rate", "issue", issue.id, f"{rating.verdict} ({values['source']})",
                         community_id=issue.community_id)
        except Refused as refused:
            db.rollback()
            errors[refused.field] = _(refused.reason)
        else:
            db.commit()
            back = request.url_for("meeting", id=meeting.id).path if meeting else \
                request.url_for("issue", id=issue.id).path
            return redirect(request, back)
    db.refresh(issue)
    if meeting is not None:
        from forum.views.meetings import meeting_page

        response = meeting_page(request, db, meeting, rating=(issue.id, values, errors))
        response.status_code = 422
        return response
    return detail_page(request, db, issue, rating=(values, errors))


@page
def meeting_draft(request: Request, db: Session) -> Response:
    """Put the cycle's proposed agenda on the meeting (the facilitator then removes or reorders)."""
    meeting = get_or_404(db, Meeting, request.path_params["id"])
    staff = require(request, auth.can_run_meetings)
    if not auth.can_run(staff, meeting):
        raise HTTPException(403)
    if meeting.status != "ended":
        placed = issue_registry.propose_agenda(db, meeting, actor=staff.display_name, day=meeting.starts_at.date())
        if placed:
            audit.record(db, request, "agenda_draft", "meeting", meeting.id, f"issues {placed}",
                         community_id=meeting.community_id)
            db.commit()
    return redirect(request, request.url_for("meeting", id=meeting.id).path)

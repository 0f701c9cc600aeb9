"""Vote pages: the facilitator's forms (set up, open, close, hands, paper, proxy, shared tablet), the tablet
ballot, and the result page anyone may read.

Views stay thin: they read the form, call :mod:`forum.votes`, commit, tell the live room, and
render. A tablet is known by its Attendance's device token in a cookie; nothing else about the
voter comes from the browser.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

from sqlmodel import Session, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from forum import agenda, audit, auth, ballot_box, electorate, parts, secrecy, verification, votes
from forum.i18n import N_
from forum.i18n import gettext as _
from forum.models import (
    Area,
    Attendance,
    Issue,
    Meeting,
    Vote,
    VoteElector,
    VoteProxy,
    VoteReceipt,
    VoteStatus,
    now,
)
from forum.parts import result_context, shared_tablet_context
from forum.views.room_common import base_context, origin_of
from forum.web import form, get_or_404, int_param, is_htmx, page, redirect, render, require_in, run_view

# The cookie the live room sets on a tablet when its person checks in.
DEVICE_COOKIE = auth.DEVICE_COOKIE


def notify(request: Request, vote: Vote, *, ballot: bool = False) -> None:
    """Tell the live room a vote changed (after commit); a no-op where there is no live hub."""
    parts.tell_room(getattr(request.app.state, "hub", None), vote, ballot=ballot)


# ---------------------------------------------------------------- setting a vote up


def _new_context(db: Session, meeting: Meeting | None, issue: Issue | None, values: dict, errors: dict) -> dict:
    community = db.get(Area, meeting.community_id if meeting else issue.community_id)
    entries, issues = [], {}
    if meeting is not None:
        entries = agenda.entries_of(db, meeting.id)
        issues = {e.issue_id: db.get(Issue, e.issue_id) for e in entries}
    existing = votes.votes_of_meeting(db, meeting.id) if meeting else votes.votes_of_issue(db, issue.id)
    return {"community": community, "meeting": meeting, "issue": issue, "entries": entries, "issues": issues,
            "values": values, "errors": errors, "votes_list": existing, "KINDS": votes.KINDS,
            "SCOPES": votes.SCOPES, "UNITS": votes.UNITS, "WEIGHTINGS": votes.WEIGHTINGS, "RULES": votes.RULES,
            "CLOSINGS": votes.CLOSINGS, "VOTE_STATUSES": _statuses()}


def _statuses() -> dict:
    return votes.STATUSES  # with "closing": an open vote past its closing time, not closed yet


def _vote_form(request: Request, db: Session, meeting: Meeting | None, issue: Issue | None) -> Response:
    values = votes.blank_values(meeting, issue)
    errors: dict[str, str] = {}
    if request.method == "POST":
        staff = require_in(request, auth.can_run_meetings, (meeting or issue).community_id)
        data = form(request)
        values = {k: str(data.get(k, "")).strip() for k in votes.FIELDS}
        values["options"] = str(data.get("options", ""))
        values |= {k: "on" for k in votes.FLAGS if data.get(k)}
        vote, errors = votes.create_vote(db, values, community_id=(meeting or issue).community_id,
                                         meeting=meeting, issue=issue, actor=staff.display_name)
        if vote is not None:
            audit.record(db, request, "vote_create", "vote", vote.id, vote.question, community_id=vote.community_id)
            db.commit()
            return redirect(request, request.url_for("vote", id=vote.id).path)
        db.rollback()
    return render(request, "vote_new.html", _new_context(db, meeting, issue, values, errors),
                  status_code=422 if errors else 200)


@page
def meeting_votes(request: Request, db: Session) -> Response:
    """A meeting's votes, and the form to put a question to the room."""
    meeting = get_or_404(db, Meeting, request.path_params["id"])
    return _vote_form(request, db, meeting, None)


@page
def issue_votes(request: Request, db: Session) -> Response:
    """An issue's votes, and the form for one that runs over days (households, paper ballots)."""
    issue = get_or_404(db, Issue, request.path_params["id"])
    return _vote_form(request, db, None, issue)


# ---------------------------------------------------------------- the result page and console


def _vote(db: Session, request: Request) -> Vote:
    # As stored: a vote past its closing time is closed by the closer (forum.votes.closer), not by a read.
    return get_or_404(db, Vote, request.path_params["id"])


def _page_context(db: Session, request: Request, vote: Vote, errors: dict | None = None,
                  values: dict | None = None) -> dict:
    meeting = db.get(Meeting, vote.meeting_id) if vote.meeting_id else None
    issue = db.get(Issue, vote.issue_id) if vote.issue_id else None
    # The facilitator's sections name pending voters with their flats: staff of this community only.
    staff = auth.runs_meetings_in(request.state.user, vote.community_id)
    trail = votes.audit_trail(db, vote)
    named = secrecy.may_see_named_ballots(vote, request.state.user, _attendance(db, request, vote))
    if not named:
        # Who chose what, in an open vote, is for the community's staff (forum.secrecy): others
        # see what happened and when, without any voter's name or choice.
        trail = _public_trail(trail)
    context = {
        "vote": vote, "meeting": meeting, "issue": issue, "community": db.get(Area, vote.community_id),
        "errors": errors or {}, "values": values or {}, "staff": staff,
        "audit": trail, "AUDIT_LABELS": votes.AUDIT_LABELS, "named_hidden": not named and not vote.secret,
        "vote_scope_label": _(votes.SCOPES[vote.scope]), "vote_unit_label": _(votes.UNITS[vote.counting_unit]),
        "scope_summary": electorate.scope_summary(db, vote), "MERGE_REASONS": electorate.REASONS,
        "hands_of_present_allowed": votes.hands_of_present_allowed(vote),
        "binding": verification.is_binding(vote),
    } | result_context(db, vote)
    if staff and vote.status != VoteStatus.closed:
        electors = list(db.exec(select(VoteElector).where(VoteElector.vote_id == vote.id)
                                .order_by(VoteElector.label))) if vote.status == VoteStatus.open \
            else votes.compute_electorate(db, vote)
        voted = {k for k in _receipts(db, vote)}
        context["pending"] = [e for e in electors if e.voter_key not in voted]
        # The shared tablet opens a binding vote's ballot for verified residents present only.
        context["shared_tablet_voters"] = verification.shared_tablet_voters(db, vote, context["pending"])
        context["attendees"] = list(db.exec(select(Attendance).where(Attendance.meeting_id == vote.meeting_id)
                                            .order_by(Attendance.name))) if vote.meeting_id else []
        context["proxies"] = list(db.exec(select(VoteProxy).where(VoteProxy.vote_id == vote.id)))
        context["shared_tablet_label"] = next((e.label for e in electors if e.voter_key == vote.kiosk_voter), None)
    return context


# Trail entries whose actor or detail names a voter (with their flat) or a proxy holder.
_NAMING = ("ballot", "change", "elector", "kiosk", "proxy")  # stored trail actions ("kiosk": the shared tablet)


def _public_trail(trail: list) -> list[SimpleNamespace]:
    """The vote's trail for everyone but the community's staff: what happened and when, no voter's name."""
    return [SimpleNamespace(at=a.at, action=a.action, actor=_("A voter") if a.action in _NAMING[:3] else a.actor,
                            detail="" if a.action in _NAMING else a.detail) for a in trail]


def _receipts(db: Session, vote: Vote) -> list[str]:
    """Who has voted, including secret ballots received and waiting to be written with others'."""
    voted = list(db.exec(select(VoteReceipt.voter_key).where(VoteReceipt.vote_id == vote.id)))
    return voted + sorted(secrecy.waiting_keys(db, vote.id)) if vote.secret else voted


@page
def vote_detail(request: Request, db: Session) -> Response:
    vote = _vote(db, request)
    return render(request, "vote.html", _page_context(db, request, vote))


def _console_done(request: Request, db: Session, vote: Vote, errors: dict, values: dict | None = None,
                  action: str = "", detail: str = "") -> Response:
    """After a facilitator's change: refused, roll back; else record it in the staff log, commit."""
    if errors:
        db.rollback()
        db.refresh(vote)
        return render(request, "vote.html", _page_context(db, request, vote, errors, values), status_code=422)
    if action:
        audit.record(db, request, action, "vote", vote.id, detail, community_id=vote.community_id)
    db.commit()
    notify(request, vote)
    return redirect(request, request.url_for("vote", id=vote.id).path)


def _staff_vote(request: Request, db: Session) -> tuple[str, Vote]:
    vote = _vote(db, request)
    return require_in(request, auth.can_run_meetings, vote.community_id).display_name, vote


def _step(request: Request, db: Session, step, field: str) -> Response:
    """Open or close: the refusal, if any, is shown beside the button that was pressed."""
    actor, vote = _staff_vote(request, db)
    try:
        step(db, vote, actor=actor)
    except votes.VoteRefused as refused:
        return _console_done(request, db, vote, {field: refused.text()})
    return _console_done(request, db, vote, {}, action=f"vote_{field}")


@page
def vote_open(request: Request, db: Session) -> Response:
    return _step(request, db, votes.open_vote, "open")


@page
def vote_close(request: Request, db: Session) -> Response:
    return _step(request, db, votes.close_vote, "close")


@page
def vote_hands(request: Request, db: Session) -> Response:
    actor, vote = _staff_vote(request, db)
    data = form(request)
    raw = {k: str(data.get(f"hands-{k}", "")) for k, _label in votes.choices_of(vote)}
    present = bool(data.get("hands_present"))
    errors = votes.set_hands(db, vote, raw, actor=actor, present=present)
    values = {f"hands-{k}": v for k, v in raw.items()} | ({"hands_present": "on"} if present else {})
    return _console_done(request, db, vote, errors, values, action="vote_hands",
                         detail=", ".join(f"{k} {v}" for k, v in raw.items()) + (" (present)" if present else ""))


@page
def vote_paper(request: Request, db: Session) -> Response:
    """A paper ballot a member of staff enters, with its serial number."""
    actor, vote = _staff_vote(request, db)
    data = form(request)
    values = {"voter": str(data.get("voter", "")), "serial": str(data.get("serial", "")).strip(),
              "choice": [str(c) for c in data.getlist("choice") if c]}
    errors = {}
    if not values["serial"]:
        errors["serial"] = _("Enter the serial number printed on the paper ballot.")
    if not values["choice"] and vote.kind != "several_of":
        errors["choice"] = _("Mark what the ballot says.")
    if errors:
        return _console_done(request, db, vote, errors, values)
    try:
        votes.cast(db, vote, values["voter"], [str(c) for c in values["choice"]], via="paper", cast_by=actor,
                   paper_serial=values["serial"])
    except votes.VoteRefused as refused:
        return _console_done(request, db, vote, {refused.field or "paper": refused.text()}, values)
    # The serial only: never the choice (a secret vote's ballot must not be linked to anything).
    return _console_done(request, db, vote, {}, action="vote_paper", detail=f"serial {values['serial'][:40]}")


@page
def vote_proxy(request: Request, db: Session) -> Response:
    actor, vote = _staff_vote(request, db)
    data = form(request)
    values = {k: str(data.get(k, "")).strip() for k in ("principal", "holder", "note")}
    holder = db.get(Attendance, int_param(values["holder"]) or 0)
    errors = votes.record_proxy(db, vote, values["principal"], holder, actor=actor, note=values["note"])
    return _console_done(request, db, vote, errors, values, action="vote_proxy",
                         detail=f"{values['principal'][:40]} → attendance {holder.id if holder else '—'}")


@page
def vote_shared_tablet(request: Request, db: Session) -> Response:
    """POST: the facilitator opens the shared tablet's ballot for a chosen voter. GET: the shared
    tablet of the vote's meeting."""
    actor, vote = _staff_vote(request, db)
    if vote.meeting_id is None:
        raise HTTPException(404)
    if request.method == "POST":
        key = str(form(request).get("voter", ""))
        problem = votes.open_shared_tablet(db, vote, key, actor=actor)
        return _console_done(request, db, vote, {"shared_tablet": problem} if problem else {}, {"voter": key},
                             action="vote_kiosk", detail=key[:40])  # as stored: audit.ACTIONS
    return redirect(request, request.url_for("room_shared_tablet", id=vote.meeting_id).path)


@page
def vote_shared_tablet_cast(request: Request, db: Session) -> Response:
    """A ballot from the shared tablet, which staff made so (or staff themselves)."""
    vote = _vote(db, request)
    if vote.meeting_id is None:
        raise HTTPException(404)
    if auth.is_shared_tablet_of(request.session, vote.meeting_id):
        actor = str(request.session[auth.SHARED_TABLET_SESSION].get("by") or _("Shared tablet"))
    else:
        actor, vote = _staff_vote(request, db)
    data = form(request)
    try:
        cast = votes.cast_at_shared_tablet(db, vote, str(data.get("nonce", "")),
                                           [str(c) for c in data.getlist("choice")], staff=actor)
    except votes.VoteRefused as refused:
        db.rollback()
        db.refresh(vote)
        return _shared_tablet_reply(request, db, vote, error=refused.text(),
                            status_code=409 if refused.code == "not_open" else 422)
    notify(request, vote, ballot=True)
    # The thank-you never repeats the choice: the facilitator hands the tablet on next.
    return _shared_tablet_reply(request, db, vote, done=True, received=cast.outcome == "received")


def _shared_tablet_reply(request: Request, db: Session, vote: Vote, *, status_code: int = 200, **extra) -> Response:
    meeting = db.get(Meeting, vote.meeting_id)
    html = request.app.state.hub.render_part("shared_tablet", shared_tablet_context(db, meeting) | extra, meeting,
                                             "shared_tablet", origin_of(request))
    if is_htmx(request):
        return HTMLResponse(html, status_code=status_code, headers={"Vary": "HX-Request"})
    context = base_context(request, db, meeting, "shared_tablet")
    context["parts"]["shared_tablet"] = html
    return render(request, "room_shared_tablet.html", context, status_code=status_code)


# ---------------------------------------------------------------- the tablet


def _attendance(db: Session, request: Request, vote: Vote) -> Attendance | None:
    if vote.meeting_id is None:
        return None
    return auth.device_attendance(db, request.cookies, vote.meeting_id)


def ballot_context(db: Session, vote: Vote, attendance: Attendance | None, **extra) -> dict:
    ballots = votes.ballots_for_attendance(db, vote, attendance) if attendance else []
    context = {"vote": vote, "vote_state": votes.shown_status(vote, now()), "attendance": attendance,
               "my_ballots": ballots, "choices": votes.choices_of(vote), "community": db.get(Area, vote.community_id),
               "message": None, "error": None}
    if vote.status == VoteStatus.closed:  # the ballot shows the result only once the vote has closed
        context |= result_context(db, vote)
    return context | extra


@page
def vote_ballot(request: Request, db: Session) -> Response:
    """The tablet's ballot page. A tablet whose secret ballot waits to be counted with others asks
    again every few seconds (``waiting``: the voters it handed ballots in for) until it is counted;
    one that was lost (the server stopped before writing it) is offered again, saying so."""
    vote = _vote(db, request)
    attendance = _attendance(db, request, vote)
    context = ballot_context(db, vote, attendance)
    handed_in = set(str(request.query_params.get("waiting", "")).split(",")[:20]) - {""}
    mine = {b.voter_key: b for b in context["my_ballots"] if b.voter_key in handed_in}
    if vote.status == VoteStatus.open and mine:
        if any(not (b.voted or b.waiting) for b in mine.values()):
            context["error"] = _(LOST)
        elif all(b.voted for b in mine.values()):
            context["message"] = _(MESSAGES["counted"])
    return render(request, _ballot_template(request), context)


MESSAGES = {
    "counted": N_("Your ballot is counted. Thank you."),
    "changed": N_("Your ballot is changed; only the new choice counts."),
    "unchanged": N_("Your ballot was counted already; it is counted once."),
    "already": N_("A ballot was counted already for this voter; it is counted once."),
    "received": N_("Your ballot is received. It will be counted together with other voters' ballots, so that "
                   "nobody can tell which one was yours."),
}
LOST = N_("Your ballot was not counted: the server stopped before it was saved together with others. "
          "Please vote again.")


async def vote_cast(request: Request) -> Response:
    """A tablet's ballot: counted by the ballot box with whatever else is being cast, then answered."""
    data = await request.form()
    try:
        counted = await request.app.state.ballot_box.cast(
            int(request.path_params["id"]), auth.device_token(request.cookies) or "", str(data.get("voter", "")),
            [str(c) for c in data.getlist("choice")])
    finally:
        await data.close()
    if counted.vote is None:
        raise HTTPException(404)
    if counted.tablet is None:
        raise HTTPException(403)
    tablet = counted.tablet
    if tablet.outcome is not None and tablet.outcome.outcome in ("counted", "changed", "received"):
        notify(request, counted.vote, ballot=True)
    return await run_view(functools.partial(_cast_reply, counted=counted), request)


def _cast_reply(request: Request, db: Session, counted: ballot_box.Counted) -> Response:
    vote, attendance, tablet = counted.vote, counted.attendance, counted.tablet
    if tablet.refused is not None:
        refused = tablet.refused
        status = 409 if refused.code in ("not_open", "no_change") else 422
        return render(request, _ballot_template(request), ballot_context(db, vote, attendance, error=refused.text()),
                      status_code=status)
    outcome = tablet.outcome.outcome
    if outcome == "already" and any(b.waiting for b in tablet.mine if b.voter_key == tablet.voter_key):
        outcome = "received"  # a second tap while the first waits to be counted with others
    # The tablet's ballots as the count left them: no second round of queries for the reply.
    context = {"vote": vote, "vote_state": votes.shown_status(vote, now()), "attendance": attendance,
               "my_ballots": tablet.mine, "choices": votes.choices_of(vote),
               "community": None if is_htmx(request) else db.get(Area, vote.community_id), "error": None,
               "message": _(MESSAGES[outcome])}
    return render(request, _ballot_template(request), context)


def _ballot_template(request: Request) -> str:
    return "_partials/vote_ballot.html" if is_htmx(request) else "vote_ballot.html"


@page
def vote_result_json(request: Request, db: Session) -> Response:
    """The result as data, when it may be shown (also what the benchmark checks)."""
    vote = _vote(db, request)
    ballots, eligible = votes.turnout(db, vote)
    # "ballots" is the turnout: for an open secret vote it includes ballots received and waiting
    # to be counted with others ("waiting"); the counts ("result") only once it has closed.
    body = {"id": vote.id, "status": vote.status, "ballots": ballots, "eligible": eligible, "result": None}
    if vote.secret and vote.status == VoteStatus.open:
        body["waiting"] = secrecy.waiting_count(db, vote.id)
    if vote.status != VoteStatus.draft and votes.shows_tallies(vote):
        body["result"] = votes.tally_result(db, vote)
    return JSONResponse(body)

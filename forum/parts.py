"""The parts of the room pages and the sections of the minutes: the one table of what is pushed.

A room page (the facilitator's console, a resident's tablet, the hall's screen, the shared tablet)
is made of named *parts* — the agenda, the current entry, the speaking queue, the vote … — each a
template rendering one element with the id ``room-<name>``. Each part's context is built here from
the database, once per push whatever the number of devices; :mod:`forum.live` renders it once per
audience and language and sends the same bytes to every page. ``create_app`` hands :data:`PARTS` to
the hub and :data:`MINUTES_SECTIONS` to the minutes pages, so what a room page or the minutes
contain is read in this file, not gathered from whichever modules happen to be imported.
The way runs one direction: hub → parts → templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select

from forum import action_registry, agenda, joining, minutes, owner_privacy, secrecy, verification, votes
from forum.i18n import gettext as _
from forum.models import (
    AgendaEntry,
    Attendance,
    Comment,
    Issue,
    IssueEvent,
    Meeting,
    Ownership,
    SpeakerStatus,
    Vote,
    VoteElector,
    VoteStatus,
    now,
)
from forum.room import SPEAKER_MINUTES, attendance_count, clock, current_entry, queue_of, timer
from forum.web import qr_svg

if TYPE_CHECKING:  # the hub imports this table; this module only names its type
    from forum.live import Hub

AUDIENCES = ("console", "tablet", "screen", "shared_tablet")
ROOM_AUDIENCES = ("console", "tablet", "screen")  # what a part is for unless it says (not the shared tablet)

Context = Callable[[Session, Meeting], dict[str, Any]]


@dataclass(frozen=True)
class Part:
    """One element of the room pages. ``template`` renders the whole element ``<… id="room-{name}">``
    (it is swapped by its outer HTML); its context is ``context(db, meeting)`` plus ``meeting``,
    ``audience``, ``origin`` and ``url_for``."""

    name: str
    template: str
    context: Context
    audiences: tuple[str, ...] = ROOM_AUDIENCES

    def __post_init__(self) -> None:
        unknown = set(self.audiences) - set(AUDIENCES)
        if unknown:
            raise ValueError(f"unknown audiences {sorted(unknown)}; expected some of {AUDIENCES}")

    @property
    def element_id(self) -> str:
        return "room-" + self.name.replace("_", "-")  # ids are hyphenated: room-shared-tablet


# ---------------------------------------------------------------- what several parts read

# Where :func:`contexts` keeps, while it builds one push's contexts in one session, what more than
# one part reads (the agenda's entries): read once per push, not once per part.
_SHARED = "forum.parts.shared"


def contexts(db: Session, meeting: Meeting, parts: Iterable[Part]) -> dict[str, dict[str, Any]]:
    """The context of each part, built in one session: what two parts both read is read once,
    and parts built by the same function (the vote and its count) share one context. The
    templates only read their contexts."""
    db.info[_SHARED] = {}
    built: dict[Context, dict[str, Any]] = {}
    try:
        for part in parts:
            if part.context not in built:
                built[part.context] = part.context(db, meeting)
        return {part.name: built[part.context] for part in parts}
    finally:
        db.info.pop(_SHARED, None)


def _entries(db: Session, meeting_id: int) -> list[AgendaEntry]:
    """The meeting's agenda, read once while :func:`contexts` builds a push."""
    shared = db.info.get(_SHARED)
    if shared is None:
        return agenda.entries_of(db, meeting_id)
    key = ("entries", meeting_id)
    if key not in shared:
        shared[key] = agenda.entries_of(db, meeting_id)
    return shared[key]


# ---------------------------------------------------------------- the room


def status_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    return {"count": attendance_count(db, meeting), "qr": qr_svg}


def entry_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    entry = current_entry(db, meeting)
    issue = db.get(Issue, entry.issue_id) if entry else None
    history: list[IssueEvent] = []
    issue_actions = action_registry.of_issue(db, issue.id) if issue is not None else []
    if issue is not None:
        history = list(db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id)
                               .order_by(col(IssueEvent.at).desc(), col(IssueEvent.id).desc()).limit(5)))
        # Only the residents' tablets show it: an action's lines name no person (forum.owner_privacy).
        # Other lines name nobody, and a push reads the community's owners only when one is shown.
        if owner_privacy.any_names_owners(history):
            unnaming = owner_privacy.unnaming(db, issue.community_id, issue_actions)
            history = [SimpleNamespace(**e.model_dump() | {"note": unnaming.event(e.action, e.note)})
                       for e in history]
    entries = _entries(db, meeting.id)
    number = entries.index(entry) + 1 if entry in entries else None
    # The console sees the issue's follow-up actions, overdue ones marked (forum.action_registry).
    actions = action_registry.rows(db, issue_actions, now().date())
    return {"entry": entry, "issue": issue, "history": history, "number": number, "total": len(entries),
            "timer": timer(meeting.entry_started_at, entry.planned_minutes) if entry else None, "clock": clock,
            "entry_actions": actions}


def agenda_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    entries = _entries(db, meeting.id)
    issues = {i.id: i for i in db.exec(select(Issue).where(col(Issue.id).in_([e.issue_id for e in entries])))}
    return {"entries": entries, "issues": issues, "current": meeting.current_entry_id}


def queue_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    rows = queue_of(db, meeting)
    speaker = rows[0] if rows and rows[0][0].status == SpeakerStatus.speaking else None
    waiting = [r for r in rows if r[0].status == SpeakerStatus.waiting]
    return {"speaker": speaker, "waiting": waiting, "clock": clock,
            "speaker_timer": timer(speaker[0].started_at, SPEAKER_MINUTES) if speaker else None}


def attendance_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    people = list(db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)
                          .order_by(col(Attendance.checked_in_at).desc(), col(Attendance.id).desc())))
    owners = set(db.exec(select(Ownership.person_id).where(
        col(Ownership.person_id).in_({a.person_id for a in people if a.person_id}))))
    return {"people": people, "verifications": verification.verifications_of(db, meeting), "owners": owners,
            "refused_check_ins": joining.refused_check_ins(db, meeting),
            "late_since": _opened_votes_since(db, meeting)}


def _opened_votes_since(db: Session, meeting: Meeting) -> datetime | None:
    # Who checked in after an open vote of those present began is marked on the console.
    return db.exec(select(func.min(Vote.opened_at)).where(Vote.meeting_id == meeting.id, Vote.scope == "attendance",
                                                          Vote.status == VoteStatus.open)).one()


def comments_context(db: Session, meeting: Meeting) -> dict[str, Any]:
    rows = db.exec(select(Comment, Attendance).join(Attendance, Comment.attendance_id == Attendance.id, isouter=True)
                   .where(Comment.meeting_id == meeting.id)
                   .order_by(col(Comment.at).desc(), col(Comment.id).desc()).limit(50)).all()
    return {"comments": rows, "current": meeting.current_entry_id}


# ---------------------------------------------------------------- votes


def result_context(db: Session, vote: Vote) -> dict:
    """What a vote's result block shows, in the room and on the vote and ballot pages: turnout
    always, tallies and verdict when allowed."""
    ballots, eligible = votes.turnout(db, vote)
    waiting = secrecy.waiting_count(db, vote.id) if vote.secret and vote.status == VoteStatus.open else 0
    context = {"vote": vote, "vote_state": votes.shown_status(vote, now()), "ballots": ballots,
               "eligible": eligible, "result": None, "waiting": waiting,
               "choices": votes.choices_of(vote), "rule_label": votes.RULES[vote.rule],
               "VOTE_STATUSES": votes.STATUSES, "VIAS": votes.VIAS}
    if vote.status != VoteStatus.draft and votes.shows_tallies(vote):
        result = votes.tally_result(db, vote)
        context |= {"result": result, "lines": votes.comparison_lines(result), "bars": votes.bars(vote, result)}
    return context


def vote_context(db: Session, meeting: Meeting) -> dict:
    """The room's vote region: the open vote (else the last closed one), rendered once per push."""
    vote = votes.current_vote(db, meeting.id)
    if vote is None:
        return {"vote": None}
    return result_context(db, vote)


def shared_tablet_context(db: Session, meeting: Meeting) -> dict:
    """The shared tablet: the open vote it has a ballot open in (else the room's open vote)."""
    opened = [v for v in votes.votes_of_meeting(db, meeting.id) if v.status == VoteStatus.open]
    vote = next((v for v in opened if v.kiosk_voter), None) or next(iter(opened), None)
    elector = db.get(VoteElector, (vote.id, vote.kiosk_voter)) if vote and vote.kiosk_voter else None
    return {"vote": vote, "elector": elector, "choices": votes.choices_of(vote) if vote else [], "done": False,
            "error": None}


# ---------------------------------------------------------------- the table


PARTS: dict[str, Part] = {part.name: part for part in (
    Part("status", "_partials/room_status.html", status_context),
    Part("entry", "_partials/room_entry.html", entry_context),
    Part("agenda", "_partials/room_agenda.html", agenda_context, ("console", "tablet")),
    Part("queue", "_partials/room_queue.html", queue_context),
    Part("attendance", "_partials/room_attendance.html", attendance_context, ("console",)),
    Part("comments", "_partials/room_comments.html", comments_context, ("console",)),
    Part("vote", "_partials/room_vote.html", vote_context),
    # The count inside the vote region (#room-votecount), refreshed alone as ballots arrive.
    Part("votecount", "_partials/room_votecount.html", vote_context, ("console", "screen")),
    # The shared tablet's ballot, for the one voter the facilitator opened it for.
    Part("shared_tablet", "_partials/room_shared_tablet.html", shared_tablet_context, ("shared_tablet",)),
)}


# ---------------------------------------------------------------- the minutes


def vote_section(db: Session, meeting: Meeting, entry: AgendaEntry) -> minutes.Section | None:
    """Each closed vote on an agenda entry, with the fractions its rule compared, in the minutes."""
    closed = [v for v in votes.votes_of_meeting(db, meeting.id)
              if v.agenda_entry_id == entry.id and v.status == VoteStatus.closed]
    if not closed:
        return None
    lines = []
    for v in closed:
        result = votes.tally_result(db, v)
        lines.append(votes.summary(v, result))
        lines += [f"{line['label']}: {line['text']} {'✓' if line['met'] else '✗'}"
                  for line in votes.comparison_lines(result)]
    return minutes.Section(_("Votes"), lines)


# Each gives a titled block of lines under an agenda entry, or None when it has nothing to say of it.
MINUTES_SECTIONS: tuple[minutes.SectionFn, ...] = (vote_section,)


def tell_room(hub: Hub | None, vote: Vote, *, ballot: bool = False) -> None:
    """The parts of a meeting's room a vote's change refreshes (after the commit; also as the
    closer closes it). A ballot changes only the count, which tablets do not show while the vote
    is open: it refreshes the "votecount" part (console and screen) and sends nothing to the hall's
    tablets, nor to the shared tablet, whose answer to the cast says "thank you" until the next voter.
    """
    if hub is not None and vote.meeting_id is not None:
        if ballot:
            hub.changed(vote.meeting_id, "votecount")
        else:
            hub.changed(vote.meeting_id, "vote", "shared_tablet")

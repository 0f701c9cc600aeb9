"""Votes (表决): creating, opening, casting, proxies, hands, paper ballots, closing, and the audit trail.

The arithmetic is :mod:`forum.counting`'s; this module gathers what it needs from the database
and keeps three promises:

* **One counted ballot per eligible voter.** ``VoteReceipt`` has the primary key
  ``(vote_id, voter_key)``; a cast inserts its receipt first, so a double tap, a retry or a
  concurrent submission for the same voter fails on that key and is answered as "already
  counted" (or, for an open vote that allows it, as a change of an existing ballot). Tablets'
  ballots are counted in batches (``cast_from_tablets``, fed by :mod:`forum.ballot_box`): one
  insert of the batch's receipts reports which voters had none, and only theirs are counted.
* **Secret means unlinkable.** A secret vote writes the receipt (who voted) and adds to an
  anonymous ``VoteTally`` row per choice (heads and area sums, updated in place); no row anywhere
  carries both a voter and a choice, and nothing is logged about who chose what. Its ballots are
  written only in batches of at least K voters, never one by one, so no commit in the database's
  log links a voter to a choice either (:mod:`forum.secrecy`); a batch leaves one audit entry
  with its count. That is also why a secret ballot cannot be changed: nothing remembers which
  tally to take it back from.
* **Checkable results.** Closing freezes ``counting.count(...).as_dict()`` on the vote, writes an
  audit entry and a note in the issue's timeline.

The first statement of every cast transaction is a write (the receipt insert, or the ballot
update of a change), so on SQLite the writer lock is taken before anything is read and
concurrent casts queue on the busy timeout instead of failing on a stale snapshot. The vote's
status is read again under that lock (``FOR SHARE`` on PostgreSQL), so no ballot lands after
the vote was closed and its result frozen.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from forum import counting, display, electorate, forms, secrecy, verification
from forum.counting import CountingError, Kind, Rule, Voter, Weighting

# The electorate is built in forum.electorate (owners as the law counts them); its names stay
# importable from here for the code that used them.
from forum.electorate import (  # noqa: F401
    _centi,
    _household_id,
    _households_in_scope,
    compute_electorate,
    elector_for_attendance,
    key_for_household,
    key_for_person,
    room_label,
    voter_key_for,
)
from forum.i18n import N_, gettext
from forum.models import (
    AgendaEntry,
    Attendance,
    Ballot,
    Household,
    ImportJob,
    Issue,
    IssueEvent,
    Meeting,
    PaperSerial,
    Vote,
    VoteAudit,
    VoteElector,
    VoteProxy,
    VoteReceipt,
    VoteStatus,
    VoteTally,
    now,
)

log = logging.getLogger("forum.votes")

# SQLite takes one writer at a time, and a writer that finds the lock taken sleeps in SQLite's
# busy handler with growing back-offs (up to 100 ms). Within one process, whoever casts (the
# ballot box's thread, a kiosk or paper entry) queues on this Python lock instead of that
# convoy, and wakes the moment the previous commit is done. The database's constraints
# stay the guarantee across processes; PostgreSQL needs no such lock.
_SQLITE_WRITES = threading.Lock()


def _write_lock(db: Session) -> contextlib.AbstractContextManager:
    return _SQLITE_WRITES if db.get_bind().dialect.name == "sqlite" else contextlib.nullcontext()


KINDS = {
    Kind.FOR_AGAINST: N_("For / against / abstain"),
    Kind.ONE_OF: N_("One of several options"),
    Kind.SEVERAL_OF: N_("Several of several options"),
    Kind.RATING: N_("Satisfaction rating"),
}
SCOPES = {
    "attendance": N_("People checked in at the meeting"),
    "community": N_("All households of the community"),
    "building": N_("The households of one building"),
    "unit": N_("The households of one unit"),
}
UNITS = {"person": N_("One ballot per person"), "household": N_("One ballot per household")}
WEIGHTINGS = {
    Weighting.HEAD: N_("By head"),
    Weighting.AREA: N_("By floor area"),
    Weighting.BOTH: N_("By head and by floor area"),
}
RULES = counting.RULE_LABELS
CLOSINGS = {"facilitator": N_("When the facilitator closes it"), "time": N_("At a set time")}
VIAS = {"tablet": N_("tablet"), "kiosk": N_("shared tablet"), "proxy": N_("proxy"), "paper": N_("paper ballot")}
AUDIT_LABELS = {
    "create": N_("Set up"), "open": N_("Opened"), "close": N_("Closed and counted"), "ballot": N_("Ballot counted"),
    "change": N_("Ballot changed"), "hands": N_("Show of hands"), "proxy": N_("Proxy recorded"),
    "kiosk": N_("Shared tablet"), "elector": N_("Voter added"), "ballots": N_("Secret ballots counted"),
}
OWNERS_RULES = (Rule.OWNERS_ORDINARY, Rule.OWNERS_MAJOR)
OPTIONS_MAX = 20
QUESTION_MAX = 300
SERIAL_MAX = 40


class VoteRefused(ValueError):
    """Something a person asked for that the vote does not allow; ``message`` is an English msgid."""

    def __init__(self, code: str, message: str, field: str = "", **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.code = code
        self.message = message
        self.field = field
        self.params = params

    def text(self) -> str:
        return gettext(self.message) % self.params if self.params else gettext(self.message)


# ---------------------------------------------------------------- choices


def options_of(vote: Vote) -> list[dict[str, str]]:
    return json.loads(vote.options) if vote.options else []


def choices_of(vote: Vote) -> list[tuple[str, str]]:
    """(key, label) of every choice, labels translated."""
    if vote.kind == Kind.FOR_AGAINST:
        return [(counting.FOR, gettext("For")), (counting.AGAINST, gettext("Against")),
                (counting.ABSTAIN, gettext("Abstain"))]
    if vote.kind == Kind.RATING:
        return [(counting.SATISFIED, gettext("Satisfied")),
                (counting.BASICALLY_SATISFIED, gettext("Basically satisfied")),
                (counting.DISSATISFIED, gettext("Dissatisfied"))]
    return [(o["id"], o["text"]) for o in options_of(vote)]


def _choice_key(vote: Vote, selection: Sequence[str]) -> str:
    """The tally key of a ballot; several-of ballots are the sorted set of ticked options."""
    keys = [k for k, _ in choices_of(vote)]
    picked = [s for s in selection if s]
    for s in picked:
        if s not in keys:
            raise VoteRefused("unknown_choice", N_("That is not one of this vote's choices."), "choice")
    if vote.kind != Kind.SEVERAL_OF:
        if len(picked) != 1:
            raise VoteRefused("one_choice", N_("Choose exactly one answer."), "choice")
        return picked[0]
    if len(set(picked)) != len(picked):
        raise VoteRefused("duplicate_choice", N_("Each option can be ticked once."), "choice")
    if vote.max_choices and len(picked) > vote.max_choices:
        raise VoteRefused("too_many", N_("Tick at most %(n)d options."), "choice", n=vote.max_choices)
    order = {k: i for i, k in enumerate(keys)}
    return ",".join(sorted(picked, key=order.__getitem__))


def _selection(vote: Vote, key: str) -> str | list[str]:
    if vote.kind == Kind.SEVERAL_OF:
        return key.split(",") if key else []
    return key


def choice_text(vote: Vote, key: str) -> str:
    labels = dict(choices_of(vote))
    if vote.kind == Kind.SEVERAL_OF:
        return "、".join(labels.get(k, k) for k in key.split(",")) if key else gettext("(blank ballot)")
    return labels.get(key, key)


def needs_area(vote: Vote) -> bool:
    return vote.rule in OWNERS_RULES or vote.weighting != Weighting.HEAD


# ---------------------------------------------------------------- the electorate


def _check_counts(vote: Vote, electors: Sequence[VoteElector]) -> None:
    """Refuse, before anything is stored, what counting would refuse: zero areas, non-owners, nobody."""
    if needs_area(vote):
        bad = sorted(e.label for e in electors if not e.area_centi)
        if bad:
            raise VoteRefused(
                "zero_area",
                N_("These households have no floor area on the register: %(rooms)s. Weighing by floor area needs "
                   "every household's area; correct the register first."),
                "rule" if vote.rule in OWNERS_RULES else "weighting", rooms="、".join(bad))
    try:
        counting.count(vote.kind, vote.rule, _voters(electors, needs_area(vote)), {}, options=_option_ids(vote),
                       weighting=vote.weighting, max_choices=vote.max_choices)
    except CountingError as e:
        if e.code == "no_voters" and vote.scope == "attendance" and vote.status == VoteStatus.draft:
            return  # nobody has checked in yet; checked again when the vote opens
        messages = {
            "no_voters": N_("Nobody is eligible in this scope."),
            "not_owner": N_("The owners' rules count owners only, and this scope includes people who are not owners."),
        }
        raise VoteRefused(e.code, messages.get(e.code, N_("This vote cannot be counted as set up.")), "scope") from e


def _voters(electors: Iterable[VoteElector], with_area: bool) -> list[Voter]:
    return [Voter(e.voter_key, heads=e.heads, owner=e.owner,
                  area=Fraction(e.area_centi, 100) if with_area and e.area_centi is not None else None)
            for e in electors]


def _option_ids(vote: Vote) -> list[str] | None:
    return [o["id"] for o in options_of(vote)] if vote.kind in (Kind.ONE_OF, Kind.SEVERAL_OF) else None


# ---------------------------------------------------------------- creating


FIELDS = ("question", "kind", "options", "max_choices", "scope", "scope_building", "scope_unit", "counting_unit",
          "weighting", "rule", "closing", "closes_at", "agenda_entry")
FLAGS = ("secret", "results_while_open", "allow_change", "guests_count")


# "5栋2单元", "5号楼2单元", "5幢2单元", "Building 5 Unit 2": where an issue's place names a stairwell.
_STAIRWELL = re.compile(r"(\d+)\s*(?:栋|幢|号楼|座)\s*(\d+)\s*单元|building\s*(\d+)\D+unit\s*(\d+)", re.I)


def stairwell(place: str) -> tuple[str, str] | None:
    """The building and unit a place names, if it names one."""
    m = _STAIRWELL.search(place or "")
    if m is None:
        return None
    return (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))


def blank_values(meeting: Meeting | None, issue: Issue | None = None) -> dict[str, str]:
    """A new vote's form: a show of hands in the room for a meeting; for an issue, an owners'
    decision among the households of the stairwell its place names (a lift, most often)."""
    building, unit = stairwell(issue.place) if issue is not None and stairwell(issue.place) else ("", "")
    return {"question": "", "kind": Kind.FOR_AGAINST, "options": "", "max_choices": "",
            "scope": "attendance" if meeting else "unit", "scope_building": building, "scope_unit": unit,
            "counting_unit": "person" if meeting else "household", "weighting": Weighting.HEAD,
            "rule": Rule.SIMPLE if meeting else Rule.OWNERS_MAJOR, "closing": "facilitator", "closes_at": "",
            "agenda_entry": "", "results_while_open": "on"}


def create_vote(db: Session, values: dict[str, str], *, community_id: int, meeting: Meeting | None,
                issue: Issue | None, actor: str, at: datetime | None = None) -> tuple[Vote | None, dict[str, str]]:
    """Validate a vote form; add the vote (caller commits) or return the errors by field."""
    errors: dict[str, str] = {}
    v = values
    question = v.get("question", "").strip()
    if not question or len(question) > QUESTION_MAX:
        errors["question"] = gettext("Write the question, in at most %(n)d characters.") % {"n": QUESTION_MAX}
    kind = v.get("kind", "")
    if kind not in KINDS:
        errors["kind"] = gettext("Choose what kind of vote it is.")
    options: list[dict[str, str]] = []
    max_choices = None
    if kind in (Kind.ONE_OF, Kind.SEVERAL_OF):
        texts = [line.strip() for line in v.get("options", "").splitlines() if line.strip()]
        if not 2 <= len(texts) <= OPTIONS_MAX:
            errors["options"] = gettext("List from 2 to %(n)d options, one a line.") % {"n": OPTIONS_MAX}
        elif len(set(texts)) != len(texts):
            errors["options"] = gettext("Each option may be listed only once.")
        elif any(len(t) > 100 for t in texts):
            errors["options"] = gettext("Keep each option to at most 100 characters.")
        options = [{"id": f"o{i}", "text": t} for i, t in enumerate(texts, start=1)]
        if kind == Kind.SEVERAL_OF and v.get("max_choices", "").strip():
            try:
                max_choices = int(v["max_choices"])
            except ValueError:
                max_choices = 0
            if not 1 <= max_choices <= max(len(texts), 1):
                errors["max_choices"] = gettext("A whole number from 1 to the number of options.")
    elif v.get("options", "").strip():
        errors["options"] = gettext("Only one-of and several-of votes have options of their own.")
    scope = v.get("scope", "")
    if scope not in SCOPES:
        errors["scope"] = gettext("Choose who may vote.")
    elif scope == "attendance" and meeting is None:
        errors["scope"] = gettext("A vote that runs over days has no check-in; choose households instead.")
    building, unit = v.get("scope_building", "").strip(), v.get("scope_unit", "").strip()
    if scope in ("building", "unit"):
        q = select(func.count()).select_from(Household).where(Household.community_id == community_id,
                                                              Household.building == building)
        if not building or not db.exec(q).one():
            errors["scope_building"] = gettext("No household of this community is in building %(b)s.") % {
                "b": building or "—"}
        elif scope == "unit" and not db.exec(q.where(Household.unit == unit)).one():
            errors["scope_unit"] = gettext("Building %(b)s has no unit %(u)s.") % {"b": building, "u": unit or "—"}
    counting_unit = v.get("counting_unit", "")
    if counting_unit not in UNITS:
        errors["counting_unit"] = gettext("Choose whether each person or each household has a ballot.")
    weighting = v.get("weighting", "")
    if weighting not in WEIGHTINGS:
        errors["weighting"] = gettext("Choose how ballots are weighed.")
    rule = v.get("rule", "")
    if rule not in RULES:
        errors["rule"] = gettext("Choose the pass rule.")
    elif kind in KINDS and kind != Kind.FOR_AGAINST and rule != Rule.CONSULTATION:
        errors["rule"] = gettext("Only for/against votes pass or fail; count options and ratings as a consultation.")
    elif rule in OWNERS_RULES and (scope == "attendance" or counting_unit != "household"):
        errors["rule"] = gettext("The owners' rules count every household of a building, unit or community "
                                 "(one ballot per household); choose that scope and counting unit.")
    if "weighting" not in errors and weighting != Weighting.HEAD and counting_unit == "person":
        errors["weighting"] = gettext("Floor area belongs to households; weigh by area only when each household "
                                      "has one ballot.")
    secret = v.get("secret") == "on"
    allow_change = v.get("allow_change") == "on"
    if secret and allow_change:
        errors["allow_change"] = gettext("A secret ballot cannot be changed: nothing records which choice was "
                                         "yours, so it cannot be taken back.")
    closing = v.get("closing", "")
    closes_at = None
    if closing not in CLOSINGS:
        errors["closing"] = gettext("Choose how the vote closes.")
    elif closing == "time":
        try:
            closes_at = datetime.fromisoformat(v.get("closes_at", "").strip()).replace(tzinfo=None, second=0,
                                                                                     microsecond=0)
        except ValueError:
            errors["closes_at"] = gettext("Enter the date and time the vote closes.")
        else:
            if closes_at <= (at or now()):
                errors["closes_at"] = gettext("The closing time must be in the future.")
    entry = None
    if meeting is not None:
        entry = db.get(AgendaEntry, _int(v.get("agenda_entry")) or 0)
        if entry is None or entry.meeting_id != meeting.id:
            errors["agenda_entry"] = gettext("Choose the agenda entry the vote is on.")
    if errors:
        return None, errors
    vote = Vote(community_id=community_id, meeting_id=meeting.id if meeting else None,
                agenda_entry_id=entry.id if entry else None,
                issue_id=issue.id if issue else (entry.issue_id if entry else None), question=question, kind=kind,
                options=json.dumps(options, ensure_ascii=False) if options else "", max_choices=max_choices,
                scope=scope, scope_building=building if scope in ("building", "unit") else "",
                scope_unit=unit if scope == "unit" else "", counting_unit=counting_unit,
                weighting=Weighting.BOTH if rule in OWNERS_RULES else weighting, rule=rule, secret=secret,
                # A secret vote shows only its turnout until it closes (forum.secrecy).
                results_while_open=v.get("results_while_open") == "on" and not secret, allow_change=allow_change,
                guests_count=scope == "attendance" and v.get("guests_count") == "on",
                closes_at=closes_at, created_by=actor)
    try:
        _check_counts(vote, compute_electorate(db, vote))
    except VoteRefused as refused:
        return None, {refused.field or "scope": refused.text()}
    db.add(vote)
    db.flush()
    _audit(db, vote, actor, "create", gettext("Vote set up: %(q)s") % {"q": question})
    return vote, {}


def _int(value: Any) -> int | None:
    return forms.int_param(value)  # None too for what the database's integers cannot hold


# ---------------------------------------------------------------- opening and closing


def _audit(db: Session, vote: Vote, actor: str, action: str, detail: str = "") -> None:
    # A plain INSERT, in the caller's transaction: one is written per ballot, and building
    # and flushing an ORM object costs more than the write itself.
    db.execute(insert(VoteAudit).values(vote_id=vote.id, at=now(), actor=actor[:120], action=action,
                                        detail=detail))


def open_vote(db: Session, vote: Vote, *, actor: str) -> None:
    """Fix the electorate, check it can be counted, create the tallies; the caller commits."""
    if vote.status != VoteStatus.draft:
        raise VoteRefused("not_draft", N_("This vote has been opened already."))
    if _register_being_written(db, vote):
        # Its electorate would be fixed from a register half-way through an import.
        raise VoteRefused("register_busy", N_("The household register of this community is being updated by an "
                                              "import; open the vote once the import has finished."))
    electors, units = electorate.build(db, vote)
    _check_counts(vote, electors)
    db.add_all(electors)
    db.add_all(units)
    if vote.kind != Kind.SEVERAL_OF:
        db.add_all(VoteTally(vote_id=vote.id, choice=k) for k, _ in choices_of(vote))
    vote.status = VoteStatus.open
    vote.opened_at = now()
    db.add(vote)
    _audit(db, vote, actor, "open", gettext("Opened with %(n)d eligible voters.") % {"n": len(electors)})


def _register_being_written(db: Session, vote: Vote) -> bool:
    """Whether an import is writing the register this vote's electorate is built from."""
    if vote.scope == "attendance" and vote.counting_unit != "household":
        return False  # built from check-ins alone
    return db.exec(select(ImportJob.id).where(ImportJob.community_id == vote.community_id,
                                             ImportJob.status == "pending")).first() is not None


def ensure_current(db: Session, vote: Vote) -> Vote:
    """Close a vote whose closing time has passed (lazily: on the first read or cast after it)."""
    if vote.status == VoteStatus.open and vote.closes_at is not None and vote.closes_at <= now():
        try:
            close_vote(db, vote, actor=gettext("Closing time"), lazy=True)
        except VoteRefused:
            # It cannot be counted as it stands (a show of hands to correct): it stays open, and
            # the facilitator's console says why when they close it.
            db.rollback()
            return vote
        db.commit()
        db.refresh(vote)
    return vote


def close_vote(db: Session, vote: Vote, *, actor: str, lazy: bool = False) -> bool:
    """Close, count and freeze the result; False when someone else closed it first. Caller commits
    (a secret vote's closing commits itself, with the ballots that were waiting: forum.secrecy)."""
    if not vote.secret:
        return _close(db, vote, actor=actor, lazy=lazy)
    with secrecy.closing(db, vote) as flush:
        done = _close(db, vote, actor=actor, lazy=lazy, before_count=flush)
        if done:
            db.commit()
        return done


def _close(db: Session, vote: Vote, *, actor: str, lazy: bool, before_count: Callable[[], Any] | None = None
           ) -> bool:
    done = db.execute(update(Vote).where(Vote.id == vote.id, Vote.status == VoteStatus.open)
                      .values(status=VoteStatus.closed, closed_at=now(), closed_by=actor[:60]))
    if done.rowcount != 1:
        if lazy:
            return False
        raise VoteRefused("not_open", N_("This vote is not open."))
    db.refresh(vote)
    if before_count is not None:
        before_count()
    try:
        result = tally_result(db, vote, exact=True)
    except CountingError as e:
        if e.code != "too_many_hands":
            raise
        # Ballots came after the show of hands was recorded, from voters it had counted as hands.
        raise VoteRefused("too_many_hands", N_("The show of hands and the ballots together are more than the "
                                               "eligible voters; correct the show of hands, then close."),
                          "close") from None
    vote.result = json.dumps(result, ensure_ascii=False)
    db.add(vote)
    _audit(db, vote, actor, "close", summary(vote, result))
    issue_id = vote.issue_id
    if issue_id is not None and (issue := db.get(Issue, issue_id)) is not None:
        db.add(IssueEvent(issue_id=issue.id, actor=actor[:60], action="vote", from_status=issue.status,
                          to_status=issue.status, note=summary(vote, result), meeting_id=vote.meeting_id))
    return True


def summary(vote: Vote, result: dict[str, Any]) -> str:
    """One line for the timeline and the minutes: question, verdict, the totals by head."""
    verdicts = {"passed": gettext("passed"), "failed": gettext("not passed"), "no_rule": gettext("consultation")}
    totals = "，".join(f"{choice_text(vote, t['key'])} {t['heads']}" for t in result["totals"])
    return gettext("Vote “%(q)s”: %(verdict)s (%(rule)s). %(totals)s") % {
        "q": vote.question, "verdict": verdicts[result["verdict"]], "rule": gettext(RULES[Rule(vote.rule)]),
        "totals": totals}


# ---------------------------------------------------------------- casting


@dataclass(frozen=True)
class Cast:
    outcome: str  # counted, changed, unchanged, already; received (a secret ballot waiting for others')
    voter_key: str


def cast(db: Session, vote: Vote, voter_key: str, selection: Sequence[str], *, via: str, cast_by: str = "",
         paper_serial: str | None = None, attendance: Attendance | None = None) -> Cast:
    """Count one ballot for ``voter_key``, exactly once; raise VoteRefused with the reason otherwise.
    ``attendance`` is the tablet casting it (via tablet or proxy)."""
    ensure_current(db, vote)
    if vote.status != VoteStatus.open:
        raise _not_open(vote)
    elector = db.get(VoteElector, (vote.id, voter_key))
    if elector is None:
        raise VoteRefused("ineligible", N_("This voter is not eligible in this vote."), "voter")
    choice = _choice_key(vote, selection)
    serial = (paper_serial or "").strip() or None
    verification.check_ballot(db, vote, voter_key, via=via, attendance=attendance, serial=serial)
    if serial is not None and len(serial) > SERIAL_MAX:
        raise VoteRefused("bad_serial", N_("A serial number has at most %(n)d characters."), "serial", n=SERIAL_MAX)
    if vote.secret:
        return _cast_secret(db, vote, elector, choice, via=via, serial=serial)
    with _write_lock(db):
        return _cast_locked(db, vote, elector, choice, via=via, cast_by=cast_by, serial=serial)


def _cast_locked(db: Session, vote: Vote, elector: VoteElector, choice: str, *, via: str, cast_by: str,
                 serial: str | None) -> Cast:
    voter_key = elector.voter_key
    try:
        # The first write: takes SQLite's writer lock, and fails here on a second ballot.
        db.execute(insert(VoteReceipt).values(vote_id=vote.id, voter_key=voter_key))
    except IntegrityError:
        db.rollback()
        return _recast(db, vote, elector, choice, via=via, cast_by=cast_by, serial=serial)
    try:
        _still_open(db, vote)
        if serial is not None:
            _paper_serial(db, vote, serial)
        _bump(db, vote, choice, elector, +1)
        if vote.secret:
            # Neither voter nor choice: the receipt above already says who has voted.
            _audit(db, vote, "—", "ballot", gettext("A secret ballot was counted."))
        else:
            db.execute(insert(Ballot).values(vote_id=vote.id, voter_key=voter_key, choice=choice, via=via,
                                             cast_by=cast_by[:120], cast_at=now(), paper_serial=serial))
            _audit(db, vote, elector.label, "ballot", _ballot_detail(vote, choice, via, cast_by, serial))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    log.info("vote %s: ballot counted", vote.id)
    return Cast("counted", voter_key)


def _cast_secret(db: Session, vote: Vote, elector: VoteElector, choice: str, *, via: str, serial: str | None
                 ) -> Cast:
    """A secret ballot goes into the vote's urn, to be written with others (forum.secrecy)."""
    slip = secrecy.Slip(elector.voter_key, choice, elector.heads, elector.area_centi or 0, via, serial)
    outcome = secrecy.deposit(db, vote, [slip])[0]
    if outcome == "not_open":
        raise VoteRefused("not_open", N_("This vote is closed; no more ballots are taken."))
    if outcome == "duplicate_serial":
        raise VoteRefused("duplicate_serial", N_("Paper ballot %(serial)s has been entered already."), "serial",
                          serial=serial)
    if outcome == "already" and serial is not None:
        raise VoteRefused("already", N_("This voter has voted already; the paper ballot was not entered."), "voter")
    return Cast(outcome, elector.voter_key)


def _ballot_detail(vote: Vote, choice: str, via: str, cast_by: str, serial: str | None = None) -> str:
    """What the audit trail says of an open vote's ballot. At the shared tablet the voter chose
    out of the facilitator's sight, and the console shows this trail: it says that they voted, not how."""
    said = [] if via == "kiosk" else [choice_text(vote, choice)]
    return " · ".join(said + [gettext(VIAS[via])] + ([cast_by] if cast_by else []) + ([f"#{serial}"] if serial else []))


def _still_open(db: Session, vote: Vote) -> None:
    status = db.exec(select(Vote.status).where(Vote.id == vote.id).with_for_update(read=True)).one()
    if status != VoteStatus.open:
        raise VoteRefused("not_open", N_("This vote is closed; no more ballots are taken."))


def _paper_serial(db: Session, vote: Vote, serial: str) -> None:
    if len(serial) > SERIAL_MAX:
        raise VoteRefused("bad_serial", N_("A serial number has at most %(n)d characters."), "serial", n=SERIAL_MAX)
    try:
        with db.begin_nested():
            db.add(PaperSerial(vote_id=vote.id, serial=serial))
    except IntegrityError:
        raise VoteRefused("duplicate_serial", N_("Paper ballot %(serial)s has been entered already."), "serial",
                          serial=serial) from None


def _recast(db: Session, vote: Vote, elector: VoteElector, choice: str, *, via: str, cast_by: str,
            serial: str | None) -> Cast:
    """A second ballot for a voter who has voted: the same one again, or a change where allowed."""
    key = elector.voter_key
    if vote.secret or serial is not None:
        if serial is not None:
            raise VoteRefused("already", N_("This voter has voted already; the paper ballot was not entered."),
                              "voter")
        return Cast("already", key)
    try:
        # A write first (lock the ballot row; SQLite's writer lock), then read what it says.
        db.execute(update(Ballot).where(Ballot.vote_id == vote.id, Ballot.voter_key == key)
                   .values(cast_at=now()).execution_options(synchronize_session=False))
        _still_open(db, vote)
        ballot = db.get(Ballot, (vote.id, key), populate_existing=True)
        if ballot is None or ballot.choice == choice:
            db.rollback()
            return Cast("unchanged", key)
        if not vote.allow_change:
            raise VoteRefused("no_change", N_("This voter has voted already, and this vote does not allow changes."))
        old = ballot.choice
        _bump(db, vote, old, elector, -1)
        _bump(db, vote, choice, elector, +1)
        ballot.choice, ballot.via, ballot.cast_by = choice, via, cast_by[:120]
        db.add(ballot)
        _audit(db, vote, elector.label, "change", gettext(VIAS[via]) if via == "kiosk"
               else f"{choice_text(vote, old)} → {choice_text(vote, choice)}")
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return Cast("changed", key)


def _bump(db: Session, vote: Vote, choice: str, elector: VoteElector, sign: int) -> None:
    """Add (or take back) one ballot's weight."""
    _add_to_tally(db, vote, choice, sign * elector.heads, sign * (elector.area_centi or 0))


def _add_to_tally(db: Session, vote: Vote, choice: str, heads: int, area_centi: int) -> None:
    """Add weight to a choice in place: the database does the sum, so no update is lost."""
    stmt = (update(VoteTally).where(VoteTally.vote_id == vote.id, VoteTally.choice == choice)
            .values(heads=VoteTally.heads + heads, area_centi=VoteTally.area_centi + area_centi)
            .execution_options(synchronize_session=False))
    if db.execute(stmt).rowcount == 1:
        return
    try:  # a several-of combination nobody ticked before
        with db.begin_nested():
            db.add(VoteTally(vote_id=vote.id, choice=choice, heads=0, area_centi=0))
    except IntegrityError:
        pass  # someone else created it meanwhile
    db.execute(stmt)


def add_late_attendee(db: Session, vote: Vote, attendance: Attendance) -> VoteElector | None:
    """Someone who checked in after an attendance-scope vote opened joins its electorate."""
    key = voter_key_for(db, vote, attendance)
    if key is None or vote.scope != "attendance" or vote.status != VoteStatus.open:
        return None
    if not verification.counts_present(vote, attendance):
        return None
    known = db.get(VoteElector, (vote.id, key))
    if known is not None:
        return known
    elector = elector_for_attendance(db, vote, attendance)
    try:
        db.add(elector)
        _audit(db, vote, elector.label, "elector", gettext("Checked in after the vote opened; now eligible."))
        db.commit()
    except IntegrityError:
        db.rollback()
    return db.get(VoteElector, (vote.id, key))


@dataclass(frozen=True)
class TabletBallot:
    voter_key: str
    label: str
    proxy: bool
    voted: bool
    waiting: bool = False  # a secret ballot received, to be written with others'


def ballots_for_attendance(db: Session, vote: Vote, attendance: Attendance, *,
                           with_voted: bool = True) -> list[TabletBallot]:
    """The ballots a tablet may cast: its own, and any its holder holds a proxy for.

    ``with_voted=False`` skips looking up who has voted (the casting path finds out anyway).
    """
    own = add_late_attendee(db, vote, attendance) if vote.scope == "attendance" else None
    if own is None:
        key = voter_key_for(db, vote, attendance)
        own = db.get(VoteElector, (vote.id, key)) if key else None
    # One query for both: a proxy this tablet holds, or one its own voter gave someone else.
    who = VoteProxy.holder_attendance_id == attendance.id
    if own is not None:
        who = who | (VoteProxy.principal_key == own.voter_key)
    proxies = list(db.exec(select(VoteProxy).where(VoteProxy.vote_id == vote.id, who)))
    waiting = secrecy.waiting_keys(db, vote.id) if vote.secret and with_voted else set()
    mine = _tablet_ballots(attendance, own, proxies, lambda key: db.get(VoteElector, (vote.id, key)),
                           lambda key: with_voted and key not in waiting and has_voted(db, vote, key))
    return [replace(b, waiting=True) if b.voter_key in waiting else b for b in mine]


def _tablet_ballots(attendance: Attendance, own: VoteElector | None, proxies: Iterable[VoteProxy],
                    elector: Callable[[str], VoteElector | None], voted: Callable[[str], bool]) -> list[TabletBallot]:
    """A tablet's ballots: its own voter's, unless that voter gave a proxy to someone else, and
    those of the principals whose proxy its holder holds. ``proxies`` may include others'."""
    out = []
    if own is not None:
        given = next((p for p in proxies if p.principal_key == own.voter_key), None)
        if given is None or given.holder_attendance_id == attendance.id:
            out.append(TabletBallot(own.voter_key, own.label, False, voted(own.voter_key)))
    for p in proxies:
        if p.holder_attendance_id != attendance.id or (own is not None and p.principal_key == own.voter_key):
            continue
        e = elector(p.principal_key)
        if e is not None:
            out.append(TabletBallot(e.voter_key, e.label, True, voted(e.voter_key)))
    return out


@dataclass
class TabletCast:
    """One tablet's ballot in a batch: what it asked for, then what came of it."""

    attendance: Attendance
    voter_key: str  # "" for the tablet's own ballot
    selection: Sequence[str]
    outcome: Cast | None = None
    refused: VoteRefused | None = None
    mine: list[TabletBallot] = field(default_factory=list)  # the tablet's ballots after it
    _choice: str = ""
    _ballot: TabletBallot | None = None
    _elector: VoteElector | None = None


def cast_from_tablets(db: Session, vote: Vote, batch: Sequence[TabletCast]) -> None:
    """Count the ballots of several tablets in one vote together, filling in each one's outcome
    (or refusal) as if each had been cast alone, one after the other. A tablet casts for its own
    voter, or as a proxy holder for a principal (with no ``voter_key``: for its own voter).

    The new ballots of the batch go in one transaction: one multi-row insert of receipts, which
    reports the voters who had none (the others are repeats), one tally update per choice, one
    insert of named ballots and one of audit entries, one commit. That is what lets one writer keep
    up with a hall (``forum.ballot_box``). Repeats, a double tap or a change of mind, are then
    taken one at a time by ``cast``.
    """
    ensure_current(db, vote)
    if vote.status != VoteStatus.open:
        for t in batch:
            t.refused = _not_open(vote)
        return
    _check_tablets(db, vote, batch)
    if vote.secret:
        _deposit_tablets(db, vote, batch)
        return
    fresh: dict[str, TabletCast] = {}  # each voter's first ballot in the batch
    for t in batch:
        if t.refused is None:
            fresh.setdefault(t.voter_key, t)
    if fresh:
        with _write_lock(db):
            try:
                counted = _count_fresh(db, vote, list(fresh.values()))
            except VoteRefused as refused:
                db.rollback()
                for t in batch:
                    if t.refused is None:
                        t.refused = refused
                return
            except BaseException:
                db.rollback()
                raise
        for t in fresh.values():
            if t.voter_key in counted:
                t.outcome = Cast("counted", t.voter_key)
        if counted:
            log.info("vote %s: %d ballots counted", vote.id, len(counted))
    # The rest in the order they came, so that of two changes of mind the later one stands.
    for t in batch:
        if t.refused is not None or t.outcome is not None:
            continue
        assert t._ballot is not None
        try:
            t.outcome = cast(db, vote, t.voter_key, t.selection, via="proxy" if t._ballot.proxy else "tablet",
                             cast_by=t.attendance.name if t._ballot.proxy else "", attendance=t.attendance)
        except VoteRefused as refused:
            db.rollback()
            t.refused = refused
    for t in batch:
        if t.outcome is not None:
            t.mine = [TabletBallot(x.voter_key, x.label, x.proxy, x.voted or x.voter_key == t.voter_key)
                      for x in t.mine]


def _deposit_tablets(db: Session, vote: Vote, batch: Sequence[TabletCast]) -> None:
    """A secret vote's tablets: their ballots go into the vote's urn together (forum.secrecy)."""
    ready = [t for t in batch if t.refused is None and t._elector is not None and t._ballot is not None]
    slips = [secrecy.Slip(t.voter_key, t._choice, t._elector.heads, t._elector.area_centi or 0,
                          "proxy" if t._ballot.proxy else "tablet") for t in ready]
    outcomes = secrecy.deposit(db, vote, slips) if slips else []
    for t, outcome in zip(ready, outcomes, strict=True):
        if outcome == "not_open":
            t.refused = VoteRefused("not_open", N_("This vote is closed; no more ballots are taken."))
        else:
            t.outcome = Cast(outcome, t.voter_key)
    waiting = secrecy.waiting_keys(db, vote.id)
    for t in ready:
        if t.outcome is not None:
            t.mine = [TabletBallot(x.voter_key, x.label, x.proxy, x.voted or (x.voter_key == t.voter_key
                                                                              and x.voter_key not in waiting),
                                   x.voter_key in waiting) for x in t.mine]


def _not_open(vote: Vote) -> VoteRefused:
    return VoteRefused("not_open", N_("This vote is closed; no more ballots are taken.")
                       if vote.status == VoteStatus.closed else N_("This vote is not open yet."))


def _check_tablets(db: Session, vote: Vote, batch: Sequence[TabletCast]) -> None:
    """Find each tablet's ballots (three queries for the whole batch) and check what it asked for:
    a ballot it holds, a valid choice. Sets ``voter_key`` to the ballot meant, or ``refused``."""
    keys = {t.attendance.id: voter_key_for(db, vote, t.attendance) for t in batch}
    electors = _electors(db, vote, {k for k in keys.values() if k})
    if vote.scope == "attendance":
        for t in batch:
            key = keys[t.attendance.id]
            if key and key not in electors:
                late = add_late_attendee(db, vote, t.attendance)
                if late is not None:
                    electors[late.voter_key] = late
    # One query for all: proxies these tablets hold, and those their own voters gave someone else.
    holders = [t.attendance.id for t in batch]
    own_keys = [k for k in keys.values() if k in electors]
    proxies = list(db.exec(select(VoteProxy).where(
        VoteProxy.vote_id == vote.id,
        col(VoteProxy.holder_attendance_id).in_(holders) | col(VoteProxy.principal_key).in_(own_keys))))
    electors |= _electors(db, vote, {p.principal_key for p in proxies} - set(electors))
    for t in batch:
        own = electors.get(keys[t.attendance.id] or "")
        t.mine = _tablet_ballots(t.attendance, own, proxies, electors.get, lambda _key: False)
        if not t.voter_key:
            # The room's shared fragment cannot name the tablet's voter; its own ballot is meant.
            t.voter_key = next((b.voter_key for b in t.mine if not b.proxy), "")
        t._ballot = next((b for b in t.mine if b.voter_key == t.voter_key), None)
        if t._ballot is None:
            t.refused = VoteRefused("ineligible", N_("This tablet has no ballot in this vote."), "voter")
            continue
        try:
            t._choice = _choice_key(vote, t.selection)
        except VoteRefused as refused:
            t.refused = refused
        t._elector = electors.get(t.voter_key)
    verification.check_tablets(db, vote, batch)


def _electors(db: Session, vote: Vote, keys: set[str]) -> dict[str, VoteElector]:
    if not keys:
        return {}
    return {e.voter_key: e for e in db.exec(select(VoteElector).where(
        VoteElector.vote_id == vote.id, col(VoteElector.voter_key).in_(sorted(keys))))}


def _count_fresh(db: Session, vote: Vote, fresh: list[TabletCast]) -> set[str]:
    """Count the batch's first ballot of each voter who has none yet, and commit; returns their keys."""
    # The first write of the transaction (SQLite's writer lock is taken here, before anything is
    # read in it): receipts for all, keeping those that already existed as they were.
    table = VoteReceipt.__table__
    dialect_insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert
    rows = [{"vote_id": vote.id, "voter_key": t.voter_key} for t in fresh]
    counted = set(db.execute(dialect_insert(table).values(rows).on_conflict_do_nothing()
                             .returning(table.c.voter_key)).scalars())
    if not counted:
        db.rollback()
        return counted
    _still_open(db, vote)
    new = [t for t in fresh if t.voter_key in counted]
    sums: dict[str, list[int]] = {}
    for t in new:
        elector = t._elector
        assert elector is not None
        weight = sums.setdefault(t._choice, [0, 0])
        weight[0] += elector.heads
        weight[1] += elector.area_centi or 0
    for choice, (heads, area) in sorted(sums.items()):
        _add_to_tally(db, vote, choice, heads, area)
    at = now()
    if vote.secret:
        # Neither voter nor choice: the receipts already say who has voted.
        audit = [{"actor": "—", "detail": gettext("A secret ballot was counted.")} for _t in new]
    else:
        ballots = []
        audit = []
        for t in new:
            via, by = ("proxy", t.attendance.name) if t._ballot.proxy else ("tablet", "")
            ballots.append({"vote_id": vote.id, "voter_key": t.voter_key, "choice": t._choice, "via": via,
                            "cast_by": by[:120], "cast_at": at, "paper_serial": None})
            audit.append({"actor": t._elector.label[:120], "detail": _ballot_detail(vote, t._choice, via, by)})
        db.execute(insert(Ballot.__table__), ballots)
    db.execute(insert(VoteAudit.__table__), [{"vote_id": vote.id, "at": at, "action": "ballot"} | a for a in audit])
    db.commit()
    return counted


def has_voted(db: Session, vote: Vote, voter_key: str) -> bool:
    """A receipt, or a secret ballot received and waiting to be written with others."""
    if vote.secret and voter_key in secrecy.waiting_keys(db, vote.id):
        return True
    return db.get(VoteReceipt, (vote.id, voter_key)) is not None


# ---------------------------------------------------------------- staff entries


def hands_of_present_allowed(vote: Vote) -> bool:
    """Whether hands of people present who are not checked in may be counted: in a consultation, or
    a vote of those present by person. A binding vote of households or owners needs eligible voters."""
    return vote.rule == Rule.CONSULTATION or (vote.scope == "attendance" and vote.counting_unit == "person")


def stored_hands(vote: Vote) -> tuple[dict[str, int] | None, bool]:
    """The show of hands recorded on a vote, and whether they are hands of people present who are
    not checked in (kept as ``{"present": {choice: n}}``; a plain ``{choice: n}`` otherwise)."""
    if not vote.hands:
        return None, False
    data = json.loads(vote.hands)
    if set(data) == {"present"} and isinstance(data["present"], dict):
        return data["present"], True
    return data, False


def set_hands(db: Session, vote: Vote, raw: dict[str, str], *, actor: str, present: bool = False) -> dict[str, str]:
    """Record a show-of-hands count; returns errors by field (``hands-<choice>``). Caller commits.

    ``present``: the hands are of people present who are not checked in, recorded as such (where
    :func:`hands_of_present_allowed`); otherwise they are eligible voters' without a ballot."""
    errors: dict[str, str] = {}
    if vote.status != VoteStatus.open:
        return {"hands": gettext("Hands are counted while the vote is open.")}
    if needs_area(vote):
        return {"hands": gettext("A show of hands counts heads only; this vote weighs floor area.")}
    if vote.kind == Kind.SEVERAL_OF:
        return {"hands": gettext("A show of hands cannot be entered for a several-of vote.")}
    hands: dict[str, int] = {}
    for key, _label in choices_of(vote):
        text = raw.get(key, "").strip() or "0"
        n = _int(text)
        if n is None or n < 0 or n > 100000:
            errors[f"hands-{key}"] = gettext("A whole number of hands, 0 or more.")
        else:
            hands[key] = n
    if errors:
        return errors
    if present and not hands_of_present_allowed(vote):
        return {"hands": gettext("Hands of people who are not checked in count only in a consultation or a vote "
                                 "of those present; this vote needs eligible voters: check them in first.")}
    try:
        if not present and vote.secret and sum(hands.values()) > _heads_without_ballot(db, vote):
            # Ballots received and waiting to be written are ballots: their voters raise no hand.
            raise CountingError("too_many_hands", "more hands than voters without a ballot or one waiting")
        tally_result(db, vote, hands=hands, present=present)
    except CountingError as e:
        if e.code == "too_many_hands" and hands_of_present_allowed(vote):
            return {"hands": gettext("More hands than eligible voters without a ballot. If people who are not "
                                     "checked in raised their hands, record them as people present.")}
        if e.code == "too_many_hands":
            return {"hands": gettext("More hands than eligible voters without a ballot.")}
        return {"hands": gettext("This count cannot be added to this vote.")}
    old = stored_hands(vote)[0] or {}
    vote.hands = json.dumps({"present": hands} if present else hands) if any(hands.values()) else ""
    db.add(vote)
    change = "，".join(f"{choice_text(vote, k)} {old.get(k, 0)} → {n}" for k, n in hands.items())
    if present:
        change = gettext("%(n)d hands of people present, not checked in: %(change)s") % {
            "n": sum(hands.values()), "change": change}
    _audit(db, vote, actor, "hands", change)
    return {}


def _heads_without_ballot(db: Session, vote: Vote) -> int:
    eligible = db.exec(select(func.coalesce(func.sum(VoteElector.heads), 0))
                       .where(VoteElector.vote_id == vote.id)).one()
    counted = db.exec(select(func.coalesce(func.sum(VoteTally.heads), 0)).where(VoteTally.vote_id == vote.id)).one()
    return eligible - counted - secrecy.waiting_heads(db, vote.id)


def record_proxy(db: Session, vote: Vote, principal_key: str, holder: Attendance | None, *, actor: str,
                 note: str = "") -> dict[str, str]:
    errors: dict[str, str] = {}
    if vote.status == VoteStatus.closed:
        return {"principal": gettext("This vote is closed.")}
    electorate = {e.voter_key: e for e in (db.exec(select(VoteElector).where(VoteElector.vote_id == vote.id))
                                           if vote.status == VoteStatus.open else compute_electorate(db, vote))}
    principal = electorate.get(principal_key)
    if principal is None:
        errors["principal"] = gettext("Choose an eligible voter who gives the proxy.")
    elif has_voted(db, vote, principal_key):
        errors["principal"] = gettext("This voter has voted already.")
    elif db.get(VoteProxy, (vote.id, principal_key)) is not None:
        errors["principal"] = gettext("A proxy for this voter is recorded already.")
    if holder is None or holder.meeting_id != vote.meeting_id:
        errors["holder"] = gettext("Choose a person checked in at this meeting to hold the proxy.")
    elif principal is not None and voter_key_for(db, vote, holder) == principal_key:
        errors["holder"] = gettext("A voter cannot hold their own proxy.")
    if len(note) > 200:
        errors["note"] = gettext("At most %(n)d characters.") % {"n": 200}
    if errors:
        return errors
    db.add(VoteProxy(vote_id=vote.id, principal_key=principal_key, holder_attendance_id=holder.id, note=note,
                     recorded_by=actor))
    _audit(db, vote, actor, "proxy", gettext("%(principal)s authorised %(holder)s to vote for them.")
           % {"principal": principal.label, "holder": holder.name})
    return {}


def open_kiosk(db: Session, vote: Vote, voter_key: str, *, actor: str) -> str | None:
    """Show a ballot for one voter on the shared tablet; returns an error or None. Caller commits."""
    if vote.status != VoteStatus.open:
        return gettext("This vote is not open.")
    elector = db.get(VoteElector, (vote.id, voter_key))
    if elector is None:
        return gettext("Choose an eligible voter.")
    if has_voted(db, vote, voter_key):
        return gettext("This voter has voted already.")
    try:
        verification.check_ballot(db, vote, voter_key, via="kiosk")
    except VoteRefused as refused:
        return refused.text()
    vote.kiosk_voter, vote.kiosk_nonce = voter_key, secrets.token_urlsafe(12)
    db.add(vote)
    if not vote.secret:
        _audit(db, vote, actor, "kiosk", gettext("Shared tablet opened for %(v)s.") % {"v": elector.label})
    # A secret vote's trail names nobody the shared tablet was opened for, and has no entry per
    # opening: its batches' entries count the ballots that came from the shared tablet.
    return None


def cast_at_kiosk(db: Session, vote: Vote, nonce: str, selection: Sequence[str], *, staff: str) -> Cast:
    if not nonce or vote.kiosk_nonce != nonce or not vote.kiosk_voter:
        raise VoteRefused("kiosk_moved", N_("This ballot is no longer open on this tablet; ask the facilitator."))
    key = vote.kiosk_voter
    result = cast(db, vote, key, selection, via="kiosk", cast_by=staff)
    # Only clear it if nobody opened the tablet for the next voter in the meantime.
    db.execute(update(Vote).where(Vote.id == vote.id, Vote.kiosk_nonce == nonce)
               .values(kiosk_voter=None, kiosk_nonce=None))
    db.commit()
    db.refresh(vote)
    return result


# ---------------------------------------------------------------- results


def tally_result(db: Session, vote: Vote, *, exact: bool = False, hands: dict[str, int] | None = None,
                 present: bool = False) -> dict[str, Any]:
    """Count the vote with :func:`counting.count` and return ``Result.as_dict()`` plus a few facts.

    Live counts read the anonymous tallies (a handful of rows, however many voters); ``exact``
    (used when closing an open vote) counts the named ballots themselves instead. The tallies
    stand in for the ballots as one voter per choice carrying that choice's heads and area, plus
    one for everyone who has not voted; counting adds weights, so the result is the same.
    """
    if vote.status == VoteStatus.closed and vote.result and hands is None:
        return json.loads(vote.result)
    stored = hands is None
    if hands is None and vote.hands:
        hands, present = stored_hands(vote)
    with_area = needs_area(vote)
    if exact and not vote.secret:
        electors = db.exec(select(VoteElector).where(VoteElector.vote_id == vote.id)).all()
        ballots = {b.voter_key: _selection(vote, b.choice)
                   for b in db.exec(select(Ballot).where(Ballot.vote_id == vote.id))}
        voters = _voters(electors, with_area)
    else:
        heads, area = db.exec(select(func.coalesce(func.sum(VoteElector.heads), 0),
                                     func.coalesce(func.sum(VoteElector.area_centi), 0))
                              .where(VoteElector.vote_id == vote.id)).one()
        voters, ballots = [], {}
        for t in db.exec(select(VoteTally).where(VoteTally.vote_id == vote.id, VoteTally.heads > 0)):
            vid = f"tally:{t.choice}"
            voters.append(Voter(vid, heads=t.heads, area=Fraction(t.area_centi, 100) if with_area else None))
            ballots[vid] = _selection(vote, t.choice)
            heads -= t.heads
            area -= t.area_centi
        if heads > 0:
            voters.append(Voter("not_voted", heads=heads, area=Fraction(area, 100) if with_area else None))
    count = functools.partial(counting.count, vote.kind, vote.rule, voters, ballots, options=_option_ids(vote),
                              weighting=vote.weighting, max_choices=vote.max_choices)
    try:
        result = count(show_of_hands=hands or None, hands_of_present=bool(present and hands))
    except CountingError as e:
        if exact or not stored or e.code != "too_many_hands":
            raise
        # Ballots cast since the show of hands outnumber it: the running count leaves the hands out
        # until the facilitator corrects them (closing refuses until then).
        result = count()
    out = result.as_dict()
    out["eligible"] = int(result.participation_heads.denominator)
    out["ballots"] = db.exec(select(func.count()).select_from(VoteReceipt)
                             .where(VoteReceipt.vote_id == vote.id)).one()
    return out


def participation(db: Session, vote: Vote) -> tuple[int, int]:
    """(ballots counted, eligible voters): what the room may see even while tallies are hidden."""
    n = db.exec(select(func.count()).select_from(VoteReceipt).where(VoteReceipt.vote_id == vote.id)).one()
    if vote.secret and vote.status == VoteStatus.open:
        n += secrecy.waiting_count(db, vote.id)  # received: they count towards the turnout already
    eligible = db.exec(select(func.count()).select_from(VoteElector).where(VoteElector.vote_id == vote.id)).one()
    return n, eligible


def shows_tallies(vote: Vote) -> bool:
    return secrecy.shows_counts(vote)


def audit_trail(db: Session, vote: Vote) -> list[VoteAudit]:
    return list(db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote.id).order_by(VoteAudit.id)))


def votes_of_meeting(db: Session, meeting_id: int) -> list[Vote]:
    return list(db.exec(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.id)))


def votes_of_issue(db: Session, issue_id: int) -> list[Vote]:
    return list(db.exec(select(Vote).where(Vote.issue_id == issue_id).order_by(Vote.id)))


def current_vote(db: Session, meeting_id: int) -> Vote | None:
    """The vote a meeting's room shows: the open one, else the one closed last."""
    votes = votes_of_meeting(db, meeting_id)
    for v in votes:
        ensure_current(db, v)
    open_ = [v for v in votes if v.status == VoteStatus.open]
    if open_:
        return open_[-1]
    closed = [v for v in votes if v.status == VoteStatus.closed]
    return max(closed, key=lambda v: (v.closed_at or v.created_at, v.id)) if closed else None


# ---------------------------------------------------------------- showing a result


def _decimal(text: str) -> str:
    """Exact numbers from as_dict ("812.4", "12", "5/3") shown with two places for areas."""
    if "/" in text:
        return str(round(float(Fraction(text)), 2))
    return f"{Decimal(text):.2f}"


def comparison_lines(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each fraction a rule compared, ready to print: "812.40 / 1059.70 m² = 76.7% ≥ 2/3 ✓"."""
    lines = []
    for c in result["comparisons"]:
        area = c["basis"] == "area"
        num = _decimal(c["numerator"]) if area else c["numerator"]
        den = _decimal(c["denominator"]) if area else c["denominator"]
        # Rounded toward the verdict, so the number never contradicts its ✓/✗ (forum.display).
        percent = "—" if c["percent"] is None else display.percent(
            Fraction(c["numerator"]) / Fraction(c["denominator"]), c["met"])
        op = "≥" if c["operator"] == ">=" else ">"
        lines.append({"label": gettext(c["label"]), "text": f"{num} / {den}{' m²' if area else ''} = {percent} "
                      f"{op} {c['threshold']}", "met": c["met"]})
    return lines


def bars(vote: Vote, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One bar per choice for the SVG chart, widths as a share of the largest."""
    totals = result["totals"]
    top = max((t["heads"] for t in totals), default=0) or 1
    out = []
    for i, t in enumerate(totals):
        percent = None if t["heads_percent"] is None else f"{float(t['heads_percent']):.1f}"
        out.append({"key": t["key"], "label": choice_text(vote, t["key"]) if vote.kind != Kind.SEVERAL_OF
                    else dict(choices_of(vote)).get(t["key"], t["key"]), "heads": t["heads"], "hands": t["hands"],
                    "percent": percent, "area": None if t["area"] is None else _decimal(t["area"]),
                    "width": round(100 * t["heads"] / top, 1), "y": i})
    return out

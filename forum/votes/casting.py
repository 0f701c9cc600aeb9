"""Casting one ballot: exactly once per eligible voter, and never after the vote stopped taking them.

* **One counted ballot per eligible voter.** ``VoteReceipt`` has the primary key
  ``(vote_id, voter_key)``; a cast inserts its receipt first, so a double tap, a retry or a
  concurrent submission for the same voter fails on that key and is answered as "already
  counted" (or, for an open vote that allows it, as a change of an existing ballot). The tablets'
  ballots come in batches instead (:mod:`forum.votes.tablets`), on the same rules.
* **Secret means unlinkable.** A secret vote writes the receipt (who voted) and adds to an
  anonymous ``VoteTally`` row per choice (heads and area sums, updated in place); no row anywhere
  carries both a voter and a choice, and nothing is logged about who chose what. Its ballots are
  written only in batches of at least K voters, never one by one, so no commit in the database's
  log links a voter to a choice either (:mod:`forum.secrecy`); a batch leaves one audit entry
  with its count. That is also why a secret ballot cannot be changed: nothing remembers which
  tally to take it back from.

The first statement of every cast transaction is a write (the receipt insert, or the ballot
update of a change), so on SQLite the writer lock is taken before anything is read and
concurrent casts queue on the busy timeout instead of failing on a stale snapshot. The vote's
status is read again under that lock (``FOR SHARE`` on PostgreSQL), so no ballot lands after
the vote was closed and its result frozen.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from forum import secrecy, verification
from forum.i18n import N_, gettext
from forum.models import Attendance, Ballot, PaperSerial, Vote, VoteElector, VoteReceipt, VoteStatus, VoteTally, now
from forum.votes.choices import VoteRefused, choice_key, choice_text
from forum.votes.labels import VIAS
from forum.votes.lifecycle import castable, not_open
from forum.votes.trail import audit

log = logging.getLogger("forum.votes")

SERIAL_MAX = 40

# SQLite takes one writer at a time, and a writer that finds the lock taken sleeps in SQLite's
# busy handler with growing back-offs (up to 100 ms). Within one process, whoever casts (the
# ballot box's thread, a shared tablet or paper entry) queues on this Python lock instead of that
# convoy, and wakes the moment the previous commit is done. The database's constraints
# stay the guarantee across processes; PostgreSQL needs no such lock.
_SQLITE_WRITES = threading.Lock()


def write_lock(db: Session) -> contextlib.AbstractContextManager:
    """Held around every transaction that writes ballots (see ``_SQLITE_WRITES``)."""
    return _SQLITE_WRITES if db.get_bind().dialect.name == "sqlite" else contextlib.nullcontext()


@dataclass(frozen=True)
class Cast:
    outcome: str  # counted, changed, unchanged, already; received (a secret ballot waiting for others')
    voter_key: str


def cast(db: Session, vote: Vote, voter_key: str, selection: Sequence[str], *, via: str, cast_by: str = "",
         paper_serial: str | None = None, attendance: Attendance | None = None) -> Cast:
    """Count one ballot for ``voter_key``, exactly once; raise VoteRefused with the reason otherwise.
    ``attendance`` is the tablet casting it (via tablet or proxy)."""
    if not castable(vote, now()):
        raise not_open(vote)
    elector = db.get(VoteElector, (vote.id, voter_key))
    if elector is None:
        raise VoteRefused("ineligible", N_("This voter is not eligible in this vote."), "voter")
    choice = choice_key(vote, selection)
    serial = (paper_serial or "").strip() or None
    verification.check_ballot(db, vote, voter_key, via=via, attendance=attendance, serial=serial)
    if serial is not None and len(serial) > SERIAL_MAX:
        raise VoteRefused("bad_serial", N_("A serial number has at most %(n)d characters."), "serial", n=SERIAL_MAX)
    if vote.secret:
        return _cast_secret(db, vote, elector, choice, via=via, serial=serial)
    with write_lock(db):
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
        still_open(db, vote)
        if serial is not None:
            _paper_serial(db, vote, serial)
        bump(db, vote, choice, elector, +1)
        if vote.secret:
            # Neither voter nor choice: the receipt above already says who has voted.
            audit(db, vote, "—", "ballot", gettext("A secret ballot was counted."))
        else:
            db.execute(insert(Ballot).values(vote_id=vote.id, voter_key=voter_key, choice=choice, via=via,
                                             cast_by=cast_by[:120], cast_at=now(), paper_serial=serial))
            audit(db, vote, elector.label, "ballot", ballot_detail(vote, choice, via, cast_by, serial))
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


def ballot_detail(vote: Vote, choice: str, via: str, cast_by: str, serial: str | None = None) -> str:
    """What the audit trail says of an open vote's ballot. At the shared tablet the voter chose
    out of the facilitator's sight, and the console shows this trail: it says that they voted, not how."""
    said = [] if via == "kiosk" else [choice_text(vote, choice)]
    return " · ".join(said + [gettext(VIAS[via])] + ([cast_by] if cast_by else []) + ([f"#{serial}"] if serial else []))


def still_open(db: Session, vote: Vote) -> None:
    """Read the status again, under the writer lock the transaction holds (``FOR SHARE`` on PostgreSQL)."""
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
        still_open(db, vote)
        ballot = db.get(Ballot, (vote.id, key), populate_existing=True)
        if ballot is None or ballot.choice == choice:
            db.rollback()
            return Cast("unchanged", key)
        if not vote.allow_change:
            raise VoteRefused("no_change", N_("This voter has voted already, and this vote does not allow changes."))
        old = ballot.choice
        bump(db, vote, old, elector, -1)
        bump(db, vote, choice, elector, +1)
        ballot.choice, ballot.via, ballot.cast_by = choice, via, cast_by[:120]
        db.add(ballot)
        audit(db, vote, elector.label, "change", gettext(VIAS[via]) if via == "kiosk"
              else f"{choice_text(vote, old)} → {choice_text(vote, choice)}")
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return Cast("changed", key)


def bump(db: Session, vote: Vote, choice: str, elector: VoteElector, sign: int) -> None:
    """Add (or take back) one ballot's weight."""
    add_to_tally(db, vote, choice, sign * elector.heads, sign * (elector.area_centi or 0))


def add_to_tally(db: Session, vote: Vote, choice: str, heads: int, area_centi: int) -> None:
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


def has_voted(db: Session, vote: Vote, voter_key: str) -> bool:
    """A receipt, or a secret ballot received and waiting to be written with others."""
    if vote.secret and voter_key in secrecy.waiting_keys(db, vote.id):
        return True
    return db.get(VoteReceipt, (vote.id, voter_key)) is not None

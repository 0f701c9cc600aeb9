"""Secret ballots that stay secret in the database files, the write-ahead log and on the screen.

A secret vote writes two things: a receipt (who has voted) and anonymous sums per choice. If each
ballot were its own commit, anyone holding the database files could replay SQLite's write-ahead
log (or a backup, or PostgreSQL's WAL) commit by commit and read, at each commit, one new receipt
next to one tally that grew by one: the voter and their choice. So secret ballots are never
written one at a time. A ballot handed in waits here, in memory, in the *urn* of its vote, and
is written only together with others:

* a batch is written when at least ``2 × K`` ballots wait, and it takes all but the ``K`` most
  recent, so every commit adds the receipts of at least ``K`` voters and, in the same commit, the
  sum of their choices (``K`` is ``FORUM_SECRET_BATCH``, 5 by default);
* the ballots left waiting are written with the vote's closing, in the closing's own transaction,
  so the last batch holds at least ``K`` voters too (or every voter, when fewer than ``K`` voted:
  then the result itself says as much);
* within a batch receipts are inserted in the order of their keys and sums per choice in the
  order of the choices, so neither the rows' order nor their place in a page says who came first.
  (``VoteReceipt`` is an ordinary table: SQLite gives its rows rowids in insertion order and keeps
  a separate index on the key; a WITHOUT ROWID table would hide nothing more, since a page also
  places its cells in the order they were inserted. Either way what is kept is the batch order,
  which the write-ahead log shows anyway; within a batch, only the keys' order.)
* a batch leaves one audit entry with how many ballots it held; no ballot has a timestamp.

A ballot waiting here is *received*, not counted: the tablet says so, and says "counted" once a
receipt exists. The urn is this process's memory (:class:`Urn`), or, with several workers
(``FORUM_BROADCAST_URL``), a Redis every worker shares (:mod:`forum.redis_urn`, which refuses a
Redis that keeps data on disk: waiting slips link voters to choices). Both give the same small
interface, ``locked(vote)``, ``waiting(vote)`` in arrival order, ``add`` and ``take``, and the lock
is held across check, add, write and commit, and across a closing. A slip leaves the urn only
after the commit that wrote it: a failed write (or a worker killed in it) loses nothing, and a
slip written but not forgotten is dropped at the next ballot, its receipt existing. A crash of
the single process, or a restart of Redis, loses the waiting ballots, never half of them, and a
tablet that sees no receipt for the ballot it handed in asks for it again.

While a secret vote is open only its turnout (ballots received, eligible voters) is shown, on
every page and in ``result.json``; its counts appear when it closes.

Who may see the named ballots of an open (non-secret) vote is decided by
:func:`may_see_named_ballots`, the one place to change when residents can be verified.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import event, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from forum import auth
from forum.i18n import N_, gettext
from forum.models import Attendance, PaperSerial, User, Vote, VoteAudit, VoteReceipt, VoteStatus, VoteTally, now

log = logging.getLogger("forum.secrecy")

DEFAULT_BATCH = 5  # K: the fewest voters whose ballots any commit of a secret vote adds (FORUM_SECRET_BATCH)
BATCH_RANGE = (2, 1000)

# How a batch's audit entry names the ways its ballots came in (counts only, never who or what);
# keyed by the stored Ballot.via, where the shared tablet is "kiosk".
WAYS = {"tablet": N_("tablet"), "proxy": N_("proxy"), "kiosk": N_("shared tablet"), "paper": N_("paper ballot")}


@dataclass(frozen=True)
class Slip:
    """One secret ballot waiting to be written: who (for the receipt), what, and its weight."""

    voter_key: str
    choice: str
    heads: int
    area_centi: int
    via: str  # tablet, proxy, kiosk (the shared tablet, as stored), paper
    serial: str | None = None


class Urn:
    """The secret ballots of one database that wait to be written, by vote, in arrival order, in
    this process's memory (one worker). forum.redis_urn.RedisUrn is the same for several workers;
    both give ``locked``, ``waiting``, ``add`` and ``take``, and a ``batch`` (K)."""

    def __init__(self, batch: int = DEFAULT_BATCH) -> None:
        self.batch = batch
        # Held while ballots are checked, added, written, and while a secret vote closes: what
        # was received before a closing is in its transaction, and nothing is received after it.
        self.lock = threading.RLock()
        self._waiting: dict[int, dict[str, Slip]] = {}

    @contextlib.contextmanager
    def locked(self, _vote_id: int) -> Iterator[None]:
        with self.lock:
            yield

    def waiting(self, vote_id: int) -> list[Slip]:
        return list(self._waiting.get(vote_id, {}).values())

    def add(self, vote_id: int, slip: Slip) -> None:
        self._waiting.setdefault(vote_id, {})[slip.voter_key] = slip

    def take(self, vote_id: int, slips: Sequence[Slip]) -> None:
        """Forget slips once they are committed (never before: a failed write loses none)."""
        waiting = self._waiting.get(vote_id, {})
        for s in slips:
            waiting.pop(s.voter_key, None)
        if not waiting:
            self._waiting.pop(vote_id, None)


class SharedUrn(Protocol):
    batch: int

    def locked(self, vote_id: int) -> contextlib.AbstractContextManager[None]: ...
    def waiting(self, vote_id: int) -> list[Slip]: ...
    def add(self, vote_id: int, slip: Slip) -> None: ...
    def take(self, vote_id: int, slips: Sequence[Slip]) -> None: ...


_URNS: weakref.WeakKeyDictionary[Engine, SharedUrn] = weakref.WeakKeyDictionary()
_URNS_LOCK = threading.Lock()


def _engine(db: Session | Engine) -> Engine:
    if isinstance(db, Engine):
        return db
    bind = db.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def configure(engine: Engine, batch: int = DEFAULT_BATCH, urn: SharedUrn | None = None) -> SharedUrn:
    """Set K for a database, and the urn its ballots wait in: ``urn`` (forum.redis_urn, shared by
    every worker) or, by default, this process's memory. ``create_app`` does, from settings."""
    low, high = BATCH_RANGE
    if not low <= batch <= high:
        raise ValueError(f"a secret batch holds from {low} to {high} ballots, not {batch}")
    with _URNS_LOCK:
        if urn is not None:
            _URNS[engine] = urn
    urn = urn_of(engine)
    urn.batch = batch
    return urn


def urn_of(db: Session | Engine) -> SharedUrn:
    engine = _engine(db)
    with _URNS_LOCK:
        urn = _URNS.get(engine)
        if urn is None:
            urn = _URNS[engine] = Urn()
        return urn


def waiting_keys(db: Session, vote_id: int) -> set[str]:
    urn = urn_of(db)
    with urn.locked(vote_id):
        return {s.voter_key for s in urn.waiting(vote_id)}


def waiting_heads(db: Session, vote_id: int) -> int:
    urn = urn_of(db)
    with urn.locked(vote_id):
        return sum(s.heads for s in urn.waiting(vote_id))


def waiting_count(db: Session, vote_id: int) -> int:
    urn = urn_of(db)
    with urn.locked(vote_id):
        return len(urn.waiting(vote_id))


# ---------------------------------------------------------------- handing in and writing


def deposit(db: Session, vote: Vote, slips: Sequence[Slip]) -> list[str]:
    """Hand secret ballots in. Returns each slip's outcome: ``received`` (waiting), ``counted``
    (written in a batch this call made), ``already`` (the voter has a receipt or a ballot waiting;
    a secret ballot is never changed), ``not_open`` or ``duplicate_serial``. Commits any batch it
    writes; slips that wait are not in the database at all."""
    urn = urn_of(db)
    with urn.locked(vote.id):
        # Read afresh under the lock: a closing holds it until its commit, so a vote seen open
        # here is still open, and whatever is added now is written with its closing at the latest.
        status = db.exec(select(Vote.status).where(Vote.id == vote.id)).one()
        if status != VoteStatus.open:
            return ["not_open"] * len(slips)
        waiting = urn.waiting(vote.id)
        keys = sorted({s.voter_key for s in slips} | {s.voter_key for s in waiting})
        voted = set(db.exec(select(VoteReceipt.voter_key).where(
            VoteReceipt.vote_id == vote.id, col(VoteReceipt.voter_key).in_(keys)))) if keys else set()
        stale = [s for s in waiting if s.voter_key in voted]
        if stale:  # written by a worker that died before it could forget them
            urn.take(vote.id, stale)
            waiting = [s for s in waiting if s.voter_key not in voted]
        serials = sorted({s.serial for s in slips if s.serial})
        used = set(db.exec(select(PaperSerial.serial).where(
            PaperSerial.vote_id == vote.id, col(PaperSerial.serial).in_(serials)))) if serials else set()
        waiting_keys_ = {s.voter_key for s in waiting}
        used |= {s.serial for s in waiting if s.serial}
        out, received = [], []
        for s in slips:
            if s.voter_key in voted or s.voter_key in waiting_keys_:
                out.append("already")
            elif s.serial and s.serial in used:
                out.append("duplicate_serial")
            else:
                received.append(s)
                waiting.append(s)
                waiting_keys_.add(s.voter_key)
                if s.serial:
                    used.add(s.serial)
                out.append("received")
        _add_all(urn, vote.id, received)
        return _write_due(db, vote, urn, waiting, slips, out)


def _add_all(urn: SharedUrn, vote_id: int, slips: Sequence[Slip]) -> None:
    """Slips into the urn in arrival order: in one go where the urn can (Redis: one round trip)."""
    add_all = getattr(urn, "add_all", None)
    if add_all is not None:
        add_all(vote_id, slips)
        return
    for s in slips:
        urn.add(vote_id, s)


def _write_due(db: Session, vote: Vote, urn: SharedUrn, waiting: list[Slip], slips: Sequence[Slip],
               out: list[str]) -> list[str]:
    """Once 2K wait, write and commit all but the K newest; they leave the urn after the commit."""
    if len(waiting) < 2 * urn.batch:
        return out
    due = waiting[: len(waiting) - urn.batch]
    try:
        written = _write(db, vote, due)
        _ensure_held(urn, vote.id)
        db.commit()
    except Exception:
        db.rollback()
        # Nothing was written, and they are still in the urn: they wait for the next batch or the closing.
        log.exception("vote %s: a batch of %d secret ballots could not be written; they wait", vote.id, len(due))
        return out
    urn.take(vote.id, due)
    if written is None:  # closed meanwhile by another process: nothing was written
        return ["not_open"] * len(slips)
    log.info("vote %s: %d secret ballots counted together", vote.id, len(written))
    mine = {s.voter_key for s in due}
    return ["counted" if o == "received" and s.voter_key in mine else o for s, o in zip(slips, out, strict=True)]


@contextlib.contextmanager
def closing(db: Session, vote: Vote) -> Iterator[Callable[[], int]]:
    """Hold the urn while a secret vote closes; yields ``flush()``, which writes every waiting
    ballot of the vote into the closing's transaction. The caller commits inside the block; the
    ballots leave the urn when the block ends without an error (else they wait, as before)."""
    urn = urn_of(db)
    with urn.locked(vote.id):
        taken: list[Slip] = []

        def flush() -> int:
            slips = urn.waiting(vote.id)
            taken.extend(slips)
            if slips:
                _write(db, vote, slips, closing=True)
            return len(slips)

        def still_held(_session: Session) -> None:
            _ensure_held(urn, vote.id)

        # The caller commits: right before it does, the urn must still be this closing's.
        event.listen(db, "before_commit", still_held)
        try:
            yield flush
        finally:
            event.remove(db, "before_commit", still_held)
        urn.take(vote.id, taken)


def _ensure_held(urn: SharedUrn, vote_id: int) -> None:
    """Before a commit: refuse it if the urn's lock was lost while held (forum.redis_urn's can
    expire; the in-process urn's cannot)."""
    ensure = getattr(urn, "ensure_held", None)
    if ensure is not None:
        ensure(vote_id)


def _insert(db: Session):
    return sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert


def _write(db: Session, vote: Vote, slips: Sequence[Slip], *, closing: bool = False) -> list[Slip] | None:
    """Write one batch in the current transaction (the caller commits): the receipts in key
    order, one sum per choice, paper serials, one audit entry. Returns the slips written (a voter
    who got a receipt meanwhile, from another process, is left out), or None when the vote is no
    longer open."""
    insert = _insert(db)
    ordered = sorted(slips, key=lambda s: s.voter_key)
    receipts = VoteReceipt.__table__
    # The first statement is a write: on SQLite the writer lock is taken before anything is read.
    new = set(db.execute(insert(receipts).values([{"vote_id": vote.id, "voter_key": s.voter_key} for s in ordered])
                         .on_conflict_do_nothing().returning(receipts.c.voter_key)).scalars())
    if not closing:
        status = db.exec(select(Vote.status).where(Vote.id == vote.id).with_for_update(read=True)).one()
        if status != VoteStatus.open:
            db.rollback()
            return None
    written = [s for s in ordered if s.voter_key in new]
    sums: dict[str, list[int]] = {}
    for s in written:
        weight = sums.setdefault(s.choice, [0, 0])
        weight[0] += s.heads
        weight[1] += s.area_centi
    tallies = VoteTally.__table__
    for choice, (heads, area) in sorted(sums.items()):
        # A several-of combination nobody ticked before has no row yet.
        db.execute(insert(tallies).values(vote_id=vote.id, choice=choice, heads=0, area_centi=0)
                   .on_conflict_do_nothing())
        db.execute(update(VoteTally).where(VoteTally.vote_id == vote.id, VoteTally.choice == choice)
                   .values(heads=VoteTally.heads + heads, area_centi=VoteTally.area_centi + area)
                   .execution_options(synchronize_session=False))
    serials = sorted(s.serial for s in written if s.serial)
    if serials:
        db.execute(insert(PaperSerial.__table__).values([{"vote_id": vote.id, "serial": x} for x in serials])
                   .on_conflict_do_nothing())
    if written:
        ways = Counter(s.via for s in written)
        detail = gettext("%(n)d secret ballots counted together (%(ways)s).") % {
            "n": len(written), "ways": "，".join(f"{gettext(WAYS[w])} {n}" for w, n in sorted(ways.items()))}
        db.execute(VoteAudit.__table__.insert().values(vote_id=vote.id, at=now(), actor="—", action="ballots",
                                                      detail=detail))
    return written


# ---------------------------------------------------------------- who sees what


def shows_counts(vote: Vote) -> bool:
    """Counts (tallies, verdict) may be shown: once closed; while open, only for a vote that is not
    secret and was set up to show them. A secret vote shows its turnout alone until it closes."""
    if vote.status == VoteStatus.closed:
        return True
    return vote.status == VoteStatus.open and vote.results_while_open and not vote.secret


def may_see_named_ballots(vote: Vote, user: User | None, attendance: Attendance | None) -> bool:
    """Whether a viewer may read who chose what in an open (named) vote: the staff of the vote's
    community (facilitators, committee members, admins), and residents verified at the vote's
    meeting (``attendance`` is the viewer's tablet check-in there, if any). Anonymous visitors and
    self-declared residents, never.
    A secret vote has no named ballots to see."""
    if vote.secret:
        return False
    if auth.can_triage(user) and auth.acts_for(user, vote.community_id):
        return True
    return _verified_resident(vote, attendance)


def _verified_resident(vote: Vote, attendance: Attendance | None) -> bool:
    # A resident verified at this vote's meeting (by slip or at the desk, forum.verification) is a
    # known member of the community; a tablet's own say-so is not.
    return attendance is not None and attendance.verified and attendance.meeting_id == vote.meeting_id

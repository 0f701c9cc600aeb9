"""The tablets' ballots: which ballots a tablet holds (its own, and proxies), and counting a batch
of them together, as :mod:`forum.ballot_box` hands them in.

A batch is one transaction: the late arrivals among its voters join the electorate, one
multi-row insert of receipts reports which voters had none (the others are repeats), one tally
update per choice, one insert of named ballots and one of audit entries, one commit. That is what
lets one writer keep up with a hall. Repeats, a double tap or a change of mind, are then taken
one at a time by :func:`forum.votes.casting.cast`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from forum import secrecy, verification
from forum.electorate import elector_for_attendance, voter_key_for
from forum.i18n import N_, gettext
from forum.models import Attendance, Ballot, Vote, VoteAudit, VoteElector, VoteProxy, VoteReceipt, VoteStatus, now
from forum.votes.casting import Cast, add_to_tally, ballot_detail, cast, has_voted, still_open, write_lock
from forum.votes.choices import VoteRefused, choice_key
from forum.votes.lifecycle import castable, not_open
from forum.votes.trail import audit

log = logging.getLogger("forum.votes")

LATE = N_("Checked in after the vote opened; now eligible.")


@dataclass(frozen=True)
class TabletBallot:
    voter_key: str
    label: str
    proxy: bool
    voted: bool
    waiting: bool = False  # a secret ballot received, to be written with others'


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
    _joining: VoteElector | None = None  # the tablet's voter checked in after the vote opened: joins with the batch


# ---------------------------------------------------------------- late arrivals


def late_elector(db: Session, vote: Vote, attendance: Attendance, key: str | None) -> VoteElector | None:
    """Who someone checked in after an attendance-scope vote opened votes as (``key``: their voter
    key), if they count among those present; not stored: they join with their first ballot, or
    when staff admit or verify them (:func:`add_late_attendee`)."""
    if key is None or vote.scope != "attendance" or vote.status != VoteStatus.open:
        return None
    if not verification.counts_present(vote, attendance):
        return None
    return elector_for_attendance(db, vote, attendance)


def add_late_attendee(db: Session, vote: Vote, attendance: Attendance) -> VoteElector | None:
    """Someone admitted or verified after an attendance-scope vote opened joins its electorate now
    (so the shared tablet can be opened for them). Commits."""
    key = voter_key_for(db, vote, attendance)
    elector = late_elector(db, vote, attendance, key)
    if elector is None:
        return None
    known = db.get(VoteElector, (vote.id, key))
    if known is not None:
        return known
    with write_lock(db):
        try:
            _join(db, vote, [elector])
            db.commit()
        except IntegrityError:
            db.rollback()
    return db.get(VoteElector, (vote.id, elector.voter_key))


def _join(db: Session, vote: Vote, electors: Iterable[VoteElector]) -> None:
    """Add late arrivals to the electorate in the caller's transaction (one who joined meanwhile,
    from another request, stays as they were), with an audit entry each."""
    rows = [e.model_dump() for e in electors]
    if not rows:
        return
    table = VoteElector.__table__
    joined = set(db.execute(_dialect_insert(db)(table).values(rows).on_conflict_do_nothing()
                            .returning(table.c.voter_key)).scalars())
    for row in rows:
        if row["voter_key"] in joined:
            audit(db, vote, row["label"], "elector", gettext(LATE))


def _dialect_insert(db: Session):
    return sqlite_insert if db.get_bind().dialect.name == "sqlite" else postgresql_insert


# ---------------------------------------------------------------- a tablet's ballots


def ballots_for_attendance(db: Session, vote: Vote, attendance: Attendance, *,
                           with_voted: bool = True) -> list[TabletBallot]:
    """The ballots a tablet may cast: its own, and any its holder holds a proxy for. Reads only:
    someone who checked in after the vote opened is offered the ballot they join with.

    ``with_voted=False`` skips looking up who has voted (the casting path finds out anyway).
    """
    key = voter_key_for(db, vote, attendance)
    own = db.get(VoteElector, (vote.id, key)) if key else None
    if own is None and vote.scope == "attendance":
        own = late_elector(db, vote, attendance, key)
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


# ---------------------------------------------------------------- a batch


def cast_from_tablets(db: Session, vote: Vote, batch: Sequence[TabletCast]) -> None:
    """Count the ballots of several tablets in one vote together, filling in each one's outcome
    (or refusal) as if each had been cast alone, one after the other. A tablet casts for its own
    voter, or as a proxy holder for a principal (with no ``voter_key``: for its own voter).
    """
    if not castable(vote, now()):
        for t in batch:
            t.refused = not_open(vote)
        return
    _check_tablets(db, vote, batch)
    late = list({t._joining.voter_key: t._joining for t in batch if t._joining is not None}.values())
    if vote.secret:
        _deposit_tablets(db, vote, batch, late)
        return
    _count_new(db, vote, batch, late)
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


def _count_new(db: Session, vote: Vote, batch: Sequence[TabletCast], late: list[VoteElector]) -> None:
    """Count each voter's first ballot in the batch, with the late arrivals joining, in one
    transaction; a refusal (the vote closed meanwhile) goes to every ballot still waiting for an answer."""
    fresh: dict[str, TabletCast] = {}  # each voter's first ballot in the batch
    for t in batch:
        if t.refused is None:
            fresh.setdefault(t.voter_key, t)
    if not fresh and not late:
        return
    with write_lock(db):
        try:
            counted = _write_batch(db, vote, list(fresh.values()), late)
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


def _deposit_tablets(db: Session, vote: Vote, batch: Sequence[TabletCast], late: list[VoteElector]) -> None:
    """A secret vote's tablets: their ballots go into the vote's urn together (forum.secrecy). The
    late arrivals among them join the electorate first, in a transaction of their own that holds
    no ballot."""
    if late:
        with write_lock(db):
            try:
                _join(db, vote, late)
                still_open(db, vote)
                db.commit()
            except VoteRefused as refused:
                db.rollback()
                for t in batch:
                    t.refused = t.refused or refused
                return
            except BaseException:
                db.rollback()
                raise
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


def _check_tablets(db: Session, vote: Vote, batch: Sequence[TabletCast]) -> None:
    """Find each tablet's ballots (three queries for the whole batch) and check what it asked for:
    a ballot it holds, a valid choice. Sets ``voter_key`` to the ballot meant, or ``refused``; and
    ``_joining`` for a voter who checked in after the vote opened. Reads only."""
    keys = {t.attendance.id: voter_key_for(db, vote, t.attendance) for t in batch}
    electors = _electors(db, vote, {k for k in keys.values() if k})
    late: dict[str, VoteElector] = {}
    if vote.scope == "attendance":
        for t in batch:
            key = keys[t.attendance.id]
            if key and key not in electors and key not in late:
                t._joining = late_elector(db, vote, t.attendance, key)
                if t._joining is not None:
                    late[key] = t._joining
        electors |= late
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
            t._choice = choice_key(vote, t.selection)
        except VoteRefused as refused:
            t.refused = refused
        t._elector = electors.get(t.voter_key)
    verification.check_tablets(db, vote, batch)


def _electors(db: Session, vote: Vote, keys: set[str]) -> dict[str, VoteElector]:
    if not keys:
        return {}
    return {e.voter_key: e for e in db.exec(select(VoteElector).where(
        VoteElector.vote_id == vote.id, col(VoteElector.voter_key).in_(sorted(keys))))}


def _write_batch(db: Session, vote: Vote, fresh: list[TabletCast], late: list[VoteElector]) -> set[str]:
    """Write an open (named) vote's batch in one transaction and commit: the late arrivals joining
    the electorate, and the first ballot of each voter who has none yet. Returns the keys counted."""
    # The first writes of the transaction (SQLite's writer lock is taken here, before anything is
    # read in it): the late arrivals, then receipts for all, keeping those that already existed.
    _join(db, vote, late)
    table = VoteReceipt.__table__
    rows = [{"vote_id": vote.id, "voter_key": t.voter_key} for t in fresh]
    counted = set(db.execute(_dialect_insert(db)(table).values(rows).on_conflict_do_nothing()
                             .returning(table.c.voter_key)).scalars()) if rows else set()
    if not counted and not late:
        db.rollback()
        return counted
    still_open(db, vote)
    new = [t for t in fresh if t.voter_key in counted]
    _add_weights(db, vote, new)
    at = now()
    ballots, audit_rows = [], []
    for t in new:
        via, by = ("proxy", t.attendance.name) if t._ballot.proxy else ("tablet", "")
        ballots.append({"vote_id": vote.id, "voter_key": t.voter_key, "choice": t._choice, "via": via,
                        "cast_by": by[:120], "cast_at": at, "paper_serial": None})
        audit_rows.append({"vote_id": vote.id, "at": at, "action": "ballot", "actor": t._elector.label[:120],
                           "detail": ballot_detail(vote, t._choice, via, by)})
    if new:
        db.execute(insert(Ballot.__table__), ballots)
        db.execute(insert(VoteAudit.__table__), audit_rows)
    db.commit()
    return counted


def _add_weights(db: Session, vote: Vote, new: list[TabletCast]) -> None:
    """One tally update per choice for the batch's new ballots."""
    sums: dict[str, list[int]] = {}
    for t in new:
        elector = t._elector
        assert elector is not None
        weight = sums.setdefault(t._choice, [0, 0])
        weight[0] += elector.heads
        weight[1] += elector.area_centi or 0
    for choice, (heads, area) in sorted(sums.items()):
        add_to_tally(db, vote, choice, heads, area)

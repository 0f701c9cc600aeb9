"""The ballot box: the tablets' ballots, counted by one thread in batches, a transaction each.

A hall of 2,000 tablets casts within seconds. One ballot per request, each in its own thread and
transaction, made every ballot wait on the GIL and on SQLite's single writer behind dozens of
others, and that queue, not the work, set the latency. Here a request hands its ballot in and
waits; one thread takes whatever has been handed in since it last looked and counts it with
``votes.cast_from_tablets``: a few queries and one commit for the lot. A ballot in a quiet room
is a batch of one; the busier the hall, the larger the batches and the less each ballot costs,
so the box keeps up where one-at-a-time falls behind (``forum bench vote``).

The box only batches; what is counted and refused is the votes module's. A batch that fails for
an unexpected reason is retried ballot by ballot, so one bad ballot cannot sink the others.
A secret vote's ballots are not written here at all: they go into the vote's urn and wait to be
written with at least K voters' (``forum.secrecy``); their tablets are answered "received".
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from forum import i18n, votes
from forum.models import Attendance, Vote

log = logging.getLogger("forum.ballot_box")

BATCH_MAX = 500  # ballots per transaction: bounds how long one commit holds the writer
IDLE_SECONDS = 30.0  # the thread ends after this long with nothing to count, and restarts on demand


@dataclass
class Counted:
    """What became of a ballot handed in: the vote and tablet as they were, and the outcome."""

    vote: Vote | None  # None: no such vote
    attendance: Attendance | None  # None: the device is not checked in to the vote's meeting
    tablet: votes.TabletCast | None


@dataclass
class _Slip:
    vote_id: int
    device_token: str
    voter_key: str
    selection: list[str]
    future: Future


class BallotBox:
    def __init__(self, engine: Engine, language: str, batch_max: int = BATCH_MAX) -> None:
        self.engine = engine
        self.batch_max = batch_max
        # What the box writes in words (the audit trail's) is in the installation's language,
        # whichever language each tablet shows.
        self.language = language
        self._slips: list[_Slip] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    async def cast(self, vote_id: int, device_token: str, voter_key: str, selection: Sequence[str]) -> Counted:
        """Hand a tablet's ballot in and wait until it is counted (or refused)."""
        future: Future[Counted] = Future()
        with self._ready:
            self._slips.append(_Slip(vote_id, device_token, voter_key, list(selection), future))
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="forum-ballot-box", daemon=True)
                self._thread.start()
            self._ready.notify()
        # Shielded: a ballot handed in is counted even if its tablet goes away while it waits.
        return await asyncio.shield(asyncio.wrap_future(future))

    def _run(self) -> None:
        i18n.set_language(self.language)
        try:
            while True:
                with self._ready:
                    if not self._ready.wait_for(lambda: self._slips or self._stopping, timeout=IDLE_SECONDS) \
                            or not self._slips:
                        self._thread = None
                        return
                    batch, self._slips = self._slips[:self.batch_max], self._slips[self.batch_max:]
                by_vote: dict[int, list[_Slip]] = defaultdict(list)
                for slip in batch:
                    by_vote[slip.vote_id].append(slip)
                for vote_id, slips in by_vote.items():
                    self._count(vote_id, slips)
        except BaseException as exc:  # pragma: no cover - _count answers every slip; this is the net under it
            log.exception("the ballot box stopped")
            with self._ready:
                self._thread = None
                waiting, self._slips = self._slips, []
            for slip in waiting:
                if not slip.future.done():
                    slip.future.set_exception(exc)
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Count what has been handed in, then end the thread (at shutdown). A later ballot starts it again."""
        with self._ready:
            thread = self._thread
            self._stopping = True
            self._ready.notify()
        if thread is not None:
            thread.join(timeout)

    def _count(self, vote_id: int, slips: list[_Slip]) -> None:
        try:
            with Session(self.engine, expire_on_commit=False) as db:
                answers = _count_batch(db, vote_id, slips)
        except Exception:
            log.exception("a batch of %d ballots for vote %s failed; counting them one by one", len(slips), vote_id)
            answers = []
            for slip in slips:
                try:
                    with Session(self.engine, expire_on_commit=False) as db:
                        answers.append(_count_batch(db, vote_id, [slip])[0])
                except Exception as exc:  # noqa: BLE001 - handed to the request, which answers 500
                    answers.append(exc)
        for slip, answer in zip(slips, answers, strict=True):
            if isinstance(answer, Exception):
                slip.future.set_exception(answer)
            else:
                slip.future.set_result(answer)


def _count_batch(db: Session, vote_id: int, slips: list[_Slip]) -> list[Counted]:
    vote = db.get(Vote, vote_id)
    if vote is None:
        return [Counted(None, None, None) for _ in slips]
    devices = devices_of_meeting(db, vote, {s.device_token for s in slips if s.device_token})
    answers = []
    tablets = []
    for slip in slips:
        attendance = devices.get(slip.device_token)
        tablet = votes.TabletCast(attendance, slip.voter_key, slip.selection) if attendance else None
        if tablet is not None:
            tablets.append(tablet)
        answers.append(Counted(vote, attendance, tablet))
    if tablets:
        votes.cast_from_tablets(db, vote, tablets)
    # A refusal rolls back, which expires what the session loaded; the reply reads them after
    # this session has closed.
    for obj in (vote, *devices.values()):
        if inspect(obj).expired_attributes:
            db.refresh(obj)
    return answers


def devices_of_meeting(db: Session, vote: Vote, tokens: set[str]) -> dict[str, Attendance]:
    """The check-ins these device tokens hold at the vote's own meeting, by token.

    The guard that a ballot comes from a device of this vote's meeting: a device checked in at
    another meeting (or any device, for a vote that runs without a meeting) is not found here,
    so its ballot is refused whole (the view answers 403) before anything is counted."""
    if vote.meeting_id is None or not tokens:
        return {}
    rows = db.exec(select(Attendance).where(Attendance.meeting_id == vote.meeting_id,
                                            col(Attendance.device_token).in_(sorted(tokens))))
    return {a.device_token: a for a in rows if a.meeting_id == vote.meeting_id and a.device_token in tokens}

"""Closing votes at their closing time, in the background, so that no read has to write.

:func:`close_due` closes every open vote whose closing time has come, each in a session of its
own; :class:`VoteCloser` runs it every ``FORUM_VOTE_CLOSER_SECONDS`` in a thread the app's
lifespan starts and stops, and tells the live room of each vote it closed. Until it has run, a
vote past its closing time takes no ballot (:func:`forum.votes.lifecycle.castable`) and pages show
it as closing. Closing is a conditional update of an open vote, so two closers (two processes,
or the closer and a facilitator) close it once between them.

Every worker runs a closer; a round does anything only in the worker holding the ``vote-closer``
lease (:mod:`forum.lease`), so N workers do not all query for due votes every second, and the room
is told once. The same loop writes the day's notices (:class:`forum.notify.Notices`) under a lease
of their own, when given them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from forum import i18n
from forum.i18n import gettext
from forum.lease import Lease
from forum.models import Vote, VoteStatus, now
from forum.votes.choices import VoteRefused
from forum.votes.lifecycle import close_vote, is_due

log = logging.getLogger("forum.votes.closer")

EVERY_SECONDS = 1.0
LEASE_NAME = "vote-closer"
# How long a worker that died holds the duty before another takes it over: votes due meanwhile
# close that much later (taking no ballot meanwhile). Many rounds long, so a slow round keeps it.
LEASE_SECONDS = 15.0


def closer_lease(engine: Engine, every: float) -> Lease:
    return Lease(engine, LEASE_NAME, timedelta(seconds=max(LEASE_SECONDS, 5 * every)))


@dataclass
class Swept:
    """What one round of :func:`close_due` did."""

    closed: list[Vote] = field(default_factory=list)
    # Due but still open, with why: a show of hands to correct (VoteRefused, the console says so
    # when the facilitator closes it), or an unexpected error. Tried again next round.
    stuck: list[tuple[Vote, Exception]] = field(default_factory=list)


def close_due(engine: Engine, at: datetime | None = None) -> Swept:
    """Close every open vote whose closing time has come by ``at`` (default: now)."""
    at = at or now()
    swept = Swept()
    with Session(engine) as db:
        due = list(db.exec(select(Vote.id).where(Vote.status == VoteStatus.open, col(Vote.closes_at).is_not(None),
                                                 col(Vote.closes_at) <= at).order_by(Vote.id)))
    for vote_id in due:
        with Session(engine, expire_on_commit=False) as db:
            vote = db.get(Vote, vote_id)
            if vote is None or not is_due(vote, at):
                continue  # closed (or its time moved) since it was found
            try:
                if close_vote(db, vote, actor=gettext("Closing time"), lazy=True):
                    db.commit()
                    swept.closed.append(vote)
                else:
                    db.rollback()  # someone else closed it first
            except Exception as problem:  # noqa: BLE001 - one vote that cannot close must not hold up the others
                db.rollback()
                db.refresh(vote)  # as stored, for the caller after this session has closed
                swept.stuck.append((vote, problem))
    return swept


class VoteCloser:
    """Runs :func:`close_due` every ``every`` seconds in a thread of its own while at least one of
    the app's lifespans runs (a test may run several at once); ``changed(vote)`` is told of each
    vote it closes, and once of each it finds due but cannot close. It acts only while holding
    ``lease`` (by default the database's ``vote-closer`` lease) and gives it up when it stops.
    ``notices``, if given, is asked for its round after each of the closer's."""

    def __init__(self, engine: Engine, every: float, language: str,
                 changed: Callable[[Vote], None] = lambda _vote: None, *, lease: Lease | None = None,
                 notices: Callable[[], object] | None = None) -> None:
        self.engine = engine
        self.every = every
        self.language = language  # what it writes in words (the trail's "Closing time") is the installation's
        self.changed = changed
        self.lease = lease or closer_lease(engine, every)
        self.notices = notices
        self._lock = threading.Lock()
        self._users = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._told: set[int] = set()  # votes found stuck and told of already

    def start(self) -> None:
        with self._lock:
            self._users += 1
            if self._thread is not None:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name="forum-vote-closer",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """The lifespan ends: the last one to end stops the thread (after the round under way)."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users or self._thread is None:
                return
            thread, self._thread = self._thread, None
            self._stop.set()
        thread.join(timeout)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self, stop: threading.Event) -> None:
        i18n.set_language(self.language)
        # A round first after ``every``: the server is up by then, and a vote due while it was
        # down waits that long more, taking no ballot meanwhile.
        try:
            while not stop.wait(self.every):
                try:
                    self.round()
                except Exception:  # the database away for a moment: try again next round
                    log.exception("closing the votes that are due failed")
                if self.notices is not None:
                    try:
                        self.notices()
                    except Exception:
                        log.exception("writing the day's notices failed")
        finally:
            try:  # the next worker takes over at its next round rather than after the lease runs out
                self.lease.release()
            except Exception:  # noqa: BLE001 - the database gone at shutdown: the lease runs out instead
                log.warning("could not release the %s lease; it runs out by itself", self.lease.name)

    def round(self, at: datetime | None = None) -> Swept | None:
        """Close what is due if this worker holds the lease (taking or renewing it); None if another does."""
        if not self.lease.hold():
            return None
        return self.sweep(at)

    def sweep(self, at: datetime | None = None) -> Swept:
        """One round: close what is due, and tell the room."""
        swept = close_due(self.engine, at)
        for vote in swept.closed:
            self._told.discard(vote.id)
            self.changed(vote)
        for vote, problem in swept.stuck:
            if vote.id in self._told:
                continue
            self._told.add(vote.id)
            # Shown as closing meanwhile; the facilitator's console says why when they close it.
            if not isinstance(problem, VoteRefused):
                log.error("vote %s is past its closing time and could not be closed", vote.id, exc_info=problem)
            self.changed(vote)
        return swept

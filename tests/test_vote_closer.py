"""Votes are closed at their closing time by the app's closer, never by a read; the lifespan starts
and stops the closer and the ballot box's thread."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import votes
from forum.app import create_app
from forum.models import Vote, VoteAudit, VoteStatus, now
from forum.votes import lifecycle
from tests import test_votes
from tests.conftest import _settings, sign_in
from tests.test_hands import hands
from tests.test_votes import cast, open_vote_in, tablet, zh

db, room = test_votes.db, test_votes.room  # the fixtures: a session on the demo, the lift meeting checked in

AT = datetime(2030, 1, 1, 10, 0)


def set_closing(db: Session, vote_id: int, at: datetime | None) -> None:
    # Through the ORM, as the form stores it: the closer's query compares the stored text.
    vote = db.get(Vote, vote_id)
    vote.closes_at = at
    db.add(vote)
    db.commit()


def stored(db: Session, vote_id: int) -> Vote:
    db.expire_all()
    return db.get(Vote, vote_id)


def closings(db: Session, vote_id: int) -> int:
    return len(db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "close")).all())


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize(("status", "closes_at", "due", "castable", "shown"), [
    (VoteStatus.open, None, False, True, "open"),
    (VoteStatus.open, AT + timedelta(minutes=1), False, True, "open"),
    (VoteStatus.open, AT, True, False, "closing"),  # at the closing minute itself, no more ballots
    (VoteStatus.open, AT - timedelta(minutes=1), True, False, "closing"),
    (VoteStatus.closed, AT - timedelta(minutes=1), False, False, "closed"),
    (VoteStatus.draft, AT - timedelta(minutes=1), False, False, "draft"),
])
def test_when_a_vote_takes_ballots(status, closes_at, due, castable, shown):
    vote = Vote(community_id=1, question="?", kind="for_against", status=status, closes_at=closes_at)
    assert lifecycle.is_due(vote, AT) is due
    assert lifecycle.castable(vote, AT) is castable
    assert lifecycle.shown_status(vote, AT) == shown


# ---------------------------------------------------------------- close_due


def test_a_due_vote_is_closed_and_counted(demo_engine, db, room):
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    with Session(demo_engine) as s:
        votes.cast(s, s.get(Vote, vote_id), f"p{people[0].person_id}", ["for"], via="paper", cast_by="test",
                   paper_serial="A-1")
    set_closing(db, vote_id, AT)
    swept = votes.close_due(demo_engine, AT)
    assert [v.id for v in swept.closed] == [vote_id] and not swept.stuck
    vote = stored(db, vote_id)
    assert vote.status == VoteStatus.closed and vote.result
    assert votes.tally_result(db, vote)["ballots"] == 1
    assert closings(db, vote_id) == 1


def test_a_vote_not_yet_due_stays_open(demo_engine, db, room):
    meeting, entry, _people, _guest = room
    later = open_vote_in(demo_engine, meeting, entry)
    set_closing(db, later, AT + timedelta(minutes=1))
    by_facilitator = open_vote_in(demo_engine, meeting, entry, question="第二题")  # no closing time
    swept = votes.close_due(demo_engine, AT)
    assert not swept.closed and not swept.stuck
    assert stored(db, later).status == stored(db, by_facilitator).status == VoteStatus.open
    assert closings(db, later) == closings(db, by_facilitator) == 0


def test_a_closed_vote_stays_as_it_was_closed(demo_engine, db, room):
    meeting, entry, _people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    with Session(demo_engine) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="主持人")
        s.commit()
    set_closing(db, vote_id, AT - timedelta(minutes=5))
    before = stored(db, vote_id)
    closed_at, closed_by, result = before.closed_at, before.closed_by, before.result
    assert not votes.close_due(demo_engine, AT).closed
    after = stored(db, vote_id)
    assert (after.closed_at, after.closed_by, after.result) == (closed_at, closed_by, result)
    assert closings(db, vote_id) == 1


def test_closing_twice_is_harmless(demo_engine, db, room):
    meeting, entry, _people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    set_closing(db, vote_id, AT)
    assert len(votes.close_due(demo_engine, AT).closed) == 1
    assert votes.close_due(demo_engine, AT + timedelta(minutes=1)).closed == []
    assert closings(db, vote_id) == 1


def test_two_closers_at_once_close_a_vote_once(demo_engine, db, room):
    """Two processes' closers (or the closer and the facilitator) racing: the conditional update
    lets one of them close it."""
    meeting, entry, _people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    set_closing(db, vote_id, AT)
    barrier, closed = threading.Barrier(4), []

    def sweep() -> None:
        barrier.wait(10)
        closed.extend(v.id for v in votes.close_due(demo_engine, AT).closed)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert closed == [vote_id]
    assert closings(db, vote_id) == 1


def test_a_secret_vote_closes_with_the_ballots_that_were_waiting(demo_engine, db, room):
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    batch = [votes.TabletCast(a, "", ["against"]) for a in people[:2]]
    with Session(demo_engine, expire_on_commit=False) as s:
        votes.cast_from_tablets(s, s.get(Vote, vote_id), batch)
    assert [t.outcome.outcome for t in batch] == ["received"] * 2
    set_closing(db, vote_id, AT)
    assert len(votes.close_due(demo_engine, AT).closed) == 1
    totals = {t["key"]: t["heads"] for t in votes.tally_result(db, stored(db, vote_id))["totals"]}
    assert totals == {"for": 0, "against": 2, "abstain": 0}


def test_a_due_vote_that_cannot_be_counted_stays_open_and_is_told_once(app, facilitator, db, room):
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(app.state.engine, meeting, entry)
    assert hands(facilitator, vote_id, **{"for": 5}).status_code == 303
    with Session(app.state.engine) as s:
        votes.cast(s, s.get(Vote, vote_id), f"p{people[0].person_id}", ["against"], via="paper", cast_by="t",
                   paper_serial="B-1")
    set_closing(db, vote_id, AT)
    told = []
    closer = votes.VoteCloser(app.state.engine, 60, "zh-Hans", changed=told.append)
    for minute in range(2):
        swept = closer.sweep(AT + timedelta(minutes=minute))
        assert not swept.closed and [(v.id, e.code) for v, e in swept.stuck] == [(vote_id, "too_many_hands")]
    assert [v.id for v in told] == [vote_id]  # the room shows it as closing, once
    assert stored(db, vote_id).status == VoteStatus.open
    assert hands(facilitator, vote_id, **{"for": 4}).status_code == 303
    assert [v.id for v in closer.sweep(AT).closed] == [vote_id]
    assert [v.id for v in told] == [vote_id, vote_id]


# ---------------------------------------------------------------- reads never write


def test_pages_show_a_vote_past_its_time_as_closing_and_write_nothing(demo_engine, db, room):
    meeting, entry, people, _guest = room
    # A closer that waits a minute before its first round: nothing but the test closes the vote.
    app = create_app(replace(_settings(), vote_closer_seconds=60), engine=demo_engine)
    vote_id = open_vote_in(demo_engine, meeting, entry)
    with TestClient(app) as staff:
        sign_in(staff, "facilitator")
        pad = tablet(app, people[0])
        set_closing(db, vote_id, now() - timedelta(minutes=1))
        page = BeautifulSoup(staff.get(f"/votes/{vote_id}").text, "html.parser")
        assert page.select_one(".page-head .status").get_text(strip=True) == zh("Closing")
        assert "vote-closing" in page.select_one(".page-head .status")["class"]
        assert staff.get(f"/votes/{vote_id}/result.json").json()["status"] == "open"  # as stored
        ballot = BeautifulSoup(pad.get(f"/votes/{vote_id}/ballot").text, "html.parser")
        assert not ballot.select("button[name=choice]")
        assert ballot.select_one(".ballot-region .notice").get_text(strip=True) == zh(
            "The closing time has passed: this vote takes no more ballots, and its result is shown once it is "
            "counted.")
        room_page = BeautifulSoup(pad.get(f"/meetings/{meeting.id}/tablet").text, "html.parser")
        assert not room_page.select("#room-vote button[name=choice]")
        for path in (f"/meetings/{meeting.id}/run", f"/meetings/{meeting.id}/screen",
                     f"/meetings/{meeting.id}/minutes"):
            assert staff.get(path).status_code == 200
        assert stored(db, vote_id).status == VoteStatus.open and closings(db, vote_id) == 0
        assert cast(pad, vote_id, f"p{people[0].person_id}", "for").status_code == 409  # and none is taken
        votes.close_due(demo_engine)
        assert staff.get(f"/votes/{vote_id}/result.json").json()["status"] == "closed"


# ---------------------------------------------------------------- the lifespan


def closer_threads() -> int:
    return sum(t.name == "forum-vote-closer" and t.is_alive() for t in threading.enumerate())


def test_the_lifespan_runs_the_closer_and_stops_it_and_the_ballot_box(demo_engine, db, room, monkeypatch):
    meeting, entry, people, _guest = room
    app = create_app(replace(_settings(), vote_closer_seconds=0.1), engine=demo_engine)
    pushed = []
    monkeypatch.setattr(app.state.hub, "changed", lambda meeting_id, *parts: pushed.append((meeting_id, parts)))
    vote_id = open_vote_in(demo_engine, meeting, entry)
    closer = app.state.vote_closer
    before = closer_threads()
    with TestClient(app), TestClient(app):  # two lifespans at once share one closer
        assert cast(tablet(app, people[0]), vote_id, f"p{people[0].person_id}", "for").status_code == 200
        box = app.state.ballot_box._thread
        assert box is not None and box.is_alive()
        thread = closer._thread
        assert closer.running
        set_closing(db, vote_id, now() - timedelta(minutes=1))
        deadline = time.monotonic() + 10
        while stored(db, vote_id).status != VoteStatus.closed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored(db, vote_id).status == VoteStatus.closed
        assert (meeting.id, ("vote", "shared_tablet")) in pushed
    assert not closer.running and not thread.is_alive() and closer_threads() == before
    assert app.state.ballot_box._thread is None and not box.is_alive()

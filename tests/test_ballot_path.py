"""The guards on the path a binding ballot takes, each tested where a mistake would decide a vote:
whose device is counted, whose proxy is accepted, what the shared tablet takes, who is eligible.

Each test here was seen to fail with the guard it names taken out (tools/mutate.py plants most
of them again). They go through the votes module's public functions, the ballot box and the HTTP
routes, not private helpers, so they hold while the ballot path's insides change.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event, text
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import votes
from forum.ballot_box import BallotBox
from forum.models import (
    AgendaEntry,
    Household,
    Meeting,
    Ownership,
    Person,
    Vote,
    VoteAudit,
    VoteElector,
    VoteProxy,
    VoteStatus,
)
from forum.votes import casting
from tests import test_votes
from tests.conftest import sign_in
from tests.test_votes import (
    cast,
    check_in,
    create,
    form_for_meeting,
    lift_issue,
    lift_meeting,
    open_,
    open_vote_in,
    owners_of_unit,
    result,
    result_heads,
    tablet,
    unit_households,
    zh,
)

db = test_votes.db  # the fixtures: a session on the demo, and the lift meeting with four owners and a guest
room = test_votes.room


def other_meeting(db: Session, meeting: Meeting) -> Meeting:
    """Another meeting of the same community: a device checked in there is not checked in here."""
    return db.exec(select(Meeting).where(Meeting.community_id == meeting.community_id,
                                         Meeting.id != meeting.id).order_by(Meeting.id)).first()


def count_rows(db: Session, table: str, vote_id: int) -> int:
    return db.execute(text(f"SELECT count(*) FROM {table} WHERE vote_id = :v"), {"v": vote_id}).scalar()


def held_box(engine, monkeypatch, **options) -> tuple[BallotBox, threading.Event, threading.Event, list[list]]:
    """A ballot box whose first batch waits at ``gate`` once it has begun (``entered``), so what is
    handed in meanwhile queues up; records each batch's (vote id, size)."""
    entered, gate, batches = threading.Event(), threading.Event(), []
    real = votes.cast_from_tablets

    def counting(db_, vote, batch):
        batches.append((vote.id, len(batch)))
        if len(batches) == 1:
            entered.set()
            assert gate.wait(10), "the test never opened the gate"
        real(db_, vote, batch)

    monkeypatch.setattr(votes, "cast_from_tablets", counting)
    return BallotBox(engine, "zh-Hans", **options), entered, gate, batches


async def hand_in_while_busy(box, entered, gate, first: tuple[int, str, str], rest: list[tuple[int, str, str]],
                             timeout: float = 10.0):
    """Hand in ``first``; once the box is counting it, hand in ``rest`` (all queue behind it), then
    let the box go on. Returns every answer, in the order handed in. The timeout only guards a hang."""
    async with asyncio.timeout(timeout):
        head = asyncio.ensure_future(box.cast(first[0], first[1], "", [first[2]]))
        await asyncio.to_thread(entered.wait, timeout)
        tail = [asyncio.ensure_future(box.cast(v, token, "", [choice])) for v, token, choice in rest]
        await asyncio.sleep(0)  # each task runs up to its wait, so every slip is in the box's queue
        gate.set()
        return await asyncio.gather(head, *tail)


# ---------------------------------------------------------------- the box's thread at shutdown


class Watched(threading.Condition):
    """The box's condition, telling when its thread waits on it (has nothing left to count)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_stopping_the_box_counts_what_was_handed_in_then_ends_its_thread(demo_engine, db, room, run_async):
    """Planted: stop() not waking the thread: it slept on for its idle time and shutdown waited.
    (First in this file, so that bug fails here in seconds rather than slowing every test after.)"""
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    box = BallotBox(demo_engine, "zh-Hans")
    box._ready = Watched()  # to know when the box's thread has gone idle, instead of sleeping a while

    async def hand_in_then_stop():
        async with asyncio.timeout(20):
            first = await box.cast(vote_id, people[0].device_token, "", ["for"])
            assert await asyncio.to_thread(box._ready.waiting.wait, 10)
            idle = box._thread  # counted its batch, now waiting for the next
            await asyncio.to_thread(box.stop, 5)
            assert not idle.is_alive(), "stop() left an idle thread waiting"
            # Slips handed in just before a stop are counted before the thread ends.
            pending = [asyncio.ensure_future(box.cast(vote_id, a.device_token, "", ["for"])) for a in people[1:]]
            await asyncio.sleep(0)  # all handed in
            busy = box._thread
            await asyncio.to_thread(box.stop, 5)
            return busy, [first, *await asyncio.gather(*pending)]

    thread, answers = run_async(hand_in_then_stop())
    assert [a.tablet.outcome.outcome for a in answers] == ["counted"] * 4
    assert not thread.is_alive()
    assert result_heads(demo_engine, vote_id)["for"] == 4


# ---------------------------------------------------------------- whose device is counted


def test_a_device_checked_in_at_another_meeting_casts_nothing_here(app, facilitator, db, room):
    """Planted: the ballot box's meeting filter removed: the stranger's ballot was counted (and they
    were added to the electorate as a late arrival)."""
    meeting, entry, people, _guest = room
    elsewhere = check_in(db, other_meeting(db, meeting), None, "邻社区来宾")
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    eligible = result(facilitator, vote_id)["eligible"]
    refused = cast(tablet(app, elsewhere), vote_id, "", "for")
    assert refused.status_code == 403
    assert result(facilitator, vote_id)["ballots"] == 0
    assert result(facilitator, vote_id)["eligible"] == eligible
    assert count_rows(db, "votereceipt", vote_id) == 0 and count_rows(db, "voteelector", vote_id) == eligible


def test_the_ballot_box_refuses_a_device_of_another_meeting_in_a_batch(demo_engine, db, room, run_async):
    meeting, entry, people, _guest = room
    elsewhere = check_in(db, other_meeting(db, meeting), None, "邻社区来宾")
    vote_id = open_vote_in(demo_engine, meeting, entry)
    box = BallotBox(demo_engine, "zh-Hans")

    async def both():
        return await asyncio.gather(box.cast(vote_id, people[0].device_token, "", ["for"]),
                                    box.cast(vote_id, elsewhere.device_token, "", ["for"]))

    mine, stranger = run_async(both())
    box.stop()
    assert mine.tablet.outcome.outcome == "counted"
    assert stranger.vote is not None and stranger.attendance is None and stranger.tablet is None
    assert result_heads(demo_engine, vote_id)["for"] == 1


# ---------------------------------------------------------------- the ballot box's batches


def test_slips_beyond_the_batch_limit_wait_for_the_next_batch(demo_engine, db, monkeypatch, run_async):
    """Planted: the slips past the limit dropped from the queue: their requests never answered."""
    meeting, entry = lift_meeting(db)
    hall = [check_in(db, meeting, None, f"来宾{i}") for i in range(11)]
    vote_id = open_vote_in(demo_engine, meeting, entry)
    box, entered, gate, batches = held_box(demo_engine, monkeypatch, batch_max=3)
    answers = run_async(hand_in_while_busy(box, entered, gate, (vote_id, hall[0].device_token, "for"),
                                           [(vote_id, a.device_token, "against") for a in hall[1:]]))
    box.stop()
    assert [a.tablet.outcome.outcome for a in answers] == ["counted"] * 11
    assert [size for _vote, size in batches] == [1, 3, 3, 3, 1]
    assert result_heads(demo_engine, vote_id) == {"for": 1, "against": 10, "abstain": 0}


def test_a_batch_mixing_two_votes_counts_each_slip_in_its_own_vote(demo_engine, db, monkeypatch, run_async):
    """Planted: a batch counted against its first slip's vote: the second vote got nothing."""
    meeting, entry = lift_meeting(db)
    people = [check_in(db, meeting, p) for p in owners_of_unit(db)[:3]]
    first = open_vote_in(demo_engine, meeting, entry)
    second = open_vote_in(demo_engine, meeting, entry, question="第二个问题？")
    box, entered, gate, batches = held_box(demo_engine, monkeypatch)
    rest = [(first, people[1].device_token, "against"), (second, people[0].device_token, "for"),
            (second, people[1].device_token, "for"), (first, people[2].device_token, "abstain"),
            (second, people[2].device_token, "against")]
    answers = run_async(hand_in_while_busy(box, entered, gate, (first, people[0].device_token, "for"), rest))
    box.stop()
    assert [a.vote.id for a in answers] == [first, first, second, second, first, second]
    assert [a.tablet.outcome.outcome for a in answers] == ["counted"] * 6
    assert sorted(batches[1:]) == sorted([(first, 2), (second, 3)])  # one batch, counted per vote
    assert result_heads(demo_engine, first) == {"for": 1, "against": 1, "abstain": 1}
    assert result_heads(demo_engine, second) == {"for": 2, "against": 1, "abstain": 0}


# ---------------------------------------------------------------- the single-cast path


def test_a_ballot_for_a_vote_closed_meanwhile_is_refused_under_the_write_lock(demo_engine, db, room):
    """The caller's copy of the vote still says open; the database says closed. Planted: the
    re-check under the write lock removed: the ballot landed after the result was frozen."""
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    with Session(demo_engine, expire_on_commit=False) as caster:
        stale = caster.get(Vote, vote_id)
        key = f"p{people[0].person_id}"
        with Session(demo_engine, expire_on_commit=False) as other:
            assert votes.close_vote(other, other.get(Vote, vote_id), actor="test")
            other.commit()
        assert stale.status == VoteStatus.open
        with pytest.raises(votes.VoteRefused) as refused:
            votes.cast(caster, stale, key, ["for"], via="paper", cast_by="test", paper_serial="A-1")
    assert refused.value.code == "not_open"
    assert count_rows(db, "votereceipt", vote_id) == 0 and count_rows(db, "ballot", vote_id) == 0
    assert count_rows(db, "paperserial", vote_id) == 0


# ---------------------------------------------------------------- the shared tablet


def kiosk_nonce(client: TestClient, vote_id: int) -> str:
    page = BeautifulSoup(client.get(f"/votes/{vote_id}/shared-tablet").text, "html.parser")
    return page.select_one("input[name=nonce]")["value"]


def test_the_shared_tablet_refuses_a_ballot_opened_for_the_previous_voter(app, facilitator, db, room):
    """The facilitator opened the tablet for the next voter; a ballot sent with the previous
    voter's key must not be counted as the next voter's. Planted: the nonce comparison removed."""
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"p{people[0].person_id}"})
    previous = kiosk_nonce(facilitator, vote_id)
    facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"p{people[1].person_id}"})
    current = kiosk_nonce(facilitator, vote_id)
    assert current != previous
    for nonce in (previous, "forged-nonce", ""):
        stale = facilitator.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "against"})
        assert stale.status_code == 422
        assert BeautifulSoup(stale.text, "html.parser").select_one("[role=alert]").get_text(strip=True) == zh(
            "This ballot is no longer open on this tablet; ask the facilitator.")
    assert result(facilitator, vote_id)["ballots"] == 0
    db.expire_all()
    assert db.get(Vote, vote_id).kiosk_voter == f"p{people[1].person_id}"  # still open for the next voter
    assert facilitator.post(f"/votes/{vote_id}/shared-tablet/cast",
                            data={"nonce": current, "choice": "for"}).status_code == 200
    assert result(facilitator, vote_id)["ballots"] == 1
    assert count_rows(db, "ballot", vote_id) == 1
    assert db.execute(text("SELECT voter_key FROM ballot WHERE vote_id = :v"), {"v": vote_id}).scalar() == \
        f"p{people[1].person_id}"


def test_another_communitys_facilitator_cannot_make_a_shared_tablet_here(app, db):
    """Planted: the shared-tablet set-up checked the role but not the community."""
    own = lift_issue(db).community_id
    foreign = db.exec(select(Meeting).where(Meeting.community_id != own).order_by(Meeting.id)).first()
    with TestClient(app) as device:
        sign_in(device, "facilitator")  # the lift community's facilitator
        refused = device.post(f"/meetings/{foreign.id}/shared-tablet", follow_redirects=False)
        assert refused.status_code == 403
        # Nothing changed on the device: still that facilitator, and not the other meeting's shared tablet.
        assert device.get(f"/meetings/{foreign.id}/shared-tablet", follow_redirects=False).status_code == 403
        from starlette.websockets import WebSocketDisconnect

        with pytest.raises(WebSocketDisconnect):
            with device.websocket_connect(f"/meetings/{foreign.id}/ws?audience=shared_tablet") as ws:
                ws.receive_text()
        own_meeting, _entry = lift_meeting(db)
        assert device.get(f"/meetings/{own_meeting.id}/run", follow_redirects=False).status_code == 200


# ---------------------------------------------------------------- who is eligible


def test_a_person_counted_unit_vote_counts_the_units_owners_and_no_tenant(app, facilitator, db):
    """Planted: the owner filter of a person-counted household scope dropped: a tenant was eligible."""
    households = unit_households(db)
    tenant = Person(name="租户小刘", household_id=households[-1].id)  # lives there, owns nothing
    db.add(tenant)
    db.commit()
    meeting, entry = lift_meeting(db)
    vote_id = create(facilitator, meeting, entry, scope="unit", scope_building="5", scope_unit="2",
                     counting_unit="person")
    open_(facilitator, vote_id)
    # Each person owning a unit of the stairwell, once (the developer's unsold units have none).
    owners = db.exec(select(Person).join(Ownership, Ownership.person_id == Person.id)
                     .where(Ownership.household_id.in_([h.id for h in households if not h.developer_held]))
                     .distinct()).all()
    assert owners and tenant.id not in {p.id for p in owners}
    electors = db.exec(select(VoteElector).where(VoteElector.vote_id == vote_id)).all()
    assert {e.voter_key for e in electors} == {f"p{p.id}" for p in owners}
    assert f"p{tenant.id}" not in {e.voter_key for e in electors}
    assert result(facilitator, vote_id)["eligible"] == len(owners)
    # The tenant's tablet has no ballot here.
    pad = tablet(app, check_in(db, meeting, tenant))
    assert cast(pad, vote_id, "", "for").status_code == 422
    assert result(facilitator, vote_id)["ballots"] == 0


def test_an_owners_rule_with_one_ballot_per_person_is_refused_by_the_form_with_its_reason(facilitator, db):
    """Planted: the form's counting-unit check dropped: a later check refused it for 'no floor area'."""
    issue = lift_issue(db)
    data = {"question": "加装电梯方案是否通过？", "kind": "for_against", "options": "", "scope": "unit",
            "scope_building": "5", "scope_unit": "2", "counting_unit": "person", "weighting": "head",
            "rule": "owners_major", "closing": "facilitator", "closes_at": ""}
    before = len(votes.votes_of_issue(db, issue.id))
    r = facilitator.post(f"/issues/{issue.id}/votes", data=data)
    assert r.status_code == 422
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.select_one("#rule-error").get_text(strip=True) == zh(
        "The owners' rules count every household of a building, unit or community (one ballot per household); "
        "choose that scope and counting unit.")
    assert soup.select_one("#f-question").text == data["question"]  # what they typed is kept
    assert len(votes.votes_of_issue(db, issue.id)) == before


# ---------------------------------------------------------------- proxies


def proxy(facilitator, vote_id: int, principal: str, holder_id: int):
    return facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": principal, "holder": str(holder_id)})


def test_no_proxy_for_a_voter_who_has_voted(app, facilitator, db, room):
    """Planted: the has-voted check removed: the proxy was recorded, and its holder saw a second ballot."""
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    principal = f"p{people[1].person_id}"
    assert cast(tablet(app, people[1]), vote_id, principal, "for").status_code == 200
    refused = proxy(facilitator, vote_id, principal, people[0].id)
    assert refused.status_code == 422
    error = BeautifulSoup(refused.text, "html.parser").select_one("#principal-error")
    assert error.get_text(strip=True) == zh("This voter has voted already.")
    assert db.exec(select(VoteProxy).where(VoteProxy.vote_id == vote_id)).all() == []
    page = BeautifulSoup(tablet(app, people[0]).get(f"/votes/{vote_id}/ballot").text, "html.parser")
    assert {i["value"] for i in page.select("input[name=voter]")} <= {f"p{people[0].person_id}"}
    assert result(facilitator, vote_id)["ballots"] == 1


def test_a_proxy_holder_must_be_checked_in_at_this_meeting(app, facilitator, db, room):
    """Planted: the holder's meeting check removed: a person checked in elsewhere held the proxy."""
    meeting, entry, people, _guest = room
    elsewhere = check_in(db, other_meeting(db, meeting), None, "邻社区来宾")
    vote_id = create(facilitator, meeting, entry)
    principal = f"p{people[1].person_id}"
    for status in ("draft", "open"):
        refused = proxy(facilitator, vote_id, principal, elsewhere.id)
        assert refused.status_code == 422, status
        error = BeautifulSoup(refused.text, "html.parser").select_one("#holder-error")
        assert error.get_text(strip=True) == zh("Choose a person checked in at this meeting to hold the proxy.")
        assert db.exec(select(VoteProxy).where(VoteProxy.vote_id == vote_id)).all() == []
        if status == "draft":
            open_(facilitator, vote_id)
    # The principal keeps their own ballot.
    assert cast(tablet(app, people[1]), vote_id, principal, "for").status_code == 200
    assert result(facilitator, vote_id)["ballots"] == 1


def test_a_tablet_in_a_batch_gets_no_ballot_of_a_proxy_another_tablet_holds(demo_engine, db, room):
    """Planted: the holder check of a tablet's ballots dropped: in a batch with the holder, every
    tablet could cast the principal's ballot."""
    meeting, entry, people, guest = room
    principal = f"p{people[3].person_id}"
    vote_id = open_vote_in(demo_engine, meeting, entry, proxy=(principal, people[2]))
    batch = [votes.TabletCast(people[2], "", ["for"]),  # the holder, for itself
             votes.TabletCast(guest, principal, ["against"]),  # not the holder
             votes.TabletCast(people[0], principal, ["against"])]  # nor this one
    with Session(demo_engine, expire_on_commit=False) as s:
        votes.cast_from_tablets(s, s.get(Vote, vote_id), batch)
    assert batch[0].outcome.outcome == "counted"
    assert [t.refused.code for t in batch[1:]] == ["ineligible", "ineligible"]
    assert [b.voter_key for b in batch[0].mine] == [f"p{people[2].person_id}", principal]
    assert all(b.voter_key != principal for t in batch[1:] for b in t.mine)
    assert result_heads(demo_engine, vote_id) == {"for": 1, "against": 0, "abstain": 0}
    with Session(demo_engine) as s:
        assert not votes.has_voted(s, s.get(Vote, vote_id), principal)


def test_agenda_entry_of_another_meeting_is_not_a_vote_form_choice(facilitator, db):
    """(The vote form's entry guard.) A vote on another meeting's agenda entry is refused, nothing stored."""
    meeting, entry = lift_meeting(db)
    foreign = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id != meeting.id)).first()
    before = len(votes.votes_of_meeting(db, meeting.id))
    r = facilitator.post(f"/meetings/{meeting.id}/votes", data=form_for_meeting(entry, agenda_entry=str(foreign.id)))
    assert r.status_code == 422
    assert len(votes.votes_of_meeting(db, meeting.id)) == before


# ---------------------------------------------------------------- the closing time, at its minute


def test_a_closing_time_must_be_after_the_minute_it_is_set_in(db):
    """Planted: ``<=`` turned ``<``: a vote set up to close at this very minute was accepted."""
    meeting, entry = lift_meeting(db)
    at = datetime(2030, 1, 1, 10, 0)
    for closes_at, refused in (("2030-01-01T10:00", True), ("2030-01-01T10:01", False)):
        vote, errors = votes.create_vote(db, form_for_meeting(entry, closing="time", closes_at=closes_at),
                                         community_id=meeting.community_id, meeting=meeting, issue=None,
                                         actor="test", at=at)
        assert ("closes_at" in errors) is refused and (vote is None) is refused
        db.rollback()


def test_a_vote_is_closed_at_its_closing_time_not_a_moment_later(demo_engine, db, room, monkeypatch):
    """Planted: ``<=`` turned ``<``: a ballot cast at the closing minute itself was still counted."""
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    closing = datetime(2030, 1, 1, 10, 0)
    db.execute(text("UPDATE vote SET closes_at = :t WHERE id = :id"), {"t": closing, "id": vote_id})
    db.commit()
    monkeypatch.setattr(casting, "now", lambda: closing)
    with Session(demo_engine, expire_on_commit=False) as s:
        with pytest.raises(votes.VoteRefused) as refused:
            votes.cast(s, s.get(Vote, vote_id), f"p{people[0].person_id}", ["for"], via="paper", cast_by="test",
                       paper_serial="A-2")
    assert refused.value.code == "not_open"
    votes.close_due(demo_engine, closing)  # what the app's closer does within a second
    db.expire_all()
    assert db.get(Vote, vote_id).status == VoteStatus.closed
    assert count_rows(db, "votereceipt", vote_id) == 0


# ---------------------------------------------------------------- opening and closing, once


def test_no_ballot_before_a_vote_opens_and_none_after_it_closes(demo_engine, db, room):
    """Planted: the status check at the top of a cast removed: a draft vote answered 'not eligible',
    and a secret vote's voter casting again after the close was told their ballot was counted."""
    meeting, entry, people, _guest = room
    key = f"p{people[0].person_id}"
    with Session(demo_engine, expire_on_commit=False) as s:
        draft, errors = votes.create_vote(s, form_for_meeting(entry, secret="on"), community_id=meeting.community_id,
                                          meeting=meeting, issue=None, actor="test")
        s.commit()
        with pytest.raises(votes.VoteRefused) as refused:
            votes.cast(s, draft, key, ["for"], via="kiosk", cast_by="test")
        assert refused.value.code == "not_open"
        votes.open_vote(s, draft, actor="test")
        s.commit()
        # A secret ballot is held until it can be written with others' (forum.secrecy), or the close.
        assert votes.cast(s, draft, key, ["for"], via="kiosk", cast_by="test").outcome in ("received", "counted")
        assert votes.close_vote(s, draft, actor="test")
        s.commit()
        with pytest.raises(votes.VoteRefused) as refused:
            votes.cast(s, draft, key, ["against"], via="kiosk", cast_by="test")
        assert refused.value.code == "not_open"
    assert result_heads(demo_engine, draft.id) == {"for": 1, "against": 0, "abstain": 0}


def test_a_vote_is_closed_and_counted_once(facilitator, db, room):
    """Planted: the closed-already check removed: a second close counted again and wrote a second
    result to the record and the issue's timeline."""
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    facilitator.post(f"/votes/{vote_id}/close", follow_redirects=False)
    db.expire_all()
    first = db.get(Vote, vote_id)
    frozen, closed_at = first.result, first.closed_at
    again = facilitator.post(f"/votes/{vote_id}/close")  # a second facilitator's click, say
    assert again.status_code == 422
    with pytest.raises(votes.VoteRefused) as refused:
        votes.close_vote(db, db.get(Vote, vote_id), actor="test")
    assert refused.value.code == "not_open"
    db.rollback()
    db.expire_all()
    assert (db.get(Vote, vote_id).result, db.get(Vote, vote_id).closed_at) == (frozen, closed_at)
    closes = db.execute(text("SELECT count(*) FROM voteaudit WHERE vote_id = :v AND action = 'close'"),
                        {"v": vote_id}).scalar()
    notes = db.execute(text("SELECT count(*) FROM issueevent WHERE issue_id = :i AND action = 'vote'"),
                       {"i": first.issue_id}).scalar()
    assert (closes, notes) == (1, 1)


# ---------------------------------------------------------------- one of each, and weights


def test_one_proxy_per_voter(app, facilitator, db, room):
    """Planted: the recorded-already check removed: the second proxy failed on the key, a 500."""
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry)
    principal = f"p{people[1].person_id}"
    assert proxy(facilitator, vote_id, principal, people[0].id).status_code == 200
    second = proxy(facilitator, vote_id, principal, guest.id)
    assert second.status_code == 422
    error = BeautifulSoup(second.text, "html.parser").select_one("#principal-error")
    assert error.get_text(strip=True) == zh("A proxy for this voter is recorded already.")
    db.expire_all()
    held = db.exec(select(VoteProxy).where(VoteProxy.vote_id == vote_id)).all()
    assert [(p.principal_key, p.holder_attendance_id) for p in held] == [(principal, people[0].id)]


def test_the_shared_tablet_is_not_opened_for_a_voter_who_has_voted(app, facilitator, db, room):
    """Planted: the has-voted check removed: the tablet showed a ballot that could only be refused."""
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    key = f"p{people[0].person_id}"
    assert cast(tablet(app, people[0]), vote_id, key, "for").status_code == 200
    refused = facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": key})
    assert refused.status_code == 422
    error = BeautifulSoup(refused.text, "html.parser").select_one("#shared-tablet-voter-error")
    assert error.get_text(strip=True) == zh("This voter has voted already.")
    db.expire_all()
    assert (db.get(Vote, vote_id).kiosk_voter, db.get(Vote, vote_id).kiosk_nonce) == (None, None)


def test_a_batch_adds_each_households_floor_area(demo_engine, db, room):
    """Planted: a batch's area sums took heads for square metres."""
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, counting_unit="household", weighting="both")
    for a in people:  # a household's ballot is binding: its residents are verified at the desk
        a.verified = True
        db.add(a)
    db.commit()
    batch = [votes.TabletCast(a, "", [c]) for a, c in zip(people, ["for", "for", "against", "abstain"], strict=True)]
    with Session(demo_engine, expire_on_commit=False) as s:
        votes.cast_from_tablets(s, s.get(Vote, vote_id), batch)
    assert [t.outcome.outcome for t in batch] == ["counted"] * 4
    with Session(demo_engine) as s:
        vote = s.get(Vote, vote_id)
        live, exact = votes.tally_result(s, vote), votes.tally_result(s, vote, exact=True)
    assert live == exact
    areas = {a.household_id: db.get(Household, a.household_id).floor_area for a in people}
    expected_for = sum(areas[a.household_id] for a in people[:2])
    for_total = next(t for t in live["totals"] if t["key"] == "for")
    assert Decimal(for_total["area"]) == expected_for and for_total["heads"] == 2


def test_a_blank_ballot_is_refused_where_one_answer_is_asked(app, facilitator, db, room):
    """Planted: 'exactly one' loosened to 'at most one': a blank for/against ballot crashed the count."""
    meeting, entry, people, _guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    blank = cast(tablet(app, people[0]), vote_id, "")
    assert blank.status_code == 422
    assert BeautifulSoup(blank.text, "html.parser").select_one("[role=alert]").get_text(strip=True) == zh(
        "Choose exactly one answer.")
    assert result(facilitator, vote_id)["ballots"] == 0 and count_rows(db, "votereceipt", vote_id) == 0


def test_a_show_of_hands_is_a_bounded_whole_number(demo_engine, db, room):
    """Planted: the upper bound dropped: a mistyped count was taken for a count to compare with."""
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    with Session(demo_engine, expire_on_commit=False) as s:
        vote = s.get(Vote, vote_id)
        for typed in ("100001", "-1", "三"):
            errors = votes.set_hands(s, vote, {"for": typed}, actor="test")
            assert errors == {"hands-for": zh("A whole number of hands, 0 or more.")}, typed
        s.rollback()
    db.expire_all()
    assert db.get(Vote, vote_id).hands == ""


# ---------------------------------------------------------------- late arrivals, in the batch's transaction


def test_late_arrivals_join_with_their_batch_in_one_transaction(demo_engine, db, room):
    """Planted: the late arrivals committed on their own before the ballots (as they once were, in
    the middle of the batch): two commits."""
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry)
    eligible = count_rows(db, "voteelector", vote_id)
    late = [check_in(db, meeting, p) for p in owners_of_unit(db)[4:6]]
    batch = [votes.TabletCast(a, "", ["for"]) for a in (people[0], *late, late[0])]  # a double tap too
    commits = []
    with Session(demo_engine, expire_on_commit=False) as s:
        event.listen(s, "after_commit", lambda _session: commits.append(1))
        votes.cast_from_tablets(s, s.get(Vote, vote_id), batch)
    assert [t.outcome.outcome for t in batch] == ["counted", "counted", "counted", "unchanged"]
    assert len(commits) == 1
    assert count_rows(db, "voteelector", vote_id) == eligible + 2
    joined = db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id, VoteAudit.action == "elector")).all()
    assert len(joined) == 2


def test_a_late_arrivals_ballot_page_offers_the_ballot_and_writes_nothing(app, db, room):
    """A read: the late arrival joins the electorate with their first ballot, not by looking."""
    meeting, entry, _people, _guest = room
    vote_id = open_vote_in(app.state.engine, meeting, entry)
    eligible = count_rows(db, "voteelector", vote_id)
    late = check_in(db, meeting, owners_of_unit(db)[6])
    pad = tablet(app, late)
    page = BeautifulSoup(pad.get(f"/votes/{vote_id}/ballot").text, "html.parser")
    assert [b["value"] for b in page.select("button[name=choice]")] == ["for", "against", "abstain"]
    assert count_rows(db, "voteelector", vote_id) == eligible
    assert cast(pad, vote_id, f"p{late.person_id}", "for").status_code == 200
    assert count_rows(db, "voteelector", vote_id) == eligible + 1

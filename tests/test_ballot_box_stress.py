"""The ballot box under a hall's load: a small batch limit, two open votes (one named, one secret),
a closed one, and many slips from many tablets at once from two event loops (two server workers'
worth), some of them wrong. Every request must be answered, each vote's totals exact, no slip lost
or counted twice."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from forum import votes
from forum.ballot_box import BallotBox, Counted
from forum.models import Meeting, Vote
from tests.test_votes import check_in, lift_meeting, open_vote_in, result_heads

BATCH_MAX = 7
TABLETS = 60


@dataclass
class Slip:
    vote_id: int
    token: str
    choice: str
    expect: str  # what its answer must say (see answer_of)


def answer_of(counted: Counted) -> str:
    if counted.vote is None:
        return "no_vote"
    if counted.tablet is None:
        return "not_checked_in"
    tablet = counted.tablet
    return tablet.outcome.outcome if tablet.outcome is not None else tablet.refused.code


@pytest.fixture
def db(demo_engine):
    with Session(demo_engine, expire_on_commit=False) as session:
        yield session


def test_a_hall_of_tablets_against_a_small_batch_limit(demo_engine, db, monkeypatch):
    rng = random.Random(15)
    meeting, entry = lift_meeting(db)
    hall = [check_in(db, meeting, None, f"来宾{i}") for i in range(TABLETS)]
    other = db.exec(select(Meeting).where(Meeting.community_id == meeting.community_id, Meeting.id != meeting.id)
                    .order_by(Meeting.id)).first()
    strangers = [check_in(db, other, None, f"邻社区{i}") for i in range(5)]
    named = open_vote_in(demo_engine, meeting, entry)
    secret = open_vote_in(demo_engine, meeting, entry, question="无记名：同意吗？", secret="on")
    closed = open_vote_in(demo_engine, meeting, entry, question="已结束的表决")
    with Session(demo_engine, expire_on_commit=False) as s:
        assert votes.close_vote(s, s.get(Vote, closed), actor="test")
        s.commit()
    choices = ["for", "against", "abstain"]

    slips: list[Slip] = []
    chosen: dict[int, dict[str, str]] = {named: {}, secret: {}}
    for vote_id in (named, secret):
        for a in rng.sample(hall, 50):
            choice = rng.choice(choices)
            chosen[vote_id][a.device_token] = choice
            slips.append(Slip(vote_id, a.device_token, choice, "counted"))
            if rng.random() < 0.2:  # a double tap: the same ballot again
                slips.append(Slip(vote_id, a.device_token, choice, "unchanged" if vote_id == named else "already"))
    for a in rng.sample(hall, 10):
        slips.append(Slip(rng.choice((named, secret)), a.device_token, "maybe", "unknown_choice"))
    for a in rng.sample(hall, 10):
        slips.append(Slip(closed, a.device_token, "for", "not_open"))
    for a in strangers:
        slips.append(Slip(rng.choice((named, secret)), a.device_token, "for", "not_checked_in"))
    for i in range(5):
        slips.append(Slip(rng.choice((named, secret)), f"no-such-device-{i}", "for", "not_checked_in"))
    slips.append(Slip(999999, hall[0].device_token, "for", "no_vote"))
    rng.shuffle(slips)

    sizes: list[int] = []
    real = votes.cast_from_tablets

    def recording(db_, vote, batch):
        sizes.append(len(batch))
        real(db_, vote, batch)

    monkeypatch.setattr(votes, "cast_from_tablets", recording)
    box = BallotBox(demo_engine, "zh-Hans", batch_max=BATCH_MAX)

    async def worker(part: list[Slip]) -> list[Counted]:
        # The timeout only turns a lost slip (a request never answered) into a failure, not a hang.
        async with asyncio.timeout(60):
            return await asyncio.gather(*(box.cast(s.vote_id, s.token, "", [s.choice]) for s in part))

    # Two event loops at once, as two server workers' requests would be; slips interleave in the box.
    halves = [slips[0::2], slips[1::2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = [f.result() for f in [pool.submit(asyncio.run, worker(h)) for h in halves]]
    box.stop()

    # Every request answered, each as its slip deserved.
    got = {id(s): answer_of(c) for half, out in zip(halves, answers, strict=True) for s, c in zip(half, out,
                                                                                                  strict=True)}
    assert len(got) == len(slips)
    # A secret ballot is held until a batch of voters is written together (forum.secrecy): its
    # first slip is "received" (or "counted", once its batch is written), and a repeat is "already"
    # or, while the first still waits, "received" again. Its exactness is checked on the totals
    # once the vote closes, below.
    taken = {"received", "counted", "already"}
    secret_slips = [s for s in slips if s.vote_id == secret and s.expect in ("counted", "already")]
    assert all(got[id(s)] in taken for s in secret_slips), Counter(got[id(s)] for s in secret_slips)
    assert sum(got[id(s)] == "already" for s in secret_slips) <= sum(s.expect == "already" for s in secret_slips)
    for s in secret_slips:
        got[id(s)] = s.expect
    assert Counter(got.values()) == Counter(s.expect for s in slips)
    # Of a double tap's slips, whichever arrived first is counted and the other answered as a repeat.
    group = {id(s): (s.vote_id, s.token) if s.expect in ("counted", "unchanged", "already") else id(s) for s in slips}
    wanted: dict[object, Counter] = {}
    answered: dict[object, Counter] = {}
    for s in slips:
        wanted.setdefault(group[id(s)], Counter())[s.expect] += 1
        answered.setdefault(group[id(s)], Counter())[got[id(s)]] += 1
    wrong = [(key, wanted[key], answered[key]) for key in wanted if wanted[key] != answered[key]]
    assert not wrong, wrong[:5]
    # The limit held, and every slip of a tablet checked in here reached the count.
    assert max(sizes) <= BATCH_MAX
    assert sum(sizes) == sum(1 for s in slips if s.expect not in ("not_checked_in", "no_vote"))

    # Each vote's totals exact; no ballot lost or counted twice. The secret vote is closed first,
    # which writes the ballots still held back with its closing.
    with Session(demo_engine, expire_on_commit=False) as s:
        assert votes.close_vote(s, s.get(Vote, secret), actor="test")
        s.commit()
    for vote_id in (named, secret):
        expected = Counter(chosen[vote_id].values())
        assert result_heads(demo_engine, vote_id) == {c: expected.get(c, 0) for c in choices}
        n = len(chosen[vote_id])
        assert db.execute(text("SELECT count(*) FROM votereceipt WHERE vote_id = :v"), {"v": vote_id}).scalar() == n
        audited = db.execute(text("SELECT count(*) FROM voteaudit WHERE vote_id = :v AND action = 'ballot'"),
                             {"v": vote_id}).scalar()
        batches = db.execute(text("SELECT count(*) FROM voteaudit WHERE vote_id = :v AND action = 'ballots'"),
                             {"v": vote_id}).scalar()
        # A named ballot has its own entry; secret ones only one per batch written, never one each.
        assert (audited, batches == 0) == (n, True) if vote_id == named else \
            (audited == 0 and 1 <= batches <= n // 2)
        with Session(demo_engine) as s:
            vote = s.get(Vote, vote_id)
            assert votes.turnout(s, vote)[0] == n
            if vote_id == named:
                assert votes.tally_result(s, vote) == votes.tally_result(s, vote, exact=True)
    assert db.execute(text("SELECT count(*) FROM ballot WHERE vote_id = :v"), {"v": named}).scalar() == \
        len(chosen[named])
    assert db.execute(text("SELECT count(*) FROM ballot WHERE vote_id = :v"), {"v": secret}).scalar() == 0
    assert db.execute(text("SELECT count(*) FROM votereceipt WHERE vote_id = :v"), {"v": closed}).scalar() == 0
    assert result_heads(demo_engine, closed) == {"for": 0, "against": 0, "abstain": 0}

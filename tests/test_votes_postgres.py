"""Ballots counted in batches on PostgreSQL keep the promises they keep on SQLite (see
test_votes.py): there the receipts' ``ON CONFLICT DO NOTHING RETURNING`` and the status read
``FOR SHARE`` do what SQLite's single writer does."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from forum import votes
from forum.models import Vote
from tests.test_votes import at_once, count_batch, open_vote_in, outcomes, result_heads, room_of

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(postgres_demo):
    return postgres_demo


def test_a_batch_counts_each_voter_once_on_postgres(pg):
    with Session(pg, expire_on_commit=False) as db:
        meeting, entry, people, guest = room_of(db)
    vote_id = open_vote_in(pg, meeting, entry, allow_change="on")
    first = [votes.TabletCast(a, "", ["for"]) for a in people] + [votes.TabletCast(people[0], "", ["for"])]
    count_batch(pg, vote_id, first)
    assert outcomes(first) == ["counted"] * 4 + ["unchanged"]
    second = [votes.TabletCast(guest, "", ["against"]), votes.TabletCast(people[1], "", ["abstain"]),
              votes.TabletCast(people[1], "", ["against"])]
    count_batch(pg, vote_id, second)
    assert outcomes(second) == ["counted", "changed", "changed"]
    assert result_heads(pg, vote_id) == {"for": 3, "against": 2, "abstain": 0}


def test_batches_racing_for_the_same_voters_count_each_once_on_postgres(pg):
    with Session(pg, expire_on_commit=False) as db:
        meeting, entry, people, guest = room_of(db)
    vote_id = open_vote_in(pg, meeting, entry, secret="on")
    hall = people + [guest]
    batches = [[votes.TabletCast(a, "", ["for"]) for a in hall] for _ in range(4)]

    def work(batch, ready) -> None:
        ready()
        count_batch(pg, vote_id, batch)

    assert not at_once(work, batches)
    # A secret vote's ballots are received, to be written with others' (forum.secrecy).
    counted = [o for b in batches for o in outcomes(b) if o in ("received", "counted")]
    assert len(counted) == len(hall)  # every voter counted by exactly one of the four batches
    assert {o for b in batches for o in outcomes(b)} <= {"received", "counted", "already"}
    with Session(pg) as s:
        assert votes.turnout(s, s.get(Vote, vote_id))[0] == len(hall)
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
    assert result_heads(pg, vote_id)["for"] == len(hall)
    with Session(pg) as s:
        assert votes.turnout(s, s.get(Vote, vote_id))[0] == len(hall)

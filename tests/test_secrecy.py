"""Secret ballots that survive the files and the screen (forum.secrecy): the write-ahead log
replayed commit by commit, the public pages polled during a vote, batches of at least K, the
tablet's "received" then "counted", a ballot lost to a restart asked for again, the audit trail,
and who sees named ballots."""

from __future__ import annotations

import re
import sqlite3
import struct
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event, text
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import secrecy, votes
from forum.app import create_app
from forum.models import Attendance, Meeting, User, Vote, VoteAudit
from forum.settings import Settings
from forum.votes import lifecycle, tablets
from tests import test_votes
from tests.conftest import sign_in
from tests.databases import sqlite_only
from tests.test_votes import (
    cast,
    check_in,
    close,
    count_batch,
    create,
    open_,
    open_vote_in,
    outcomes,
    result,
    tablet,
    zh,
)

# The vote tests' fixtures: a session on the demo database, and the lift meeting with people checked in.
db = test_votes.db
room = test_votes.room

K = secrecy.DEFAULT_BATCH


def hall(db: Session, room, guests: int) -> list[Attendance]:
    meeting, _entry, people, guest = room
    return people + [guest] + [check_in(db, meeting, None, f"来宾{i:02d}") for i in range(guests)]


def key_of(a: Attendance) -> str:
    return f"p{a.person_id}" if a.person_id else f"a{a.id}"


# ---------------------------------------------------------------- the write-ahead log, commit by commit


def wal_states(wal: bytes, base: bytes) -> list[bytes]:
    """The database file as it stood before (``base``, when the log was empty) and after each
    commit in a write-ahead log, rebuilt from the log's frames as SQLite would read it."""
    magic, _version, page_size, _seq, salt1, salt2 = struct.unpack(">IIIIII", wal[:24])
    assert magic in (0x377F0682, 0x377F0683), "not a write-ahead log"
    pages: dict[int, bytes] = {}
    pending: dict[int, bytes] = {}
    start = bytearray(base)
    start[18:20] = b"\x01\x01"
    states = [bytes(start)]
    offset = 32
    while offset + 24 + page_size <= len(wal):
        number, size, s1, s2 = struct.unpack(">IIII", wal[offset:offset + 16])
        if (s1, s2) != (salt1, salt2):
            break  # frames of an earlier generation of the log: not part of it any more
        pending[number] = wal[offset + 24:offset + 24 + page_size]
        offset += 24 + page_size
        if size:  # a commit frame: everything since the last commit is now the database
            pages |= pending
            pending = {}
            image = bytearray(base[:size * page_size].ljust(size * page_size, b"\0"))
            for n, data in pages.items():
                if n <= size:
                    image[(n - 1) * page_size:n * page_size] = data
            image[18:20] = b"\x01\x01"  # read it as a plain file, without looking for a log of its own
            states.append(bytes(image))
    return states


def read_state(image: bytes, path: Path, vote_id: int) -> dict:
    path.write_bytes(image)
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        receipts = dict(con.execute("SELECT voter_key, rowid FROM votereceipt WHERE vote_id = ?", (vote_id,)))
        tallies = dict(con.execute("SELECT choice, heads FROM votetally WHERE vote_id = ?", (vote_id,)))
        ballots = con.execute("SELECT count(*) FROM ballot WHERE vote_id = ?", (vote_id,)).fetchone()[0]
        audit = con.execute("SELECT id, actor, action, detail FROM voteaudit WHERE vote_id = ?", (vote_id,)).fetchall()
        status, kiosk = con.execute("SELECT status, kiosk_voter FROM vote WHERE id = ?", (vote_id,)).fetchone()
    finally:
        con.close()
    return {"receipts": receipts, "tallies": tallies, "ballots": ballots, "audit": audit, "status": status,
            "kiosk": kiosk}


@sqlite_only("reads SQLite's write-ahead log frame by frame; PostgreSQL's WAL has no such reader here")
def test_no_commit_in_the_write_ahead_log_links_a_voter_to_a_choice(app, demo_engine, db, room, tmp_path):
    meeting, entry, people, guest = room
    voters = hall(db, room, 17)  # 22 voters
    with TestClient(app) as facilitator:
        sign_in(facilitator, "facilitator")
        vote_id = create(facilitator, meeting, entry, secret="on")
        open_(facilitator, vote_id)
        # From here on nothing is checkpointed: the log keeps every commit of the vote.
        db.close()
        demo_engine.dispose()
        path = Path(demo_engine.url.database)
        assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
        base = path.read_bytes()

        @event.listens_for(demo_engine, "connect")
        def keep_the_log(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

        choices = ["for", "against", "abstain"]
        plan = {key_of(a): choices[i % 3] for i, a in enumerate(voters)}
        by_tablet, paper, kiosk = voters[:-2], voters[-2], voters[-1]
        for a in by_tablet:
            r = cast(tablet(app, a), vote_id, key_of(a), plan[key_of(a)])
            assert r.status_code == 200, r.text
            assert cast(tablet(app, a), vote_id, key_of(a), plan[key_of(a)]).status_code == 200  # a double tap
        r = facilitator.post(f"/votes/{vote_id}/paper", data={"voter": key_of(paper), "serial": "S-1",
                                                              "choice": plan[key_of(paper)]}, follow_redirects=False)
        assert r.status_code == 303, r.text
        facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": key_of(kiosk)}, follow_redirects=False)
        nonce = BeautifulSoup(facilitator.get(f"/votes/{vote_id}/shared-tablet").text, "html.parser") \
            .select_one("input[name=nonce]")["value"]
        assert facilitator.post(f"/votes/{vote_id}/shared-tablet/cast",
                                data={"nonce": nonce, "choice": plan[key_of(kiosk)]}).status_code == 200
        close(facilitator, vote_id)
        wal = Path(f"{path}-wal").read_bytes()  # read while connections are open: closing the last one empties it

    states = [read_state(image, tmp_path / "state.db", vote_id) for image in wal_states(wal, base)]
    # A tablet's ballot is no commit of its own: the commits are the batches, the shared tablet's
    # opening and clearing, and the closing.
    assert len(states) >= 5 and states[0]["receipts"] == {} and states[0]["status"] == "open"
    final = states[-1]
    assert final["status"] == "closed" and set(final["receipts"]) == set(plan)
    assert {k: v for k, v in final["tallies"].items()} == {c: list(plan.values()).count(c) for c in choices}

    names = {a.name for a in voters}
    batches = []
    before = {"receipts": {}, "tallies": {c: 0 for c in choices}, "audit": []}
    for state in states:
        new = set(state["receipts"]) - set(before["receipts"])
        grown = {c: state["tallies"].get(c, 0) - before["tallies"].get(c, 0) for c in choices}
        assert state["ballots"] == 0, "a secret vote wrote a named ballot"
        assert sum(grown.values()) == len(new), "receipts and sums are written together"
        if new:
            # The heart of it: a commit adds at least K voters' ballots, so a voter's choice is hidden
            # among at least K (the replay sees which voters, and the sum of what they chose).
            assert len(new) >= K, f"a commit added {len(new)} voters' ballots: {sorted(new)}"
            batches.append(new)
            # In the order of their keys: the rows' order does not say who cast first.
            rowids = [state["receipts"][k] for k in sorted(new)]
            assert rowids == sorted(rowids)
        for row in set(state["audit"]) - set(before["audit"]):
            assert not any(n in row[1] + row[3] for n in names), f"the audit trail names a voter: {row}"
            assert row[2] != "ballot", "an audit entry per secret ballot"
            if row[2] == "kiosk":
                pytest.fail(f"a per-opening entry for the shared tablet: {row}")
        before = state
    assert len(batches) >= 2  # batches while open, and the last with the closing
    assert sum(len(b) for b in batches) == len(voters)
    assert [row[2] for row in final["audit"]].count("ballots") == len(batches)  # one entry per batch


def test_the_urn_writes_every_batch_with_at_least_k_voters(demo_engine, db, room, monkeypatch):
    """However many vote, one at a time: every write holds K or more, the closing's included,
    unless fewer than K voted in all (then the closing writes them all, with the result)."""
    meeting, entry, _people, _guest = room
    voters = hall(db, room, 23)  # 28 in all
    writes: list[tuple[int, bool]] = []
    real = secrecy._write

    def recording(db_, vote, slips, *, closing=False):
        writes.append((len(slips), closing))
        return real(db_, vote, slips, closing=closing)

    monkeypatch.setattr(secrecy, "_write", recording)
    for n in (1, K - 1, K, 2 * K - 1, 2 * K, 2 * K + 1, len(voters)):
        writes.clear()
        vote_id = open_vote_in(demo_engine, meeting, entry, secret="on", question=f"第{n}题")
        for a in voters[:n]:
            count_batch(demo_engine, vote_id, [votes.TabletCast(a, "", ["for"])])
        with Session(demo_engine) as s:
            # Once 2K wait, all but the newest K are written: K to 2K - 1 then wait.
            assert secrecy.waiting_count(s, vote_id) == (n if n < 2 * K else K + (n - 2 * K) % K)
            assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
            assert votes.tally_result(s, s.get(Vote, vote_id))["totals"][0]["heads"] == n
        assert sum(size for size, _ in writes) == n
        assert all(size >= K or (size == n and closing) for size, closing in writes), (n, writes)
        assert writes[-1][1] and writes[-1][0] >= min(n, K)  # the closing always writes the last K


def test_a_vote_that_closed_takes_no_more_and_loses_none(demo_engine, db, room, monkeypatch):
    meeting, entry, people, guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    first = [votes.TabletCast(a, "", ["against"]) for a in people[:3]]
    count_batch(demo_engine, vote_id, first)
    assert outcomes(first) == ["received"] * 3
    with Session(demo_engine) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
        assert secrecy.waiting_count(s, vote_id) == 0
    late = [votes.TabletCast(people[3], "", ["for"])]
    count_batch(demo_engine, vote_id, late)
    assert outcomes(late) == ["not_open"]
    # Closed between a batch's checks and its deposit: the urn reads the status again, under its lock.
    second = open_vote_in(demo_engine, meeting, entry, secret="on", question="第二题")
    checks = tablets._check_tablets

    def then_close(db_, vote, batch):
        checks(db_, vote, batch)
        with Session(demo_engine) as other:
            assert votes.close_vote(other, other.get(Vote, second), actor="test")

    monkeypatch.setattr(tablets, "_check_tablets", then_close)
    racing = [votes.TabletCast(a, "", ["for"]) for a in people]
    count_batch(demo_engine, second, racing)
    assert outcomes(racing) == ["not_open"] * 4
    with Session(demo_engine) as s:
        assert secrecy.waiting_count(s, second) == 0  # nothing left behind in the urn, told to no tablet
        assert votes.turnout(s, s.get(Vote, second))[0] == 0
    with Session(demo_engine) as s:
        vote = s.get(Vote, vote_id)
        totals = {t["key"]: t["heads"] for t in votes.tally_result(s, vote)["totals"]}
        assert totals == {"for": 0, "against": 3, "abstain": 0}
        assert votes.turnout(s, vote)[0] == 3


def test_a_failed_closing_puts_the_waiting_ballots_back(demo_engine, db, room, monkeypatch):
    meeting, entry, people, _guest = room
    vote_id = open_vote_in(demo_engine, meeting, entry, secret="on")
    count_batch(demo_engine, vote_id, [votes.TabletCast(a, "", ["for"]) for a in people])

    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(lifecycle, "summary", broken)
    with Session(demo_engine) as s, pytest.raises(RuntimeError):
        votes.close_vote(s, s.get(Vote, vote_id), actor="test")
    monkeypatch.undo()
    with Session(demo_engine) as s:
        assert s.get(Vote, vote_id).status == "open"
        assert secrecy.waiting_count(s, vote_id) == 4
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
        assert votes.tally_result(s, s.get(Vote, vote_id))["totals"][0]["heads"] == 4


# ---------------------------------------------------------------- the screen


def visible(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    # The turnout (how many have voted, how many of them wait to be written) is what may change.
    for gone in soup.select("script, style, time, .room-timer, [data-deadline], ol.audit, .participation"):
        gone.decompose()
    return " ".join(soup.get_text(" ").split())


def test_polling_the_public_pages_during_a_secret_vote_shows_only_the_turnout(app, facilitator, db, room):
    meeting, entry, people, guest = room
    voters = hall(db, room, 10)
    # Asked to show the count while open: a secret vote shows its turnout alone all the same.
    vote_id = create(facilitator, meeting, entry, secret="on", results_while_open="on")
    open_(facilitator, vote_id)
    assert db.get(Vote, vote_id).results_while_open is False
    db.execute(text("UPDATE vote SET results_while_open = true WHERE id = :v"), {"v": vote_id})  # even if set
    db.commit()
    visitor = TestClient(app)
    hub = app.state.hub
    seen = []
    for i, a in enumerate([None, *voters]):
        if a is not None:
            assert cast(tablet(app, a), vote_id, key_of(a), ("for", "against")[i % 2]).status_code == 200
        body = visitor.get(f"/votes/{vote_id}/result.json").json()
        assert body["result"] is None and set(body) == {"id", "status", "ballots", "eligible", "result", "waiting"}
        assert (body["ballots"], body["eligible"]) == (i, len(voters))
        pages = {
            "vote page": visitor.get(f"/votes/{vote_id}").text,
            "console's vote page": facilitator.get(f"/votes/{vote_id}").text,
            "screen": visitor.get(f"/meetings/{meeting.id}/screen").text,
            "tablet": tablet(app, voters[-1]).get(f"/meetings/{meeting.id}/tablet").text,
            "ballot page": tablet(app, voters[0]).get(f"/votes/{vote_id}/ballot").text,
        }
        with Session(app.state.engine) as s:
            m = s.get(Meeting, meeting.id)
            for audience in ("console", "tablet", "screen"):
                pages[f"{audience} part"] = hub.page_parts(s, m, audience, "")["vote"]
                pages[f"{audience} count"] = hub.page_parts(s, m, audience, "").get("votecount", "")
        for where, html in pages.items():
            soup = BeautifulSoup(html, "html.parser")
            # The trail gains an entry per batch: how many ballots, never a choice.
            assert not [w for w in ("赞成", "反对", "弃权") if soup.select_one("ol.audit") and
                        w in soup.select_one("ol.audit").text], where
            assert not soup.select(".vote-chart, .vote-totals, .comparisons, .verdict, .bar-value"), where
        # Between polls nothing changes but the turnout.
        turnout = f"{i} / {len(voters)}"
        for where, html in pages.items():
            shown = BeautifulSoup(html, "html.parser").select(".participation")
            assert all(turnout in p.text for p in shown), where
        now_ = {w: visible(h) for w, h in pages.items()}
        if seen:
            # (The console's page lists who has yet to vote, for staff; the tablets show their own ballot.)
            ignored = ("console's vote page", "ballot page", "tablet")
            changed = [w for w in now_ if now_[w] != seen[-1][w] and w not in ignored]
            assert not changed, {w: (seen[-1][w], now_[w]) for w in changed}
        seen.append(now_)
    close(facilitator, vote_id)
    body = visitor.get(f"/votes/{vote_id}/result.json").json()
    assert body["result"]["totals"][0]["heads"] + body["result"]["totals"][1]["heads"] == len(voters)
    assert "vote-chart" in visitor.get(f"/votes/{vote_id}").text


# ---------------------------------------------------------------- the tablet


def test_a_tablet_says_received_then_counted_once_its_batch_is_written(app, facilitator, db, room):
    meeting, entry, people, guest = room
    voters = hall(db, room, 2 * K)
    vote_id = create(facilitator, meeting, entry, secret="on")
    open_(facilitator, vote_id)
    first = tablet(app, voters[0])
    reply = BeautifulSoup(cast(first, vote_id, key_of(voters[0]), "for").text, "html.parser")
    assert reply.select_one("[role=status]").get_text(strip=True) == zh(
        "Your ballot is received. It will be counted together with other voters' ballots, so that nobody can "
        "tell which one was yours.")
    poll = reply.select_one(".ballot-poll")
    assert poll["hx-trigger"] == "every 3s"
    assert poll["hx-get"].endswith(f"/votes/{vote_id}/ballot?waiting={key_of(voters[0])}")
    asked = first.get(poll["hx-get"], headers={"HX-Request": "true"})
    part = BeautifulSoup(asked.text, "html.parser")
    assert asked.text.lstrip().startswith(f'<div id="ballot-{vote_id}"')
    assert part.select_one(".ballot-poll") and not part.select("button[name=choice]")  # still waiting
    assert zh("Received. It will be counted together with other voters' ballots.") in part.text
    # A double tap while it waits is the same ballot, not a second one, and says so.
    again = BeautifulSoup(cast(first, vote_id, key_of(voters[0]), "against").text, "html.parser")
    assert again.select_one("[role=status]").get_text(strip=True) == reply.select_one("[role=status]").get_text(
        strip=True)
    assert again.select_one(".ballot-poll")
    for a in voters[1:2 * K]:
        cast(tablet(app, a), vote_id, key_of(a), "against")
    # 2K waited: the oldest K were written together, this tablet's among them.
    part = BeautifulSoup(first.get(poll["hx-get"], headers={"HX-Request": "true"}).text, "html.parser")
    assert part.select_one("[role=status]").get_text(strip=True) == zh("Your ballot is counted. Thank you.")
    assert not part.select_one(".ballot-poll") and not part.select("button[name=choice]")
    last = BeautifulSoup(tablet(app, voters[2 * K - 1]).get(f"/votes/{vote_id}/ballot").text, "html.parser")
    assert last.select_one(".ballot-poll")  # the newest K still wait
    close(facilitator, vote_id)
    totals = {t["key"]: t["heads"] for t in result(facilitator, vote_id)["result"]["totals"]}
    assert totals == {"for": 1, "against": 2 * K - 1, "abstain": 0}


def test_a_ballot_lost_to_a_restart_is_asked_for_again(app, facilitator, db, room, demo_engine):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry, secret="on")
    open_(facilitator, vote_id)
    assert cast(tablet(app, people[0]), vote_id, key_of(people[0]), "for").status_code == 200
    # The server restarts: a new process, its urn empty. What waited was never written.
    from forum import db as database

    engine = database.make_engine(str(demo_engine.url))
    restarted = create_app(Settings(database_url="sqlite://", secret_key="test-secret", language="zh-Hans"),
                           engine=engine)
    try:
        pad = tablet(restarted, people[0])
        again = pad.get(f"/votes/{vote_id}/ballot?waiting={key_of(people[0])}", headers={"HX-Request": "true"})
        part = BeautifulSoup(again.text, "html.parser")
        assert part.select_one("[role=alert]").get_text(strip=True) == zh(
            "Your ballot was not counted: the server stopped before it was saved together with others. "
            "Please vote again.")
        assert [b["value"] for b in part.select("button[name=choice]")] == ["for", "against", "abstain"]
        assert cast(pad, vote_id, key_of(people[0]), "against").status_code == 200
        with TestClient(restarted) as staff:
            sign_in(staff, "facilitator")
            assert result(staff, vote_id)["ballots"] == 1
            close(staff, vote_id)
            totals = {t["key"]: t["heads"] for t in result(staff, vote_id)["result"]["totals"]}
        assert totals == {"for": 0, "against": 1, "abstain": 0}
    finally:
        engine.dispose()


def test_the_shared_tablet_and_paper_ballots_wait_with_the_others(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry, secret="on")
    open_(facilitator, vote_id)
    facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": key_of(people[0])}, follow_redirects=False)
    nonce = BeautifulSoup(facilitator.get(f"/votes/{vote_id}/shared-tablet").text, "html.parser") \
        .select_one("input[name=nonce]")["value"]
    done = facilitator.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "for"},
                            headers={"HX-Request": "true"})
    assert BeautifulSoup(done.text, "html.parser").select_one("[role=status]").get_text(strip=True) == zh(
        "Your ballot is received and will be counted together with other voters' ballots. Thank you. "
        "Please hand the tablet back.")
    # Received: no longer offered to the shared tablet, nor for a paper ballot, nor a proxy.
    assert facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": key_of(people[0])}).status_code == 422
    paper = {"voter": key_of(people[1]), "serial": "P-7", "choice": "against"}
    assert facilitator.post(f"/votes/{vote_id}/paper", data=paper, follow_redirects=False).status_code == 303
    again = facilitator.post(f"/votes/{vote_id}/paper", data=paper | {"voter": key_of(people[2])})
    assert again.status_code == 422 and "P-7" in BeautifulSoup(again.text, "html.parser") \
        .select_one("#paper-serial-error").text
    twice = facilitator.post(f"/votes/{vote_id}/paper", data=paper | {"serial": "P-8"})
    assert twice.status_code == 422
    console = BeautifulSoup(facilitator.get(f"/votes/{vote_id}").text, "html.parser")
    offered = {o["value"] for o in console.select("#f-shared-tablet-voter option") if o.get("value")}
    assert key_of(people[0]) not in offered and key_of(people[1]) not in offered and key_of(people[2]) in offered
    assert result(facilitator, vote_id)["ballots"] == 2
    assert db.execute(text("SELECT count(*) FROM votereceipt WHERE vote_id = :v"), {"v": vote_id}).scalar() == 0
    assert db.execute(text("SELECT count(*) FROM paperserial WHERE vote_id = :v"), {"v": vote_id}).scalar() == 0
    close(facilitator, vote_id)
    assert db.execute(text("SELECT serial FROM paperserial WHERE vote_id = :v"), {"v": vote_id}).scalars().all() \
        == ["P-7"]
    totals = {t["key"]: t["heads"] for t in result(facilitator, vote_id)["result"]["totals"]}
    assert totals == {"for": 1, "against": 1, "abstain": 0}


# ---------------------------------------------------------------- the audit trail


def test_a_secret_votes_trail_names_nobody_the_shared_tablet_was_opened_for(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry, secret="on")
    open_(facilitator, vote_id)
    for a in people[:3]:
        facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": key_of(a)}, follow_redirects=False)
        nonce = BeautifulSoup(facilitator.get(f"/votes/{vote_id}/shared-tablet").text, "html.parser") \
            .select_one("input[name=nonce]")["value"]
        facilitator.post(f"/votes/{vote_id}/shared-tablet/cast", data={"nonce": nonce, "choice": "for"})
    cast(tablet(app, people[3]), vote_id, key_of(people[3]), "against")
    close(facilitator, vote_id)
    trail = db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id).order_by(VoteAudit.id)).all()
    assert [a.action for a in trail] == ["create", "open", "ballots", "close"]
    assert trail[2].detail == zh("%(n)d secret ballots counted together (%(ways)s).") % {
        "n": 4, "ways": f"{zh('shared tablet')} 3，{zh('tablet')} 1"}
    page = BeautifulSoup(facilitator.get(f"/votes/{vote_id}").text, "html.parser").select_one("ol.audit").text
    assert not any(a.name in page for a in people)


def test_a_named_vote_keeps_its_named_trail(app, facilitator, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": key_of(people[0])}, follow_redirects=False)
    cast(tablet(app, people[1]), vote_id, key_of(people[1]), "for")
    trail = db.exec(select(VoteAudit).where(VoteAudit.vote_id == vote_id).order_by(VoteAudit.id)).all()
    assert [a.action for a in trail] == ["create", "open", "kiosk", "ballot"]
    assert people[0].name in trail[2].detail and people[1].name in trail[3].actor


# ---------------------------------------------------------------- who sees named ballots


def test_named_ballots_are_for_the_communitys_staff_not_visitors(app, facilitator, committee_member, db, room):
    meeting, entry, people, guest = room
    vote_id = create(facilitator, meeting, entry)
    open_(facilitator, vote_id)
    cast(tablet(app, people[0]), vote_id, key_of(people[0]), "against")
    visitor = TestClient(app)
    for who, client, sees in (("facilitator", facilitator, True), ("committee", committee_member, True),
                              ("visitor", visitor, False), ("a voter's tablet", tablet(app, people[1]), False)):
        page = BeautifulSoup(client.get(f"/votes/{vote_id}").text, "html.parser")
        trail = page.select_one("ol.audit").text
        assert (people[0].name in trail and "反对" in trail) is sees, who
        assert not sees or not page.find(string=re.compile(re.escape(zh("Who chose what is shown to the "
                                                                          "community's staff only."))))
        body = client.get(f"/votes/{vote_id}/result.json").text
        assert people[0].name not in body and key_of(people[0]) not in body
    close(facilitator, vote_id)
    trail = BeautifulSoup(visitor.get(f"/votes/{vote_id}").text, "html.parser").select_one("ol.audit").text
    assert people[0].name not in trail
    minutes = BeautifulSoup(visitor.get(f"/meetings/{meeting.id}/minutes").text, "html.parser")
    assert not [li for li in minutes.select("li") if people[0].name in li.text and "反对" in li.text]


def test_may_see_named_ballots_is_the_one_rule(db, room):
    meeting, entry, people, guest = room
    vote = Vote(community_id=meeting.community_id, question="?", kind="for_against", scope="attendance",
                counting_unit="person", weighting="head", rule="simple", created_by="t")
    users = {u.username: u for u in db.exec(select(User))}
    assert secrecy.may_see_named_ballots(vote, users["facilitator"], None)
    assert secrecy.may_see_named_ballots(vote, users["committee"], None)
    assert secrecy.may_see_named_ballots(vote, users["admin"], None)
    assert not secrecy.may_see_named_ballots(vote, users["liaison"], None)
    assert not secrecy.may_see_named_ballots(vote, None, None)
    assert not secrecy.may_see_named_ballots(vote, None, people[0])  # a tablet's say-so is not verification
    vote.meeting_id = meeting.id
    verified = Attendance(meeting_id=meeting.id, name="核验居民", verified=True)
    assert secrecy.may_see_named_ballots(vote, None, verified)  # verified at this meeting
    elsewhere = Attendance(meeting_id=meeting.id + 10_000, name="别处核验", verified=True)
    assert not secrecy.may_see_named_ballots(vote, None, elsewhere)
    vote.secret = True
    assert not secrecy.may_see_named_ballots(vote, users["facilitator"], verified)  # a secret vote has none
    vote.secret = False
    other = Vote(community_id=meeting.community_id + 10_000, question="?", kind="for_against", scope="attendance",
                 counting_unit="person", weighting="head", rule="simple", created_by="t")
    assert not secrecy.may_see_named_ballots(other, users["facilitator"], None)  # not their community
    vote.secret = True
    assert not secrecy.may_see_named_ballots(vote, users["admin"], None)


@pytest.mark.postgres
def test_on_postgres_too_every_write_holds_k_voters_and_the_closing_takes_the_rest(postgres_engine, monkeypatch):
    from forum import db as database
    from forum import demo
    from tests.test_votes import room_of

    database.upgrade(postgres_engine)
    with Session(postgres_engine, expire_on_commit=False) as s:
        demo.seed(s)
        s.commit()
        meeting, entry, people, guest = room_of(s)
        voters = people + [guest] + [check_in(s, meeting, None, f"来宾{i}") for i in range(2 * K)]
    writes: list[int] = []
    real = secrecy._write
    monkeypatch.setattr(secrecy, "_write", lambda db_, vote, slips, closing=False: (
        writes.append(len(slips)), real(db_, vote, slips, closing=closing))[1])
    vote_id = open_vote_in(postgres_engine, meeting, entry, secret="on")
    for i, a in enumerate(voters):
        count_batch(postgres_engine, vote_id, [votes.TabletCast(a, "", [("for", "against")[i % 2]])])
    with Session(postgres_engine) as s:
        assert votes.close_vote(s, s.get(Vote, vote_id), actor="test")
        totals = {t["key"]: t["heads"] for t in votes.tally_result(s, s.get(Vote, vote_id))["totals"]}
        order = s.execute(text("SELECT voter_key FROM votereceipt WHERE vote_id = :v ORDER BY ctid"),
                          {"v": vote_id}).scalars().all()
    assert totals == {"for": (len(voters) + 1) // 2, "against": len(voters) // 2, "abstain": 0}
    assert writes and all(n >= K for n in writes) and sum(writes) == len(voters)
    # In the heap, receipts lie batch by batch, each batch in the order of its keys.
    at = 0
    for n in writes:
        assert order[at:at + n] == sorted(order[at:at + n])
        at += n


@pytest.mark.parametrize(("text_", "batch"), [(None, 5), ("", 5), ("2", 2), ("12", 12), ("1000", 1000)])
def test_the_batch_size_is_a_setting(text_, batch):
    env = {} if text_ is None else {"FORUM_SECRET_BATCH": text_}
    assert Settings.from_env(env).secret_batch == batch


@pytest.mark.parametrize("text_", ["1", "0", "-5", "five", "1001", "2.5"])
def test_a_batch_too_small_to_hide_anyone_is_refused_at_start(text_):
    with pytest.raises(ValueError, match="FORUM_SECRET_BATCH"):
        Settings.from_env({"FORUM_SECRET_BATCH": text_})


def test_the_app_sets_k_for_its_database(demo_engine):
    create_app(Settings(database_url="sqlite://", secret_key="k", language="zh-Hans", secret_batch=7),
               engine=demo_engine)
    assert secrecy.urn_of(demo_engine).batch == 7

"""The district-year demo (forum.demo.district) built small: its counts scale with the district,
its data keeps the app's invariants (lifecycle steps, moments in order, an issue's history ending
where the issue is, ratings of resolved issues, weekly talks on their weekday with gaps, votes
counted as the law counts them by eligible voters only), the same seed gives the same rows, and
the pages render on it."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlmodel import Session, SQLModel
from starlette.testclient import TestClient

from forum import counting, lifecycle
from forum import db as database
from forum.app import create_app
from forum.demo.district import DISTRICT, ORDER, build_district, street_plan
from forum.demo.district_data import STREETS
from forum.demo.district_issues import ISSUES_A_YEAR
from forum.lifecycle import Status, Step
from forum.review import Counts, verdict
from forum.settings import Settings

SCALE = 0.04  # three communities in one street
STEPS = {s.value for s in Step}


def _build(seed: int = 7, today: date | None = None, scale: float = SCALE, url: str = "sqlite://"):
    engine = database.make_engine(url)
    database.upgrade(engine)
    summary = build_district(engine, seed=seed, scale=scale, today=today)
    return engine, summary


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    # In a file: the app's lifespan disposes of its engine, which would drop an in-memory database.
    url = f"sqlite:///{tmp_path_factory.mktemp('district') / 'district.db'}"
    engine, summary = _build(today=date.today(), url=url)  # today's: the pages count from the real clock
    yield engine, summary
    engine.dispose()


def _rows(engine, table: str) -> list[dict]:
    t = SQLModel.metadata.tables[table]
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(t).order_by(*t.primary_key.columns))]


VOTE_TABLES = ["vote", "voteelector", "voteelectorunit", "votetally", "votereceipt", "ballot", "paperserial",
               "voteproxy", "voteaudit"]


def digest(engine) -> str:
    """Every row the build wrote, in key order (the password hash is salted, so left out)."""
    h = hashlib.sha256()
    for table in ORDER + VOTE_TABLES:
        for row in _rows(engine, table):
            row.pop("password_hash", None)
            h.update(repr(sorted(row.items())).encode())
    return h.hexdigest()


# ---------------------------------------------------------------- counts


def test_counts_scale_with_the_district(built):
    engine, summary = built
    assert (summary.streets, summary.communities, summary.communities_in_district) == (1, 3, 3)
    c = summary.counts
    assert c["area"] == 1 + 1 + 3 and c["committee"] == 6 * 3
    assert c["series"] == 3 * 3
    # A year of one weekly, one monthly and one quarterly series: 68 meetings at most (and the next
    # one of each planned), some weeks skipped.
    assert 3 * 60 <= c["meeting"] <= 3 * (53 + 13 + 5)
    # ~57 issues a community, ~10 participations a meeting held.
    assert 0.6 * ISSUES_A_YEAR * 3 <= c["issue"] <= 1.4 * ISSUES_A_YEAR * 3
    assert 8 <= c["attendance"] / c["meeting"] <= 14
    assert c["action"] > c["issue"] / 2 and c["rating"] > c["issue"] / 2


def test_scale_shares_communities_across_streets():
    for scale, streets, communities in ((1.0, 11, 79), (0.5, 6, 40), (0.2, 2, 16), (0.04, 1, 3), (0.01, 1, 1)):
        plan = street_plan(scale)
        assert (len(plan), sum(n for *_, n in plan)) == (streets, communities), scale
        assert all(n >= 1 for *_, n in plan)
    assert street_plan(1.0) == [(name, slug, n) for name, slug, n in STREETS]


def test_a_second_build_adds_nothing(built):
    engine, _summary = built
    before = {t: len(_rows(engine, t)) for t in ORDER + VOTE_TABLES}
    again = build_district(engine, seed=8, scale=SCALE)
    assert not again.created
    assert {t: len(_rows(engine, t)) for t in ORDER + VOTE_TABLES} == before


def test_bad_scale_is_refused():
    engine = database.make_engine("sqlite://")
    for scale in (0, -1, 1.5):
        with pytest.raises(ValueError):
            build_district(engine, scale=scale)


# ---------------------------------------------------------------- invariants


def test_every_issue_history_is_one_the_lifecycle_allows(built):
    engine, _ = built
    issues = {i["id"]: i for i in _rows(engine, "issue")}
    events = defaultdict(list)
    for e in sorted(_rows(engine, "issueevent"), key=lambda e: (e["at"], e["id"])):
        events[e["issue_id"]].append(e)
    now = datetime.combine(date.today(), datetime.min.time())
    for issue_id, issue in issues.items():
        history = events[issue_id]
        assert history[0]["action"] == "raise" and history[0]["at"] == issue["raised_at"], issue_id
        status = None
        for before, event in zip([None, *history], history, strict=False):
            assert event["at"] < now
            if before is not None:
                assert event["at"] > before["at"], (issue_id, event)  # strictly in order, as ids are
                assert event["id"] > before["id"]
            assert event["from_status"] == (status.value if status else None), (issue_id, event)
            # Placing an accepted issue on an agenda is a step; placing a later one changes nothing.
            if event["action"] in STEPS and (event["action"] != Step.schedule or status is Status.accepted):
                status = lifecycle.apply(status, event["action"], lifecycle.Facts(
                    committee_id=issue["committee_id"], reason=event["note"], decision=event["note"],
                    merge_into=issue["merged_into_id"], issue_id=issue_id))
            elif event["action"] != "raise":  # placed on a later agenda, or an action's change
                assert event["to_status"] == event["from_status"]
            else:
                status = Status.raised
            assert event["to_status"] == status.value, (issue_id, event)
        assert issue["status"] == status.value
        assert issue["updated_at"] == history[-1]["at"]
        resolves = [e["at"] for e in history if e["action"] == Step.resolve]
        if status in (Status.resolved, Status.reviewed):
            assert issue["resolved_at"] == resolves[-1] > issue["raised_at"]
        else:
            assert issue["resolved_at"] is None


def test_the_mix_of_lives_is_realistic(built):
    engine, _ = built
    issues = _rows(engine, "issue")
    statuses = Counter(i["status"] for i in issues)
    assert statuses["reviewed"] > len(issues) / 2  # most are done and judged
    for status in ("resolved", "declined", "merged"):
        assert statuses[status] > 0, status
    assert sum(statuses[s] for s in lifecycle.OPEN - {Status.resolved}) > 0  # some still open
    resolves = Counter(e["issue_id"] for e in _rows(engine, "issueevent") if e["action"] == Step.resolve)
    assert any(n >= 2 for n in resolves.values())  # reopened and resolved again
    days = sorted((i["resolved_at"] - i["raised_at"]).days for i in issues if i["resolved_at"])
    median = days[len(days) // 2]
    assert 7 <= median <= 40 and days[-1] > 3 * median  # weeks for most, months for the tail
    assert {i["category"] for i in issues} >= {"fumes", "poultry", "homestay", "lift", "parking"}


def test_decisions_are_on_the_agenda_of_their_meeting(built):
    engine, _ = built
    entries = {(a["meeting_id"], a["issue_id"]): a for a in _rows(engine, "agendaentry")}
    meetings = {m["id"]: m for m in _rows(engine, "meeting")}
    for event in _rows(engine, "issueevent"):
        if event["action"] in (Step.schedule, Step.discuss, Step.decide, Step.review, Step.reopen):
            entry = entries[(event["meeting_id"], event["issue_id"])]
            meeting = meetings[event["meeting_id"]]
            if event["action"] == Step.schedule:
                assert event["at"] < meeting["starts_at"]
            else:
                assert meeting["status"] == "ended"
                assert meeting["starts_at"] <= event["at"] <= meeting["starts_at"] + timedelta(hours=3)
            if event["action"] == Step.decide:
                assert entry["decision"] == event["note"]
    positions = Counter((a["meeting_id"], a["position"]) for a in _rows(engine, "agendaentry"))
    assert max(positions.values()) == 1


def test_weekly_talks_keep_their_weekday_and_some_weeks_are_skipped(built):
    engine, _ = built
    meetings = defaultdict(list)
    for m in _rows(engine, "meeting"):
        meetings[m["series_id"]].append(m)
    gaps = 0
    for series in _rows(engine, "series"):
        held = sorted(m["starts_at"] for m in meetings[series["id"]])
        occurrences = set(rrulestr(series["rrule"], dtstart=series["dtstart"]).between(held[0], held[-1], inc=True))
        assert set(held) <= occurrences  # every meeting is on an occurrence of its rule
        if series["cadence"] == "weekly":
            assert len({t.weekday() for t in held}) == 1
            gaps += len(occurrences) - len(held)
        planned = [m for m in meetings[series["id"]] if m["status"] == "planned"]
        assert len(planned) == 1 and planned[0]["starts_at"] == held[-1]  # the next one, ahead
    assert gaps > 0


def test_ratings_are_of_resolved_issues_at_a_review(built):
    engine, _ = built
    events = {(e["issue_id"], e["at"]): e for e in _rows(engine, "issueevent")}
    meetings = {m["id"]: m for m in _rows(engine, "meeting")}
    verdicts = Counter()
    for rating in _rows(engine, "rating"):
        step = events[(rating["issue_id"], rating["at"])]
        assert step["from_status"] == Status.resolved and step["meeting_id"] == rating["meeting_id"]
        assert meetings[rating["meeting_id"]]["cadence"] == "quarterly"
        counts = Counts(rating["satisfied"], rating["basically"], rating["dissatisfied"])
        assert rating["verdict"] == verdict(counts).value
        assert step["action"] == (Step.reopen if rating["verdict"] == "dissatisfied" else Step.review)
        assert rating["quarter"] == f"{rating['at'].year}Q{(rating['at'].month - 1) // 3 + 1}"
        verdicts[rating["verdict"]] += 1
    assert verdicts["satisfied"] > verdicts["basically"] + verdicts["dissatisfied"]
    assert verdicts["dissatisfied"] > 0 and verdicts["basically"] > 0


def test_actions_have_owners_and_some_are_overdue(built):
    engine, _ = built
    issues = {i["id"]: i for i in _rows(engine, "issue")}
    notes = defaultdict(list)
    for n in _rows(engine, "actionnote"):
        notes[n["action_id"]].append(n)
    today = date.today()
    overdue = 0
    for action in _rows(engine, "action"):
        owners = [action[k] for k in ("owner_committee_id", "owner_organisation_id", "owner_user_id",
                                      "owner_person_id") if action[k] is not None]
        assert len(owners) == 1
        assert action["due"] > action["created_at"].date()
        assert notes[action["id"]][0]["kind"] == "create"
        issue = issues[action["issue_id"]]
        if action["status"] == "done":
            assert action["done_at"] is not None
            if issue["resolved_at"] is not None:
                assert action["done_at"] < issue["resolved_at"]
        else:
            assert action["done_at"] is None
            overdue += action["due"] < today
    assert overdue > 0


def test_participations_are_at_meetings_held(built):
    engine, _ = built
    meetings = {m["id"]: m for m in _rows(engine, "meeting")}
    for a in _rows(engine, "attendance"):
        assert meetings[a["meeting_id"]]["status"] == "ended"
    per_meeting = Counter(a["meeting_id"] for a in _rows(engine, "attendance"))
    held = [m for m in meetings.values() if m["status"] == "ended"]
    assert all(per_meeting[m["id"]] > 0 for m in held)
    # Who spoke and wrote on an item was at that meeting, while it was on.
    attended = {a["id"]: a["meeting_id"] for a in _rows(engine, "attendance")}
    entries = {e["id"]: e["meeting_id"] for e in _rows(engine, "agendaentry")}
    spoken = _rows(engine, "speakingrequest") + _rows(engine, "comment")
    assert len(spoken) > len(entries) / 2
    for said in spoken:
        meeting = meetings[said["meeting_id"]]
        assert attended[said["attendance_id"]] == entries[said["agenda_entry_id"]] == meeting["id"]
        at = said.get("raised_at") or said["at"]
        assert meeting["starts_at"] <= at <= meeting["starts_at"] + timedelta(minutes=meeting["duration_minutes"])


# ---------------------------------------------------------------- votes


OWNERS_SCOPES = ("unit", "building", "community")


def _votes(engine) -> tuple[list[dict], dict[str, dict[int, list[dict]]]]:
    """The votes, and each vote table's rows by vote id."""
    by_vote = {}
    for table in VOTE_TABLES[1:]:
        rows = defaultdict(list)
        for row in _rows(engine, table):
            rows[row["vote_id"]].append(row)
        by_vote[table] = rows
    return _rows(engine, "vote"), by_vote


@pytest.fixture(scope="module")
def wider(tmp_path_factory):
    """A larger district on a fixed day: enough votes for every kind the demo holds (in a file, as
    ``built``, for the app)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('wider') / 'district.db'}"
    engine, summary = _build(seed=2026, today=date(2026, 6, 15), scale=0.25, url=url)
    yield engine, summary
    engine.dispose()


def test_the_district_votes_on_owners_matters_and_ratings(wider):
    engine, summary = wider
    votes, _ = _votes(engine)
    c = summary.counts
    # A few a community a quarter: owners' matters at the coordinations, ratings at the reviews.
    assert c["vote"] == len(votes) and 2 * summary.communities <= len(votes) <= 12 * summary.communities
    assert c["vote_secret"] == sum(v["secret"] for v in votes) and c["ballot"] > 5 * len(votes)
    assert {v["status"] for v in votes} == {"closed"}
    assert {v["kind"] for v in votes} == {"for_against", "one_of", "several_of", "rating"}
    assert {v["scope"] for v in votes} == {"attendance", *OWNERS_SCOPES}
    assert {v["rule"] for v in votes} == {"owners_major", "owners_ordinary", "consultation"}
    for kind in ("for_against", "rating"):
        assert {v["secret"] for v in votes if v["kind"] == kind} == {True, False}, kind
    verdicts = Counter(json_result(v)["verdict"] for v in votes if v["rule"] == "owners_major")
    assert verdicts["passed"] > verdicts["failed"] > 0  # most lifts and repairs pass, not all


def _unlabelled(result: dict | None) -> dict | None:
    """The counted result without its words (the API says those in the reader's language)."""
    if result is None:
        return None
    out = {k: v for k, v in result.items() if k != "rule_label"}
    out["totals"] = [{k: v for k, v in t.items() if k != "label"} for t in result.get("totals", [])]
    return out


def _in_chinese(text: str) -> str:
    from forum import i18n

    token = i18n.set_language("zh-Hans")
    try:
        return i18n.gettext(text)
    finally:
        i18n.reset_language(token)


def json_result(vote: dict) -> dict:
    import json

    return json.loads(vote["result"])


def test_votes_are_on_the_agenda_of_their_meeting_and_in_the_issue_timeline(wider):
    engine, _ = wider
    votes, by_vote = _votes(engine)
    entries = {e["id"]: e for e in _rows(engine, "agendaentry")}
    meetings = {m["id"]: m for m in _rows(engine, "meeting")}
    timeline = _rows(engine, "issueevent")
    events = {(e["issue_id"], e["at"]): e for e in timeline if e["action"] == "vote"}
    placed = {(e["issue_id"], e["meeting_id"]): e["at"] for e in timeline if e["action"] == "schedule"}
    ratings = {(r["issue_id"], r["meeting_id"]): r for r in _rows(engine, "rating")}
    assert len(events) == len(votes)
    for vote in votes:
        entry, meeting = entries[vote["agenda_entry_id"]], meetings[vote["meeting_id"]]
        assert (entry["meeting_id"], entry["issue_id"]) == (vote["meeting_id"], vote["issue_id"])
        assert meeting["status"] == "ended" and meeting["community_id"] == vote["community_id"]
        # Owners' ballots are collected from when the item goes on the coordination's agenda; a
        # review votes in the hall. Either closes as the meeting takes the item.
        start = meeting["starts_at"]
        if vote["scope"] == "attendance":
            assert meeting["cadence"] == "quarterly" and start <= vote["opened_at"]
        else:
            assert meeting["cadence"] == "monthly"
            assert vote["opened_at"] == placed[(vote["issue_id"], vote["meeting_id"])] < start
        assert vote["opened_at"] < vote["closed_at"] and start <= vote["closed_at"] <= start + timedelta(hours=2)
        for ballot in by_vote["ballot"][vote["id"]]:
            assert vote["opened_at"] <= ballot["cast_at"] <= vote["closed_at"]
        audit = by_vote["voteaudit"][vote["id"]]
        assert [a["action"] for a in audit][:2] == ["create", "open"] and audit[-1]["action"] == "close"
        assert [a["at"] for a in audit] == sorted(a["at"] for a in audit)
        event = events[(vote["issue_id"], vote["closed_at"])]
        assert event["meeting_id"] == vote["meeting_id"] and vote["question"] in event["note"]
        if vote["kind"] == "rating":
            rating = ratings[(vote["issue_id"], vote["meeting_id"])]
            assert rating["source"] == "vote" and rating["at"] > vote["closed_at"]
            tallies = {t["choice"]: t["heads"] for t in by_vote["votetally"][vote["id"]]}
            assert (rating["satisfied"], rating["basically"], rating["dissatisfied"]) == (
                tallies[counting.SATISFIED], tallies[counting.BASICALLY_SATISFIED], tallies[counting.DISSATISFIED])


def _recount(vote: dict, electors: list[dict], ballots: list[dict], tallies: list[dict]) -> dict:
    """The vote counted again by forum.counting: from the named ballots of an open vote, from the
    anonymous sums of a secret one (one voter per choice carrying its weight, one for the rest)."""
    from fractions import Fraction

    area = vote["rule"] in ("owners_ordinary", "owners_major") or vote["weighting"] != "head"
    as_area = (lambda centi: Fraction(centi, 100)) if area else (lambda centi: None)
    several = vote["kind"] == "several_of"

    def selection(choice: str):
        return choice.split(",") if several else choice

    if vote["secret"]:
        voters, chosen = [], {}
        heads, centi = sum(e["heads"] for e in electors), sum(e["area_centi"] or 0 for e in electors)
        for t in tallies:
            if t["heads"]:
                voters.append(counting.Voter(t["choice"], heads=t["heads"], area=as_area(t["area_centi"])))
                chosen[t["choice"]] = selection(t["choice"])
                heads, centi = heads - t["heads"], centi - t["area_centi"]
        if heads:
            voters.append(counting.Voter("rest", heads=heads, area=as_area(centi)))
    else:
        voters = [counting.Voter(e["voter_key"], heads=e["heads"], owner=e["owner"], area=as_area(e["area_centi"]))
                  for e in electors]
        chosen = {b["voter_key"]: selection(b["choice"]) for b in ballots}
    options = [o["id"] for o in json_result({"result": vote["options"]})] if vote["options"] else None
    return counting.count(vote["kind"], vote["rule"], voters, chosen, options=options, weighting=vote["weighting"],
                          max_choices=vote["max_choices"]).as_dict()


@pytest.mark.parametrize("which", ["built", "wider"])
def test_every_result_is_what_the_law_counts_from_its_ballots(which, request):
    engine, _ = request.getfixturevalue(which)
    votes, by_vote = _votes(engine)
    assert votes
    for vote in votes:
        electors, ballots = by_vote["voteelector"][vote["id"]], by_vote["ballot"][vote["id"]]
        tallies, receipts = by_vote["votetally"][vote["id"]], by_vote["votereceipt"][vote["id"]]
        stored = json_result(vote)
        recount = _recount(vote, electors, ballots, tallies)
        assert {k: stored[k] for k in recount} == recount, vote["id"]
        assert stored["ballots"] == len(receipts) and stored["eligible"] == len(electors)
        if vote["secret"]:
            assert ballots == []  # nothing links a voter to a choice
            assert sum(t["heads"] for t in tallies) == len(receipts)
        else:
            # The tallies the room sees while it is open are the ballots' sums.
            assert {t["choice"]: t["heads"] for t in tallies if t["heads"]} == Counter(b["choice"] for b in ballots)
            assert sorted(b["voter_key"] for b in ballots) == sorted(r["voter_key"] for r in receipts)


def test_nobody_voted_who_was_not_eligible(wider):
    engine, _ = wider
    votes, by_vote = _votes(engine)
    households = _rows(engine, "household")
    owners = defaultdict(set)
    for o in _rows(engine, "ownership"):
        owners[o["household_id"]].add(o["person_id"])
    attendance = defaultdict(list)
    for a in _rows(engine, "attendance"):
        attendance[a["meeting_id"]].append(a)
    for vote in votes:
        electors = {e["voter_key"]: e for e in by_vote["voteelector"][vote["id"]]}
        if vote["scope"] == "attendance":
            # Those present whom staff admitted: the residents checked in, never the guests.
            present = [a for a in attendance[vote["meeting_id"]] if a["admitted"]]
            assert len(electors) == len(present) and all(not a["is_guest"] for a in present)
            assert {e["person_id"] for e in electors.values() if e["person_id"]} <= {a["person_id"] for a in present}
        else:
            # The scope's owners as the register has them (one owner a household here), with their areas.
            scope = [h for h in households if h["community_id"] == vote["community_id"]
                     and (vote["scope"] == "community" or h["building"] == vote["scope_building"])
                     and (vote["scope"] != "unit" or h["unit"] == vote["scope_unit"])]
            assert all(len(owners[h["id"]]) == 1 for h in scope)
            assert {k: e["area_centi"] for k, e in electors.items()} == {
                f"h{h['id']}": int(h["floor_area"] * 100) for h in scope}
            serials = [s["serial"] for s in by_vote["paperserial"][vote["id"]]]
            assert len(serials) == len(by_vote["votereceipt"][vote["id"]])  # every ballot a paper one, numbered
        voted = [r["voter_key"] for r in by_vote["votereceipt"][vote["id"]]]
        assert voted and set(voted) <= set(electors)
        assert {b["voter_key"] for b in by_vote["ballot"][vote["id"]]} <= set(voted)


@pytest.mark.slow
def test_the_votes_show_on_their_pages_and_in_the_api(wider):
    import json

    engine, _ = wider
    votes, by_vote = _votes(engine)
    app = create_app(Settings(database_url="sqlite://", secret_key="t", language="zh-Hans"), engine=engine)
    listed = []
    with TestClient(app) as client:
        page = 1
        while True:
            answer = client.get(f"/api/v1/votes?per_page=100&page={page}")
            assert answer.status_code == 200
            listed += answer.json()["items"]
            if page >= answer.json()["pages"]:
                break
            page += 1
        assert [v["id"] for v in listed] == [v["id"] for v in votes]
        for item, vote in zip(listed, votes, strict=True):
            assert _unlabelled(item["result"]) == _unlabelled(json_result(vote)) and item["secret"] == vote["secret"]
            assert item["result"]["rule_label"] == _in_chinese(json_result(vote)["rule_label"])
            assert item["ballots"] == len(by_vote["votereceipt"][vote["id"]])
        # A secret vote is its totals only: no voter's key or name anywhere in what is served of it.
        secret = next(v for v in votes if v["secret"] and v["scope"] == "attendance")
        shown = [client.get(f"/api/v1/votes/{secret['id']}"), client.get(f"/votes/{secret['id']}"),
                 client.get(f"/votes/{secret['id']}/result.json")]
        assert [r.status_code for r in shown] == [200, 200, 200]
        for elector in by_vote["voteelector"][secret["id"]]:
            assert all(elector["label"] not in r.text and f'"{elector["voter_key"]}"' not in r.text for r in shown)
        assert json.loads(shown[0].text)["result"]["totals"]
        for vote in (next(v for v in votes if not v["secret"] and v["rule"] == "owners_major"),
                     next(v for v in votes if v["kind"] == "several_of")):
            assert client.get(f"/votes/{vote['id']}").status_code == 200
            assert vote["question"] in client.get(f"/meetings/{vote['meeting_id']}/minutes").text
            assert vote["question"] in client.get(f"/issues/{vote['issue_id']}").text


# ---------------------------------------------------------------- reproducible


@pytest.mark.slow
def test_the_same_seed_gives_the_same_rows_and_another_differs():
    day = date(2026, 6, 15)
    digests = []
    for seed in (11, 11, 12):
        engine, _ = _build(seed=seed, today=day)
        digests.append(digest(engine))
        engine.dispose()
    assert digests[0] == digests[1]
    assert digests[2] != digests[0]


# ---------------------------------------------------------------- pages and the command


@pytest.mark.slow
def test_the_dashboards_and_pages_render_on_it(built):
    engine, _ = built
    app = create_app(Settings(database_url="sqlite://", secret_key="t", language="zh-Hans"), engine=engine)
    areas = _rows(engine, "area")
    community = next(a for a in areas if a["kind"] == "community")
    street = next(a for a in areas if a["kind"] == "street")
    reopened = next(e["issue_id"] for e in _rows(engine, "issueevent") if e["action"] == Step.reopen)
    review = next(m for m in _rows(engine, "meeting") if m["cadence"] == "quarterly" and m["status"] == "ended")
    committee = _rows(engine, "committee")[0]
    with TestClient(app) as client:
        for url in (f"/a/{DISTRICT[1]}/dashboard", f"/a/{street['slug']}/dashboard", f"/c/{community['slug']}",
                    f"/c/{community['slug']}/dashboard", f"/c/{community['slug']}/issues",
                    f"/committees/{committee['id']}/dashboard", f"/issues/{reopened}", f"/meetings/{review['id']}",
                    f"/meetings/{review['id']}/minutes", f"/a/{DISTRICT[1]}/issues?status=open",
                    f"/api/v1/issues/{reopened}"):
            response = client.get(url)
            assert response.status_code == 200, (url, response.text[:500])
        page = client.get(f"/a/{DISTRICT[1]}/dashboard").text
        assert all(c["name"] in page for c in areas if c["kind"] == "community")
    # The sign-ins it prints work, and a liaison's "my work" lists the organisation's open actions.
    open_actions = Counter(a["owner_organisation_id"] for a in _rows(engine, "action") if a["status"] != "done")
    busiest = open_actions.most_common(1)[0][0]
    liaison = next(u for u in _rows(engine, "user") if u["organisation_id"] == busiest)
    for username, url in ((f"fac-{community['slug']}", f"/meetings/{review['id']}"),
                          (f"com-{community['slug']}", "/my-work"), ("district", f"/a/{DISTRICT[1]}/dashboard"),
                          (liaison["username"], "/my-work")):
        with TestClient(app) as client:
            signed = client.post("/login", data={"username": username, "password": "demo1234"},
                                 follow_redirects=False)
            assert signed.status_code == 303, username
            response = client.get(url)
            assert response.status_code == 200, (username, url)
    assert "逾期" in response.text  # the liaison's overdue work


def test_built_into_a_session_the_caller_commits():
    engine = database.make_engine("sqlite://")
    database.upgrade(engine)
    with Session(engine) as session:
        summary = build_district(session, seed=3, scale=0.01)
        assert summary.counts["issue"] > 0
        session.rollback()
    assert _rows(engine, "issue") == [] and _rows(engine, "area") == []


@pytest.mark.slow
def test_the_command_builds_it_with_a_progress_bar(tmp_path, monkeypatch):
    from forum.cli import main

    monkeypatch.setenv("FORUM_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--size", "district", "--scale", "0.05", "--seed", "3"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # Four communities in one street: the small demo's two and two more; the votes of the two.
    assert "district demo: 1 streets, 4 communities" in result.output
    assert re.search(r"\d+ ratings, \d+ votes \(\d+ secret\) in", result.output)
    assert "district demo: writing" in result.stderr and "district demo: votes" in result.stderr  # its stages
    assert "/a/yuzhong/dashboard" in result.output
    engine = database.make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with Session(engine) as session:
        users = set(session.execute(select(SQLModel.metadata.tables["user"].c.username)).scalars())
    engine.dispose()
    assert {"facilitator", "district", "street-jiefangbei"} <= users


@pytest.mark.slow
def test_on_postgresql_the_app_inserts_after_the_ids_given(postgres_engine):
    from forum import issue_registry

    database.upgrade(postgres_engine)
    summary = build_district(postgres_engine, seed=5, scale=0.02)
    assert summary.counts["issue"] > 0
    with Session(postgres_engine) as session:
        community = next(a for a in _rows(postgres_engine, "area") if a["kind"] == "community")
        issue = issue_registry.raise_issue(session, community_id=community["id"], title="新问题", description="",
                                           category="noise", place="", source="online", raised_by="住户")
        session.commit()
        assert issue.id == summary.counts["issue"] + 1


def test_rows_are_written_whole_or_refused():
    from forum.demo.district import _complete

    area = dict(id=1, name="渝中区", slug="yuzhong", kind="district")
    assert _complete("area", [area, {**area, "parent_id": 1}])[0] == {**area, "parent_id": None, "archived_at": None}
    with pytest.raises(ValueError, match="no column owner_name"):  # executemany would drop it silently
        _complete("area", [{**area, "owner_name": "x"}])
    with pytest.raises(ValueError, match="issue.raised_at must be given"):  # its default is the clock
        _complete("issue", [dict(id=1, community_id=1, title="t", description="", category="noise", source="online",
                                 raised_by="r", updated_at=datetime(2026, 1, 1))])

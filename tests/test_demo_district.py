"""The district-year demo (forum.demo.district) built small: its counts scale with the district,
its data keeps the app's invariants (lifecycle steps, moments in order, an issue's history ending
where the issue is, ratings of resolved issues, weekly talks on their weekday with gaps), the same
seed gives the same rows, and the pages render on it."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlmodel import Session, SQLModel
from starlette.testclient import TestClient

from forum import db as database
from forum import lifecycle
from forum.app import create_app
from forum.demo.district import DISTRICT, ORDER, build_district, street_plan
from forum.demo.district_data import STREETS
from forum.demo.district_issues import ISSUES_A_YEAR
from forum.lifecycle import Status, Step
from forum.review import Counts, verdict
from forum.settings import Settings

SCALE = 0.04  # three communities in one street
STEPS = {s.value for s in Step}


def _build(seed: int = 7, today: date | None = None, scale: float = SCALE):
    engine = database.make_engine("sqlite://")
    database.upgrade(engine)
    summary = build_district(engine, seed=seed, scale=scale, today=today)
    return engine, summary


@pytest.fixture(scope="module")
def built():
    engine, summary = _build(today=date.today())  # today's: the pages count from the real clock
    yield engine, summary
    engine.dispose()


def _rows(engine, table: str) -> list[dict]:
    t = SQLModel.metadata.tables[table]
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(t).order_by(*t.primary_key.columns))]


def digest(engine) -> str:
    """Every row the build wrote, in key order (the password hash is salted, so left out)."""
    h = hashlib.sha256()
    for table in ORDER:
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
    before = {t: len(_rows(engine, t)) for t in ORDER}
    again = build_district(engine, seed=8, scale=SCALE)
    assert not again.created
    assert {t: len(_rows(engine, t)) for t in ORDER} == before


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


@pytest.mark.slow
def test_the_command_builds_it_with_a_progress_bar(tmp_path, monkeypatch):
    from forum.cli import main

    monkeypatch.setenv("FORUM_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--size", "district", "--scale", "0.05", "--seed", "3"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # Four communities in one street: the small demo's two and two more.
    assert "district demo: 1 streets, 4 communities" in result.output
    assert "district demo: writing" in result.stderr  # the progress bar's stages
    assert "/a/yuzhong/dashboard" in result.output
    engine = database.make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with Session(engine) as session:
        users = set(session.execute(select(SQLModel.metadata.tables["user"].c.username)).scalars())
    engine.dispose()
    assert {"facilitator", "district", "street-jiefangbei"} <= users

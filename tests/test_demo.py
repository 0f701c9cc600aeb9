"""Tests for forum.demo: idempotent, complete (every status, every cadence), and consistent (each
issue's history ends where the issue is, and happened in the past, in order)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from forum import auth, demo, issue_registry
from forum.lifecycle import Status
from forum.models import (
    AgendaEntry,
    Area,
    Attendance,
    Cadence,
    Comment,
    Committee,
    CommitteeKind,
    Household,
    Issue,
    IssueEvent,
    Meeting,
    MeetingStatus,
    Organisation,
    Ownership,
    Person,
    Series,
    SpeakingRequest,
    User,
)
from tests.conftest import drop_engine, empty_engine


@pytest.fixture
def fresh_engine(databases, _empty_template):
    """Migrated empty databases, as many as the test asks for (tests/conftest.py)."""
    made = []

    def fresh():
        made.append(empty_engine(databases, _empty_template))
        return made[-1]

    yield fresh
    for engine in made:
        drop_engine(databases, engine)


@pytest.fixture(scope="module")
def seeded(databases, _empty_template):
    """One demo for the read-only tests below (hashing four passwords takes a moment)."""
    engine = empty_engine(databases, _empty_template)
    with Session(engine) as session:
        summary = demo.seed(session)
        session.commit()
    yield engine, summary
    drop_engine(databases, engine)


@pytest.fixture
def db(seeded):
    with Session(seeded[0]) as session:
        yield session


def community(db: Session, slug: str) -> Area:
    return db.exec(select(Area).where(Area.slug == slug)).one()


def row_counts(session: Session) -> dict[str, int]:
    return {table.name: session.exec(select(func.count()).select_from(table)).one()
            for table in SQLModel.metadata.sorted_tables}


# ---------------------------------------------------------------- idempotent


def test_seeding_twice_gives_the_same_rows(seeded):
    engine, summary = seeded
    assert summary.created
    with Session(engine) as session:
        before = row_counts(session)
        again = demo.seed(session)
        session.commit()
        assert row_counts(session) == before
    assert not again.created
    assert again.communities == summary.communities == ["jiaochangkou", "baixiangjie"]
    assert before["household"] >= 250 and before["issue"] >= 20


def test_the_demo_is_the_same_every_time(monkeypatch, fresh_engine):
    monkeypatch.setattr(demo.places, "hash_password", lambda password: "not-a-hash")
    snapshots = []
    for _ in range(2):
        engine = fresh_engine()
        with Session(engine) as session:
            demo.seed(session, today=datetime(2026, 11, 27, 18, 0))
            households = session.exec(select(Household.building, Household.unit, Household.room,
                                             Household.floor_area).order_by(Household.id)).all()
            people = session.exec(select(Person.name, Person.phone).order_by(Person.id)).all()
            issues = session.exec(select(Issue.title, Issue.status, Issue.raised_at).order_by(Issue.id)).all()
            snapshots.append((households, people, issues))
        engine.dispose()
    assert snapshots[0] == snapshots[1]


def test_seed_joins_an_existing_district_and_admin(monkeypatch, fresh_engine):
    monkeypatch.setattr(demo.places, "hash_password", lambda password: "not-a-hash")
    engine = fresh_engine()
    with Session(engine) as session:
        session.add(Area(name="渝中区", kind="district", slug="yuzhong"))
        session.add(User(username="admin", password_hash="kept", display_name="管理员", role="admin"))
        session.commit()
        demo.seed(session)
        session.commit()
        assert len(session.exec(select(Area).where(Area.slug == "yuzhong")).all()) == 1
        assert session.exec(select(User).where(User.username == "admin")).one().password_hash == "kept"
    engine.dispose()


# ---------------------------------------------------------------- places, people, sign-ins


def test_area_tree(db):
    district = db.exec(select(Area).where(Area.slug == "yuzhong")).one()
    street = db.exec(select(Area).where(Area.slug == "jiefangbei")).one()
    assert (district.name, district.kind, street.name, street.kind, street.parent_id) == \
        ("渝中区", "district", "解放碑街道", "street", district.id)
    for slug, name in (("jiaochangkou", "较场口社区"), ("baixiangjie", "白象街社区")):
        area = community(db, slug)
        assert (area.name, area.kind, area.parent_id) == (name, "community", street.id)


def test_every_community_has_the_3_plus_3_committees(db):
    for slug in ("jiaochangkou", "baixiangjie"):
        committees = db.exec(select(Committee).where(Committee.community_id == community(db, slug).id)).all()
        assert {c.kind: c.name for c in committees} == {k.value: v for k, v in demo.COMMITTEE_NAMES_ZH.items()}


def test_organisations_of_each_kind(db):
    kinds = Counter(o.kind for o in db.exec(select(Organisation)).all())
    assert kinds["department"] >= 3 and kinds["property"] == 1 and kinds["social"] == 1
    names = {o.name for o in db.exec(select(Organisation)).all()}
    assert {"渝中区城市管理局", "渝中区市场监督管理局", "渝中区住房和城乡建设委员会"} <= names


def owners_by_household(db: Session) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for o in db.exec(select(Ownership).order_by(Ownership.person_id)).all():
        out.setdefault(o.household_id, []).append(o.person_id)
    return out


def test_building_5_unit_2_has_twelve_units_and_ten_owners(db):
    """The lift's stairwell as registers have it: two flats still the developer's (let to tenants),
    one owner of 301 and 302, and a couple owning 401 — twelve units, ten owners (SPC art. 9)."""
    c1 = community(db, "jiaochangkou")
    flats = db.exec(select(Household).where(Household.community_id == c1.id, Household.building == "5",
                                            Household.unit == "2").order_by(Household.room)).all()
    assert [h.room for h in flats] == [f"{floor}0{flat}" for floor in range(1, 7) for flat in (1, 2)]
    owned = owners_by_household(db)
    by_room = {h.room: h for h in flats}
    for household in flats:
        assert Decimal("55") <= household.floor_area <= Decimal("140")
        assert household.floor_area == household.floor_area.quantize(Decimal("0.01"))
        # Everyone lives somewhere: each flat has a resident.
        assert db.exec(select(Person).where(Person.household_id == household.id)).first() is not None
    assert [h.room for h in flats if h.developer_held] == ["101", "102"]
    assert "101" not in {h.room for h in flats if h.id in owned} and by_room["102"].id not in owned
    assert owned[by_room["301"].id] == owned[by_room["302"].id] and len(owned[by_room["301"].id]) == 1
    # The owner of 302 lives in 301; 302's resident owns nothing.
    resident_302 = db.exec(select(Person).where(Person.household_id == by_room["302"].id)).one()
    assert resident_302.id not in owned[by_room["302"].id]
    assert len(owned[by_room["401"].id]) == 2
    assert all(len(owned[h.id]) == 1 for h in flats if h.room not in ("101", "102", "401"))
    distinct = {tuple(owned[h.id]) for h in flats if h.id in owned}
    assert len(distinct) + 1 == 10  # nine owners of the sold flats and the developer


def test_about_300_households_each_with_an_owner_except_the_developers(db):
    households = db.exec(select(Household)).all()
    assert 250 <= len(households) <= 350
    assert all(Decimal("55") <= h.floor_area <= Decimal("140") for h in households)
    owned = owners_by_household(db)
    assert set(owned) == {h.id for h in households if not h.developer_held}
    assert sum(h.developer_held for h in households) == 2
    assert Counter(len(ids) for ids in owned.values()) == {1: len(owned) - 1, 2: 1}
    per_community = Counter(h.community_id for h in households)
    assert len(per_community) == 2


@pytest.mark.parametrize(("username", "password", "role"), demo.DEMO_LOGINS)
def test_demo_logins_sign_in(db, username, password, role):
    user = auth.authenticate(db, username, password)
    assert user is not None and user.role == role


def test_staff_belong_where_the_brief_puts_them(db):
    c1 = community(db, "jiaochangkou")
    users = {u.username: u for u in db.exec(select(User)).all()}
    assert (users["facilitator"].display_name, users["facilitator"].community_id) == ("王主任", c1.id)
    committee = db.get(Committee, users["committee"].committee_id)
    assert (committee.kind, committee.community_id, users["committee"].display_name) == \
        (CommitteeKind.environment, c1.id, "李委员")
    assert db.get(Organisation, users["liaison"].organisation_id).name == "渝中区城市管理局"


# ---------------------------------------------------------------- meetings


def test_the_three_cadences_exist(db):
    c1, c2 = community(db, "jiaochangkou"), community(db, "baixiangjie")
    series = {s.cadence: s for s in db.exec(select(Series).where(Series.community_id == c1.id)).all()}
    assert set(series) == {Cadence.weekly, Cadence.monthly, Cadence.quarterly}
    assert series[Cadence.weekly].rrule == "FREQ=WEEKLY;BYDAY=TU"
    assert series[Cadence.weekly].dtstart.strftime("%a %H:%M") == "Tue 19:30"
    assert series[Cadence.monthly].rrule == "FREQ=MONTHLY;BYDAY=1TH"
    assert series[Cadence.quarterly].rrule == "FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR"
    assert all(s.dtstart < datetime.now() - timedelta(days=60) for s in series.values())
    assert db.exec(select(Series).where(Series.community_id == c2.id, Series.cadence == Cadence.weekly)).first()


def test_past_meetings_of_each_cadence_and_an_upcoming_weekly_talk(db):
    c1 = community(db, "jiaochangkou")
    meetings = db.exec(select(Meeting).where(Meeting.community_id == c1.id)).all()
    ended = Counter(m.cadence for m in meetings if m.status == MeetingStatus.ended)
    assert ended[Cadence.weekly] >= 3 and ended[Cadence.monthly] >= 1 and ended[Cadence.quarterly] >= 1
    planned = [m for m in meetings if m.status == MeetingStatus.planned]
    assert [m.cadence for m in planned] == [Cadence.weekly] and planned[0].starts_at > datetime.now()
    assert all(m.join_code is None for m in meetings)
    for meeting in meetings:
        entries = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)).all()
        assert entries, f"{meeting.title} {meeting.starts_at} has no agenda"
        assert sorted(e.position for e in entries) == list(range(1, len(entries) + 1))
        if meeting.status == MeetingStatus.ended:
            assert meeting.started_at and meeting.ended_at and meeting.ended_at < datetime.now()
    decisions = db.exec(select(AgendaEntry).where(AgendaEntry.decision.is_not(None))).all()
    assert len(decisions) >= 5


def test_meetings_fall_on_occurrences_of_their_series(db):
    from dateutil.rrule import rrulestr

    for meeting in db.exec(select(Meeting)).all():
        series = db.get(Series, meeting.series_id)
        rule = rrulestr(series.rrule, dtstart=series.dtstart)
        assert rule.after(meeting.starts_at, inc=True) == meeting.starts_at


# ---------------------------------------------------------------- issues


def test_every_lifecycle_status_is_present(db):
    statuses = {i.status for i in db.exec(select(Issue)).all()}
    assert statuses == {s.value for s in Status}
    c1 = community(db, "jiaochangkou")
    assert {i.status for i in db.exec(select(Issue).where(Issue.community_id == c1.id)).all()} == statuses


def test_the_issues_the_source_names(db):
    issues = db.exec(select(Issue)).all()
    categories = Counter(i.category for i in issues)
    assert {"fumes", "poultry", "homestay", "lift", "noise", "parking", "sanitation", "safety"} <= set(categories)
    lift = db.exec(select(Issue).where(Issue.title == "5栋2单元加装电梯")).one()
    assert (lift.category, lift.place) == ("lift", "5栋2单元")
    assert {i.source for i in issues} == {"meeting", "visit", "hotline", "online"}
    assert 20 <= len(issues) <= 30


def test_each_issue_history_ends_at_its_status(db):
    for issue in db.exec(select(Issue)).all():
        last = db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id)
                       .order_by(IssueEvent.id.desc())).first()
        assert last.to_status == issue.status, issue.title


def test_histories_are_walked_step_by_step_in_the_past(db):
    now = datetime.now()
    for issue in db.exec(select(Issue)).all():
        history = issue_registry.history(db, issue.id)
        assert history[0].action == "raise" and history[0].at == issue.raised_at
        assert [e.id for e in history] == sorted(e.id for e in history), "ordered by time is ordered by step"
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_status == before.to_status, issue.title
        assert history[-1].at < now
        assert (issue.resolved_at is not None) == (issue.status in ("resolved", "reviewed")), issue.title
        if issue.status in ("accepted", "on_agenda", "discussed", "decided", "in_progress", "resolved", "reviewed"):
            assert issue.committee_id is not None
        if issue.status == "merged":
            assert db.get(Issue, issue.merged_into_id).community_id == issue.community_id


def test_decisions_are_on_the_agenda_entry_of_the_meeting_that_took_them(db):
    for event in db.exec(select(IssueEvent).where(IssueEvent.action == "decide")).all():
        entry = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == event.meeting_id,
                                                  AgendaEntry.issue_id == event.issue_id)).one()
        assert entry.decision == event.note and entry.decision


def test_a_dissatisfied_review_reopened_an_issue(db):
    reopened = db.exec(select(IssueEvent).where(IssueEvent.action == "reopen")).all()
    assert reopened and all(e.note for e in reopened)
    meeting = db.get(Meeting, reopened[0].meeting_id)
    assert meeting.cadence == Cadence.quarterly


@pytest.mark.parametrize("today", [
    datetime(2026, 1, 1, 0, 5),     # new year: the quarterly review was in the autumn
    datetime(2026, 3, 3, 21, 0),    # a Tuesday, the weekly talk just ended
    datetime(2026, 4, 2, 16, 0),    # a first Thursday, the monthly meeting still in session
    datetime(2026, 7, 31, 18, 0),   # a quarterly review day
    datetime(2027, 2, 28, 23, 59),
])
def test_the_demo_holds_together_whatever_the_day(monkeypatch, today, fresh_engine):
    monkeypatch.setattr(demo.places, "hash_password", lambda password: "not-a-hash")
    engine = fresh_engine()
    with Session(engine) as session:
        demo.seed(session, today=today)
        issues = session.exec(select(Issue)).all()
        assert {i.status for i in issues} == {s.value for s in Status}
        for issue in issues:
            history = issue_registry.history(session, issue.id)
            assert [e.id for e in history] == sorted(e.id for e in history), issue.title
            assert history[-1].to_status == issue.status and history[-1].at < today
        for meeting in session.exec(select(Meeting)).all():
            end = meeting.starts_at + timedelta(minutes=meeting.duration_minutes)
            assert (meeting.status == MeetingStatus.ended) == (end <= today)
            for event in session.exec(select(IssueEvent).where(IssueEvent.meeting_id == meeting.id,
                                                               IssueEvent.action.in_(["discuss", "decide"]))):
                assert meeting.starts_at <= event.at <= end
    engine.dispose()


def test_held_meetings_have_a_live_record(db):
    # Attendance, speakers and comments, so the minutes of a past meeting read as a real one's.
    held = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.ended)).all()
    assert held
    for meeting in held:
        came = db.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
        assert len(came) >= 8
        owners = [a for a in came if not a.is_guest]
        assert all(db.get(Person, a.person_id).household_id == a.household_id for a in owners)
        entries = {e.id for e in db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id))}
        spoke = db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting.id)).all()
        assert {s.agenda_entry_id for s in spoke} == entries
        assert all(s.status == "done" and s.raised_at < s.started_at < s.ended_at for s in spoke)
        assert {s.attendance_id for s in spoke} <= {a.id for a in came}
    comments = db.exec(select(Comment).where(Comment.meeting_id.in_([m.id for m in held]))).all()
    assert comments and all(c.text in demo.COMMENTS for c in comments)

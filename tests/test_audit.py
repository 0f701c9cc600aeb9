"""The staff audit log: each kind of staff change writes exactly one entry (who, what, when, from
where); refused changes write none; only admins read it; filters and pages; no way to change it."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, func, select
from starlette.routing import Route
from starlette.testclient import TestClient

from forum import audit
from forum.app import routes
from forum.models import (
    AgendaEntry,
    Area,
    AuditEntry,
    Committee,
    Issue,
    Meeting,
    MeetingStatus,
    Series,
    SpeakingRequest,
    now,
)
from tests.app_world import flat
from tests.conftest import sign_in, upcoming_meeting
from tests.test_forms import apply_preview
from tests.test_votes import check_in, create, lift_meeting, open_, owners_of_unit


class Log:
    """Reads the entries written since it last looked."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seen = self._last()

    def _last(self) -> int:
        with Session(self.engine) as db:
            return db.exec(select(func.max(AuditEntry.id))).one() or 0

    def new(self) -> list[AuditEntry]:
        with Session(self.engine) as db:
            rows = list(db.exec(select(AuditEntry).where(AuditEntry.id > self.seen).order_by(AuditEntry.id)))
        self.seen = rows[-1].id if rows else self.seen
        return rows

    def one(self, action: str, target_type: str, target_id: int | None, actor: str = "facilitator") -> AuditEntry:
        rows = self.new()
        assert [r.action for r in rows] == [action], rows
        entry = rows[0]
        assert (entry.actor, entry.address, entry.target_type, entry.target_id) == \
            (actor, "testclient", target_type, target_id)
        assert abs(entry.at - now()) < timedelta(minutes=1)
        return entry


@pytest.fixture
def db(demo_engine):
    with Session(demo_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def log(demo_engine) -> Log:
    return Log(demo_engine)


def ok(response) -> None:
    assert response.status_code in (200, 303), response.text[:500]


def test_sign_in_out_refusals_and_password_changes_are_logged(app, log):
    with TestClient(app) as client:
        client.post("/login", data={"username": "facilitator", "password": "nope-nope"})
        refused = log.one("signin_refused", "", None, actor="facilitator")
        assert refused.actor_id is None  # a name typed at the door proves nothing about who typed it
        client.post("/login", data={"username": "nobody-here", "password": "nope-nope"})
        log.one("signin_refused", "", None, actor="nobody-here")
        sign_in(client, "facilitator")
        entry = log.one("signin", "user", log_user_id(app, "facilitator"))
        assert entry.actor_id == entry.target_id
        ok(client.post("/account/password", data={"current": "demo1234", "new": "pass-9876543",
                                                  "again": "pass-9876543"}))
        log.one("password", "user", log_user_id(app, "facilitator"))
        ok(client.post("/logout"))
        log.one("signout", "user", log_user_id(app, "facilitator"))


def log_user_id(app, username: str) -> int:
    from forum.models import User

    with Session(app.state.engine) as db:
        return db.exec(select(User.id).where(User.username == username)).one()


def c1(db) -> int:
    return db.exec(select(Area.id).where(Area.slug == "jiaochangkou")).one()


def test_issue_series_and_agenda_changes_are_logged(facilitator, db, log):
    raised = db.exec(select(Issue).where(Issue.status == "raised", Issue.community_id == c1(db))).first()
    committee = db.exec(select(Committee).where(Committee.community_id == raised.community_id)).first()
    ok(facilitator.post(f"/issues/{raised.id}/move", data={"action": "accept", "committee": str(committee.id)}))
    entry = log.one("issue_move", "issue", raised.id)
    assert entry.community_id == raised.community_id and "accepted" in entry.detail

    ok(facilitator.post("/c/jiaochangkou/series/new", data={
        "title": "测试恳谈会", "cadence": "weekly", "rrule": "FREQ=WEEKLY;BYDAY=TU", "dtstart": "2026-12-01T19:30",
        "duration_minutes": "90", "place": "社区活动室", "forum_format": ""}))
    series = db.exec(select(Series).where(Series.title == "测试恳谈会")).one()
    log.one("series_create", "series", series.id)

    ok(facilitator.post(f"/series/{series.id}/meetings", data={"starts_at": "2026-12-08T19:30:00"}))
    meeting = db.exec(select(Meeting).where(Meeting.series_id == series.id)).one()
    log.one("meeting_create", "meeting", meeting.id)

    ok(facilitator.post(f"/issues/{raised.id}/schedule", data={"meeting": str(meeting.id)}))
    log.one("issue_schedule", "issue", raised.id)

    other = db.exec(select(Issue).where(Issue.status == "accepted", Issue.community_id == c1(db),
                                        Issue.id != raised.id)).first()
    ok(facilitator.post(f"/meetings/{meeting.id}/agenda", data={"issue": str(other.id), "planned_minutes": "15"}))
    log.one("agenda_add", "meeting", meeting.id)
    entry = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id,
                                              AgendaEntry.issue_id == other.id)).one()
    ok(facilitator.post(f"/meetings/{meeting.id}/agenda/{entry.id}/move", data={"direction": "up"}))
    log.one("agenda_move", "meeting", meeting.id)
    ok(facilitator.post(f"/meetings/{meeting.id}/agenda/{entry.id}/minutes", data={"planned_minutes": "20"}))
    log.one("agenda_minutes", "meeting", meeting.id)
    ok(facilitator.post(f"/meetings/{meeting.id}/agenda/{entry.id}/remove"))
    log.one("agenda_remove", "meeting", meeting.id)


def test_refused_changes_are_not_logged(facilitator, committee_member, db, log):
    meeting_id = upcoming_meeting(db.get_bind())
    entry = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting_id)).first()
    assert facilitator.post(f"/meetings/{meeting_id}/agenda/{entry.id}/minutes",
                            data={"planned_minutes": "0"}).status_code == 422
    assert facilitator.post(f"/meetings/{meeting_id}/run/checkin", data={"name": ""}).status_code == 422
    assert committee_member.post(f"/meetings/{meeting_id}/run/start").status_code == 403
    issue = db.exec(select(Issue).where(Issue.status == "raised")).first()
    assert facilitator.post(f"/issues/{issue.id}/move", data={"action": "accept", "committee": ""}).status_code == 422
    assert log.new() == []


CONSOLE = ["start", "next", "previous", "jump", "checkin", "decision", "floor", "next-speaker", "remove", "clear",
           "end"]


def test_every_console_action_is_logged(app, facilitator, db, log):
    meeting_id = upcoming_meeting(db.get_bind())
    entries = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting_id)).all()
    for action in CONSOLE:
        data: dict[str, str] = {}
        if action == "jump":
            data = {"entry": str(entries[-1].id)}
        elif action == "checkin":
            data = {"name": "李阿姨", "building": "3", "unit": "1", "room": "201"}
        elif action == "decision":
            data = {"decision": "请物业两周内清理"}
        elif action in ("floor", "remove"):
            db.expire_all()
            code = db.get(Meeting, meeting_id).join_code
            with TestClient(app) as pad:  # a resident raises a hand from a tablet, with the hall's code
                pad.post(f"/meetings/{meeting_id}/tablet/join", data={"name": f"举手{action}", "code": code})
                pad.post(f"/meetings/{meeting_id}/tablet/hand", data={"up": "1"})
            log.new()  # (a resident's own doing: not in the staff log)
            db.expire_all()
            waiting = db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting_id,
                                                            SpeakingRequest.status == "waiting")).first()
            data = {"request": str(waiting.id)}
        ok(facilitator.post(f"/meetings/{meeting_id}/run/{action}", data=data))
        entry = log.one(f"room_{action.replace('-', '_')}", "meeting", meeting_id)
        if action == "checkin":
            assert "李阿姨" not in entry.detail and entry.detail.startswith("attendance ")
        if action == "decision":
            assert entry.detail == "请物业两周内清理"
    db.expire_all()
    assert db.get(Meeting, meeting_id).status == MeetingStatus.ended


def test_vote_steps_and_the_shared_tablet_are_logged(app, facilitator, db, log):
    meeting, entry = lift_meeting(db)
    people = [check_in(db, meeting, p) for p in owners_of_unit(db)[:3]]
    vote_id = create(facilitator, meeting, entry)
    log.one("vote_create", "vote", vote_id)
    ok(facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": f"p{people[1].person_id}",
                                                         "holder": str(people[0].id)}))
    log.one("vote_proxy", "vote", vote_id)
    open_(facilitator, vote_id)
    log.one("vote_open", "vote", vote_id)
    ok(facilitator.post(f"/votes/{vote_id}/hands", data={"hands-for": "2", "hands-against": "1"}))
    log.one("vote_hands", "vote", vote_id)
    ok(facilitator.post(f"/votes/{vote_id}/shared-tablet", data={"voter": f"p{people[2].person_id}"}))
    log.one("vote_kiosk", "vote", vote_id)
    ok(facilitator.post(f"/votes/{vote_id}/close"))
    log.one("vote_close", "vote", vote_id)
    with TestClient(app) as device:
        sign_in(device, "facilitator")
        log.new()
        ok(device.post(f"/meetings/{meeting.id}/shared-tablet"))
        log.one("shared_tablet", "meeting", meeting.id)


def test_a_paper_ballot_is_logged_without_its_choice(facilitator, db, log):
    from tests.test_votes import lift_issue, unit_households

    issue = lift_issue(db)
    data = {"question": "加装电梯", "kind": "for_against", "scope": "unit", "scope_building": "5", "scope_unit": "2",
            "counting_unit": "household", "weighting": "both", "rule": "owners_major", "closing": "facilitator",
            "secret": "on"}
    vote_id = int(facilitator.post(f"/issues/{issue.id}/votes", data=data,
                                   follow_redirects=False).headers["location"].rsplit("/", 1)[1])
    open_(facilitator, vote_id)
    log.new()
    household = next(h for h in unit_households(db) if not h.developer_held)  # an owner of its own
    ok(facilitator.post(f"/votes/{vote_id}/paper", data={"voter": f"h{household.id}", "serial": "A-007",
                                                         "choice": "against"}))
    entry = log.one("vote_paper", "vote", vote_id)
    assert entry.detail == "serial A-007" and "against" not in entry.detail and "反对" not in entry.detail


def test_a_household_import_is_logged(admin, db, log):
    csv = "楼栋,单元,房号,面积,业主,电话\n9,1,101,88.50,张三,13800000001\n".encode()
    preview = admin.post("/admin/households", data={"community": str(c1(db))},
                         files={"file": ("register.csv", io.BytesIO(csv), "text/csv")})
    ok(preview)
    assert db.exec(select(AuditEntry).where(AuditEntry.action == "household_import")).first() is None  # a preview
    ok(apply_preview(admin, preview))
    entry = log.one("household_import", "community", c1(db), actor="admin")
    assert entry.detail == "1 new, 0 updated"


# ---------------------------------------------------------------- reading the log


def test_only_admins_read_the_log(client, facilitator, committee_member, admin):
    assert client.get("/admin/audit", follow_redirects=False).status_code == 303
    assert facilitator.get("/admin/audit").status_code == 403
    assert committee_member.get("/admin/audit").status_code == 403
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    rows = BeautifulSoup(page.text, "html.parser").select("table.audit-log tbody tr")
    # The sign-ins of the fixtures themselves are on it, newest first.
    assert [r.select("td")[1].get_text(strip=True) for r in rows][:3] == ["admin", "committee", "facilitator"]
    assert rows[0].select("td")[3].get_text(strip=True) == "登录"


def _fill(engine, n: int) -> None:
    start = datetime(2026, 10, 1, 8, 0)
    with Session(engine) as db:
        for i in range(n):
            audit.record(db, None, "issue_move" if i % 2 else "agenda_add", "issue" if i % 2 else "meeting",
                         i % 5, f"n{i}", actor="alice" if i % 3 else "bob", at=start + timedelta(days=i % 30))
        db.commit()


def _shown(page) -> list[str]:
    return [r.select("td")[6].get_text(strip=True)
            for r in BeautifulSoup(page.text, "html.parser").select("table.audit-log tbody tr")]


def test_filters(admin, demo_engine):
    _fill(demo_engine, 60)
    by_bob = _shown(admin.get("/admin/audit", params={"actor": "bob"}))
    assert by_bob == [f"n{i}" for i in reversed(range(60)) if i % 3 == 0]
    moves = _shown(admin.get("/admin/audit", params={"action": "issue_move", "actor": "alice"}))
    assert moves == [f"n{i}" for i in reversed(range(60)) if i % 2 and i % 3]
    about = _shown(admin.get("/admin/audit", params={"target_type": "meeting", "target_id": "4", "actor": "alice"}))
    assert about == [f"n{i}" for i in reversed(range(60)) if i % 2 == 0 and i % 5 == 4 and i % 3]
    days = _shown(admin.get("/admin/audit", params={"since": "2026-10-03", "until": "2026-10-04", "actor": "alice"}))
    assert days == [f"n{i}" for i in reversed(range(60)) if i % 30 in (2, 3) and i % 3]


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "30/11/2026"}, "since"), ({"until": "9999-12-31"}, "until"), ({"target_id": "9" * 30}, "target_id"),
    ({"action": "drop table"}, "action"), ({"target_type": "x"}, "target_type"),
])
def test_a_bad_filter_is_named_beside_its_field(admin, params, field):
    page = admin.get("/admin/audit", params=params)
    assert page.status_code == 422
    assert BeautifulSoup(page.text, "html.parser").select_one(f"#{field}-error").get_text(strip=True)


def test_pages_of_fifty_walk_the_whole_log(admin, demo_engine):
    _fill(demo_engine, 120)
    seen: list[str] = []
    url: str | None = "/admin/audit?actor=alice"
    pages = 0
    while url and pages < 10:
        soup = BeautifulSoup(admin.get(url).text, "html.parser")
        seen += [r.select("td")[6].get_text(strip=True) for r in soup.select("table.audit-log tbody tr")]
        older = soup.select_one("a[rel=next]")
        url = older["href"] if older else None
        pages += 1
    assert pages == 2 and seen == [f"n{i}" for i in reversed(range(120)) if i % 3]


def test_the_log_has_no_way_to_change_an_entry(admin, demo_engine):
    for path, route, _convertors in flat(routes):
        if isinstance(route, Route) and ("audit" in path):
            assert route.methods <= {"GET", "HEAD"}, path
    with Session(demo_engine) as db:
        before = db.exec(select(func.count()).select_from(AuditEntry)).one()
    for method in ("post", "put", "delete", "patch"):
        assert getattr(admin, method)("/admin/audit").status_code == 405
    with Session(demo_engine) as db:
        assert db.exec(select(func.count()).select_from(AuditEntry)).one() == before
    assert not [name for name in dir(audit) if any(w in name for w in ("update", "delete", "erase", "remove"))]


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="forum.audit.ACTIONS"):
        audit.record(None, None, "made_up")  # type: ignore[arg-type]


def test_every_action_has_a_label_and_the_page_shows_it(admin, demo_engine):
    with Session(demo_engine) as db:
        for action in audit.ACTIONS:
            audit.record(db, None, action, actor="cli")
        db.commit()
    shown, address = set(), "/admin/audit?actor=cli"
    while address:  # more kinds of change than fit one page: follow the pager
        page = BeautifulSoup(admin.get(address).text, "html.parser")
        shown |= {r.select("td")[3].get_text(strip=True) for r in page.select("table.audit-log tbody tr")}
        older = page.select_one("a[rel=next]")
        address = older["href"] if older else None
    assert len(shown) == len(audit.ACTIONS) and all(any("\u4e00" <= ch <= "\u9fff" for ch in s) for s in shown)

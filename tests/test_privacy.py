"""Residents' names and flats are for their own community's staff: the public minutes and a vote's
public page show roles and counts; another community's facilitator sees no voter; a person's data
can be exported and erased, keeping every count."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from forum import auth
from forum.cli import main
from forum.models import (
    Area,
    Attendance,
    AuditEntry,
    Comment,
    Meeting,
    MeetingStatus,
    Person,
    Vote,
    VoteReceipt,
    VoteTally,
)
from tests.conftest import sign_in
from tests.test_votes import check_in, create, lift_meeting, open_, owners_of_unit, tablet


@pytest.fixture
def db(demo_engine):
    with Session(demo_engine, expire_on_commit=False) as session:
        yield session


def community_id(db, slug: str) -> int:
    return db.exec(select(Area.id).where(Area.slug == slug)).one()


@pytest.fixture
def outsider(app, db):
    """A facilitator of the demo's other community (白象街)."""
    auth.create_user(db, username="c2-facilitator", password="pw-12345678", display_name="陈书记",
                     role="facilitator", community_id=community_id(db, "baixiangjie"))
    db.commit()
    with TestClient(app) as client:
        yield sign_in(client, "c2-facilitator", "pw-12345678")


def held_meeting(db) -> tuple[Meeting, list[Attendance]]:
    """The demo's ended meeting of 较场口 with the most residents checked in."""
    ended = db.exec(select(Meeting).where(Meeting.community_id == community_id(db, "jiaochangkou"),
                                          Meeting.status == MeetingStatus.ended)).all()
    pairs = [(m, list(db.exec(select(Attendance).where(Attendance.meeting_id == m.id)))) for m in ended]
    return max(pairs, key=lambda p: len(p[1]))


def flats(people: list[Attendance]) -> list[str]:
    return [f"{a.building}-{a.unit}-{a.room}" for a in people if a.building]


@pytest.fixture
def liaison(app):
    """An organisation's liaison: signed in, but staff of no community (the city management bureau)."""
    with TestClient(app) as client:
        yield sign_in(client, "liaison")


def test_public_minutes_show_roles_and_counts_not_names_or_flats(client, outsider, liaison, db):
    meeting, people = held_meeting(db)
    residents = [a for a in people if not a.is_guest]
    assert len(residents) >= 8 and flats(people)
    for who in (client, outsider, liaison):
        page = BeautifulSoup(who.get(f"/meetings/{meeting.id}/minutes").text, "html.parser")
        text = page.select_one("article.minutes").get_text(" ", strip=True)
        markdown = who.get(f"/meetings/{meeting.id}/minutes.md").text
        for a in people:
            assert a.name not in text and a.name not in markdown, a.name
        for flat in flats(people):
            assert flat not in text and flat not in markdown
        counts = page.select_one("#min-att").find_next("ul").get_text(" ", strip=True)
        assert counts == f"居民: {len(residents)} 访客: {len(people) - len(residents)}"
        assert f"- 居民: {len(residents)}" in markdown
        # Speakers are still there, by role.
        assert "居民" in page.select_one(".minutes-entry").get_text()


def test_the_communitys_staff_see_the_full_minutes(facilitator, admin, db):
    meeting, people = held_meeting(db)
    for who in (facilitator, admin):
        text = who.get(f"/meetings/{meeting.id}/minutes").text
        markdown = who.get(f"/meetings/{meeting.id}/minutes.md").text
        assert all(a.name in text and a.name in markdown for a in people)
        assert all(flat in text for flat in flats(people))


@pytest.fixture
def open_vote(app, facilitator, db):
    meeting, entry = lift_meeting(db)
    people = [check_in(db, meeting, p) for p in owners_of_unit(db)[:3]]
    vote_id = create(facilitator, meeting, entry)
    facilitator.post(f"/votes/{vote_id}/proxy", data={"principal": f"p{people[2].person_id}",
                                                      "holder": str(people[1].id)})
    open_(facilitator, vote_id)
    tablet(app, people[0]).post(f"/votes/{vote_id}/cast", data={"voter": f"p{people[0].person_id}",
                                                                 "choice": "for"})
    return vote_id, people


def test_another_communitys_facilitator_sees_no_voter_on_a_vote(outsider, facilitator, client, open_vote, db):
    vote_id, people = open_vote
    own = facilitator.get(f"/votes/{vote_id}").text
    assert people[1].name in own  # the community's facilitator: a pending voter, by name
    for who in (outsider, client):
        page = who.get(f"/votes/{vote_id}")
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        assert not soup.select("section.staff")  # no pending voters, kiosk, paper, hands or proxy forms
        for a in people:
            assert a.name not in page.text, a.name
        # The trail still says a ballot was counted, without whose.
        assert "一位投票人" in soup.select_one("#h-audit").find_parent("section").get_text()
        assert who.post(f"/votes/{vote_id}/close", follow_redirects=False).status_code in (303, 403)
    db.expire_all()
    assert db.get(Vote, vote_id).status == "open"


def test_staff_export_a_persons_data(facilitator, outsider, committee_member, client, db):
    meeting, people = held_meeting(db)
    resident = next(a for a in people if a.person_id is not None)
    person = db.get(Person, resident.person_id)
    url = f"/admin/people/{person.id}/export.json"
    response = facilitator.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    data = json.loads(response.content)
    attended = db.exec(select(func.count()).select_from(Attendance).where(Attendance.person_id == person.id)).one()
    written = db.exec(select(func.count()).select_from(Comment).join(Attendance, Comment.attendance_id == Attendance.id)
                      .where(Attendance.person_id == person.id)).one()
    assert data["person"]["name"] == person.name and data["household"]["room"] == resident.room
    assert len(data["attendance"]) == attended >= 1 and meeting.id in [a["meeting_id"] for a in data["attendance"]]
    assert len(data["comments"]) == written
    assert outsider.get(url).status_code == 403
    assert committee_member.get(url).status_code == 403
    assert client.get(url, follow_redirects=False).status_code == 303
    assert facilitator.get(f"/admin/people/{person.id}").status_code == 200
    assert outsider.get(f"/admin/people/{person.id}").status_code == 403
    exports = db.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "person_export")).one()
    assert exports == 1


def test_erasing_a_person_keeps_the_counts(admin, facilitator, open_vote, db):
    vote_id, people = open_vote
    voter = people[0]
    person = db.get(Person, voter.person_id)
    name = person.name
    attendance_before = db.exec(select(func.count()).select_from(Attendance)).one()
    tallies_before = [(t.choice, t.heads, t.area_centi) for t in db.exec(select(VoteTally)
                                                                         .where(VoteTally.vote_id == vote_id))]
    assert facilitator.post(f"/admin/people/{person.id}/erase").status_code == 403
    db.expire_all()
    assert db.get(Person, person.id).name == name  # refused: nothing changed

    assert admin.post(f"/admin/people/{person.id}/erase", follow_redirects=False).status_code == 303
    db.expire_all()
    erased = db.get(Person, person.id)
    assert erased.name == f"已删除的居民 #{person.id}" and erased.phone is None
    mine = db.get(Attendance, voter.id)
    assert (mine.name, mine.building, mine.unit, mine.room) == (erased.name, "", "", "")
    assert db.exec(select(func.count()).select_from(Attendance)).one() == attendance_before
    assert [(t.choice, t.heads, t.area_centi) for t in db.exec(select(VoteTally)
                                                               .where(VoteTally.vote_id == vote_id))] == tallies_before
    assert db.exec(select(func.count()).select_from(VoteReceipt).where(VoteReceipt.vote_id == vote_id)).one() == 1
    for page in (f"/votes/{vote_id}", f"/meetings/{voter.meeting_id}/minutes", f"/admin/people/{person.id}"):
        assert name not in facilitator.get(page).text, page
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "person_erase")).one()
    assert entry.actor == "admin" and entry.target_id == person.id and name not in entry.detail


def test_the_command_line_exports_and_erases(demo_engine, db, monkeypatch):
    monkeypatch.setenv("FORUM_DATABASE_URL", str(demo_engine.url))
    _meeting, people = held_meeting(db)
    resident = next(a for a in people if a.person_id is not None)
    name = resident.name
    runner = CliRunner()
    exported = runner.invoke(main, ["person", "export", str(resident.person_id)], catch_exceptions=False)
    assert exported.exit_code == 0 and json.loads(exported.output)["person"]["name"] == name
    assert runner.invoke(main, ["person", "erase", str(resident.person_id)], input="n\n").exit_code == 1
    db.expire_all()
    assert db.get(Person, resident.person_id).name == name
    erased = runner.invoke(main, ["person", "erase", str(resident.person_id), "--yes"], catch_exceptions=False)
    assert erased.exit_code == 0
    db.expire_all()
    assert db.get(Person, resident.person_id).name.startswith("已删除的居民")
    assert name not in {a.name for a in db.exec(select(Attendance).where(Attendance.person_id == resident.person_id))}
    missing = runner.invoke(main, ["person", "export", "99999999999999999999"])
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def test_who_raised_an_issue_is_for_the_communitys_staff(client, outsider, liaison, facilitator, db):
    from forum.models import Issue

    issue = db.exec(select(Issue).where(Issue.raised_by == "4栋住户 谭秀兰")).one()
    assert "谭秀兰" in facilitator.get(f"/issues/{issue.id}").text
    for who in (client, outsider, liaison):
        page = BeautifulSoup(who.get(f"/issues/{issue.id}").text, "html.parser")
        assert "谭秀兰" not in page.text and "一位居民" in page.select_one("dl").get_text()


def test_the_tablet_page_shows_an_anonymous_device_nobody_checked_in(client, facilitator, db):
    """No list of names to pick from: it offered the identity of whoever staff had checked in."""
    from tests.conftest import upcoming_meeting

    meeting_id = upcoming_meeting(db.get_bind())
    facilitator.post(f"/meetings/{meeting_id}/run/start")
    facilitator.post(f"/meetings/{meeting_id}/run/checkin", data={"name": "刘奶奶", "building": "3", "unit": "1",
                                                                 "room": "502"})
    assert "刘奶奶" in facilitator.get(f"/meetings/{meeting_id}/run").text  # she is checked in
    page = client.get(f"/meetings/{meeting_id}/tablet").text
    assert "刘奶奶" not in page and "3-1-502" not in page
    assert not BeautifulSoup(page, "html.parser").select("select[name=attendance]")


def test_erasing_renames_who_raised_an_issue_and_the_export_lists_it(admin, db):
    from forum.models import Household, Issue

    issue = db.exec(select(Issue).where(Issue.raised_by.contains("居民代表"))).one()
    person = db.exec(select(Person).join(Household, Person.household_id == Household.id)
                     .where(Household.community_id == issue.community_id, Household.building == "5",
                            Household.unit == "2", Household.room == "601")).one()
    assert person.name in issue.raised_by
    # Someone of the other community who shares a name with another issue's raiser is not matched.
    stranger = db.exec(select(Person).where(Person.name == "汪国华")).one()
    assert json.loads(admin.get(f"/admin/people/{stranger.id}/export.json").content)["issues_raised"] == []
    exported = json.loads(admin.get(f"/admin/people/{person.id}/export.json").content)
    assert [i["id"] for i in exported["issues_raised"]] == [issue.id]
    admin.post(f"/admin/people/{person.id}/erase")
    db.expire_all()
    assert db.get(Issue, issue.id).raised_by == f"5栋2单元居民代表 已删除的居民 #{person.id}（601）"
    others = db.exec(select(func.count()).select_from(Issue).where(Issue.raised_by.contains("已删除"))).one()
    assert others == 1

"""Follow-up pages on the demo: agreeing actions, who may update them (a liaison of another
organisation: 403), bad input refused by the field with nothing stored, resolving once every action
is done, the quarterly review's 不满意 reopening the issue onto the next weekly talk's draft."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import issue_registry
from forum.auth import create_user
from forum.lifecycle import Facts
from forum.models import Action, ActionNote, Area, Committee, Issue, IssueEvent, Notice, Organisation, Rating, User
from tests.conftest import sign_in

TODAY = date.today()


@pytest.fixture
def decided(demo_engine) -> dict:
    """A decided kitchen-fumes issue of the first community, with its committee."""
    with Session(demo_engine, expire_on_commit=False) as db:
        community = db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first()
        committee = db.exec(select(Committee).where(Committee.community_id == community.id,
                                                    Committee.kind == "environment")).first()
        issue = issue_registry.raise_issue(db, community_id=community.id, title="面馆油烟扰民", description="",
                                           category="fumes", place="3号", source="meeting", raised_by="居民")
        issue_registry.move(db, issue, "accept", actor="t", facts=Facts(committee_id=committee.id))
        # Taken up at a weekly talk and decided there (the meeting itself is test_room's business).
        issue.status = "decided"
        liaison = db.exec(select(User).where(User.username == "liaison")).one()
        other = db.exec(select(Organisation).where(Organisation.id != liaison.organisation_id)
                        .order_by(Organisation.id)).first()
        create_user(db, username="other.liaison", password="demo1234", display_name="别的联络人", role="liaison",
                    organisation_id=other.id)
        db.commit()
        return {"issue": issue.id, "committee": committee.id, "community": community.id,
                "org": liaison.organisation_id, "other_org": other.id}


def count(engine, model) -> int:
    with Session(engine) as db:
        return len(db.exec(select(model)).all())


def add(client: TestClient, issue: int, **fields) -> object:
    data = {"what": "面馆更换油烟净化设备", "owner": "", "due": (TODAY + timedelta(days=15)).isoformat()} | fields
    return client.post(f"/issues/{issue}/actions", data=data, follow_redirects=False)


def test_a_facilitator_agrees_an_action_and_it_is_on_the_timeline_and_audited(facilitator, demo_engine, decided):
    r = add(facilitator, decided["issue"], owner=f"o{decided['org']}")
    assert r.status_code == 303
    with Session(demo_engine) as db:
        action = db.exec(select(Action).where(Action.issue_id == decided["issue"])).one()
        assert (action.status, action.owner_organisation_id) == ("open", decided["org"])
        events = db.exec(select(IssueEvent).where(IssueEvent.issue_id == decided["issue"],
                                                  IssueEvent.action == "action_create")).all()
        assert len(events) == 1
        # The owner's liaison is told.
        liaison = db.exec(select(User).where(User.username == "liaison")).one()
        assert db.exec(select(Notice).where(Notice.user_id == liaison.id, Notice.action_id == action.id)).one()
    page = facilitator.get(f"/issues/{decided['issue']}").text
    assert "面馆更换油烟净化设备" in page
    audit = facilitator.get("/admin/audit")  # facilitators do not read the log; admins do
    assert audit.status_code in (403, 200)


@pytest.mark.parametrize(("fields", "field"), [
    ({"due": (TODAY - timedelta(days=1)).isoformat()}, "due"),
    ({"due": "2026-13-45"}, "due"),
    ({"due": ""}, "due"),
    ({"owner": ""}, "owner"),
    ({"owner": "o999999"}, "owner"),
    ({"what": "   "}, "what"),
])
def test_bad_input_is_refused_by_the_field_keeping_what_was_typed(facilitator, demo_engine, decided, fields, field):
    owner = fields.pop("owner", f"o{decided['org']}")
    before = count(demo_engine, Action), count(demo_engine, IssueEvent)
    r = add(facilitator, decided["issue"], owner=owner, **fields)
    assert r.status_code == 422
    page = BeautifulSoup(r.text, "html.parser")
    assert page.select_one(f"#a-{field}-error"), r.text[:2000]
    assert page.select_one("#f-a-what")["value"] == fields.get("what", "面馆更换油烟净化设备").strip()
    assert (count(demo_engine, Action), count(demo_engine, IssueEvent)) == before


def _action(facilitator, decided, owner) -> int:
    assert add(facilitator, decided["issue"], owner=owner).status_code == 303
    return max(a.id for a in [*_actions(facilitator.app.state.engine, decided["issue"])])


def _actions(engine, issue_id):
    with Session(engine) as db:
        return db.exec(select(Action).where(Action.issue_id == issue_id)).all()


def test_a_liaison_updates_their_organisations_action_and_no_other(app, facilitator, demo_engine, decided):
    ours = _action(facilitator, decided, f"o{decided['org']}")
    theirs = _action(facilitator, decided, f"o{decided['other_org']}")
    with TestClient(app) as liaison:
        sign_in(liaison, "liaison")
        before = count(demo_engine, ActionNote)
        r = liaison.post(f"/actions/{theirs}/status", data={"status": "done"}, follow_redirects=False)
        assert r.status_code == 403
        assert count(demo_engine, ActionNote) == before
        # Nor may they re-plan their own: reassigning and moving the due date are the coordinators'.
        assert liaison.post(f"/actions/{ours}/due", data={"due": (TODAY + timedelta(days=30)).isoformat(),
                                                          "reason": "x"}).status_code == 403
        assert liaison.post(f"/actions/{ours}/progress", data={"note": "已联系面馆"},
                            follow_redirects=False).status_code == 303
        r = liaison.post(f"/actions/{ours}/status", data={"status": "done", "note": "已更换"}, follow_redirects=False)
        assert r.status_code == 303
        work = liaison.get("/my-work")
        assert "面馆更换油烟净化设备" in work.text
    with Session(demo_engine) as db:
        assert db.get(Action, ours).status == "done"
        assert db.get(Action, theirs).status == "open"


def test_blocked_needs_a_reason_by_its_field_and_stores_nothing(facilitator, demo_engine, decided):
    action = _action(facilitator, decided, f"c{decided['committee']}")
    before = count(demo_engine, ActionNote)
    r = facilitator.post(f"/actions/{action}/status", data={"status": "blocked", "note": ""})
    assert r.status_code == 422
    assert BeautifulSoup(r.text, "html.parser").select_one("#s-note-error")
    assert count(demo_engine, ActionNote) == before


def test_the_issue_is_resolved_only_once_every_action_is_done(facilitator, committee_member, demo_engine, decided):
    action = _action(facilitator, decided, f"c{decided['committee']}")
    r = committee_member.post(f"/issues/{decided['issue']}/move", data={"action": "resolve", "note": "已解决"})
    assert r.status_code == 422
    with Session(demo_engine) as db:
        assert db.get(Issue, decided["issue"]).status == "decided"
    assert committee_member.post(f"/actions/{action}/status", data={"status": "done"},
                                 follow_redirects=False).status_code == 303
    assert BeautifulSoup(committee_member.get(f"/issues/{decided['issue']}").text, "html.parser").select_one(
        ".resolvable")
    r = committee_member.post(f"/issues/{decided['issue']}/move", data={"action": "resolve", "note": "设备已更换"},
                              follow_redirects=False)
    assert r.status_code == 303
    with Session(demo_engine) as db:
        assert db.get(Issue, decided["issue"]).status == "resolved"


def _resolve(facilitator, decided):
    action = _action(facilitator, decided, f"c{decided['committee']}")
    facilitator.post(f"/actions/{action}/status", data={"status": "done"})
    assert facilitator.post(f"/issues/{decided['issue']}/move", data={"action": "resolve", "note": "ok"},
                            follow_redirects=False).status_code == 303


def test_dissatisfied_reopens_the_issue_to_its_committee(facilitator, demo_engine, decided):
    _resolve(facilitator, decided)
    r = facilitator.post(f"/issues/{decided['issue']}/rating", data={
        "source": "paper", "satisfied": "3", "basically": "2", "dissatisfied": "9", "reason": "晚上还有油烟"},
        follow_redirects=False)
    assert r.status_code == 303, r.text[:3000]
    with Session(demo_engine) as db:
        issue = db.get(Issue, decided["issue"])
        assert issue.status == "accepted"
        rating = db.exec(select(Rating).where(Rating.issue_id == issue.id)).one()
        assert (rating.verdict, rating.reason) == ("dissatisfied", "晚上还有油烟")
        members = db.exec(select(User).where(User.committee_id == decided["committee"])).all()
        for member in members:
            assert db.exec(select(Notice).where(Notice.user_id == member.id, Notice.kind == "reopened")).first()


def test_dissatisfied_without_a_reason_is_refused_and_nothing_is_stored(facilitator, demo_engine, decided):
    _resolve(facilitator, decided)
    before = count(demo_engine, Rating), count(demo_engine, IssueEvent)
    r = facilitator.post(f"/issues/{decided['issue']}/rating", data={
        "source": "hands", "satisfied": "1", "basically": "0", "dissatisfied": "5", "reason": ""})
    assert r.status_code == 422
    assert BeautifulSoup(r.text, "html.parser").select_one(f"#r{decided['issue']}-reason-error")
    assert (count(demo_engine, Rating), count(demo_engine, IssueEvent)) == before


def test_satisfied_closes_the_issue(facilitator, demo_engine, decided):
    _resolve(facilitator, decided)
    r = facilitator.post(f"/issues/{decided['issue']}/rating", data={
        "source": "hands", "satisfied": "12", "basically": "3", "dissatisfied": "1", "reason": ""},
        follow_redirects=False)
    assert r.status_code == 303
    with Session(demo_engine) as db:
        assert db.get(Issue, decided["issue"]).status == "reviewed"


def test_a_committee_member_may_not_rate(committee_member, demo_engine, decided):
    assert committee_member.post(f"/issues/{decided['issue']}/rating", data={"source": "hands"}).status_code == 403


def test_notices_show_a_count_in_the_header_and_are_read_when_opened(app, facilitator, demo_engine, decided):
    _action(facilitator, decided, f"o{decided['org']}")
    with TestClient(app) as liaison:
        sign_in(liaison, "liaison")

        def unread() -> int:
            found = BeautifulSoup(liaison.get("/my-work").text, "html.parser").select_one(".notice-count")
            return int(found.contents[0].strip()) if found else 0

        # The demo's overdue check, and the action just assigned.
        assert unread() == 2
        with Session(demo_engine) as db:
            notice = db.exec(select(Notice).order_by(Notice.id.desc())).first()
        r = liaison.post(f"/notices/{notice.id}/open", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/actions/{notice.action_id}"
        assert unread() == 1


def test_the_demo_liaison_finds_their_overdue_action_first(app):
    """forum demo: the city management bureau's check on the noodle shop's fumes is overdue."""
    with TestClient(app) as liaison:
        sign_in(liaison, "liaison")
        page = BeautifulSoup(liaison.get("/").text, "html.parser")
        assert page.select_one("a[href$=\"/my-work\"]")
        work = BeautifulSoup(liaison.get("/my-work").text, "html.parser")
        first = work.select_one(".action-row")
        assert "overdue" in first["class"] and "复查面馆油烟排放" in first.get_text()
        assert first.select_one(".flag-overdue")  # said in words, not by colour alone


def test_the_demo_keeps_the_satisfaction_rate_per_quarter(client, demo_engine):
    with Session(demo_engine) as db:
        ratings = db.exec(select(Rating)).all()
        community = db.get(Area, ratings[0].community_id)
    # 满意+基本满意 over all: (21+5 + 18+8 + 6+5) / (27 + 28 + 28) = 63/83 ≈ 76%
    page = BeautifulSoup(client.get(f"/c/{community.slug}").text, "html.parser")
    assert "76%" in page.select_one("#h-satisfaction").find_parent("section").get_text()


def _entry_with_decision(engine):
    from forum.models import AgendaEntry, Meeting

    with Session(engine) as db:
        entry, meeting = db.exec(select(AgendaEntry, Meeting).join(Meeting, Meeting.id == AgendaEntry.meeting_id)
                                 .where(AgendaEntry.decision.is_not(None), AgendaEntry.decision != "")
                                 .order_by(AgendaEntry.id)).first()
        return entry, meeting


def test_from_the_decision_one_tap_to_the_meetings_action_form(facilitator, demo_engine):
    entry, meeting = _entry_with_decision(demo_engine)
    page = BeautifulSoup(facilitator.get(f"/meetings/{meeting.id}?entry={entry.id}").text, "html.parser")
    form = page.select_one("#new-action form")
    assert form.select_one("#f-m-entry option[selected]")["value"] == str(entry.id)
    assert form.select_one("#f-m-what")["value"] == entry.decision[:300]


def test_an_action_agreed_at_a_meeting_needs_an_item_of_its_agenda(facilitator, demo_engine):
    entry, meeting = _entry_with_decision(demo_engine)
    due = (TODAY + timedelta(days=5)).isoformat()
    with Session(demo_engine) as db:
        organisation = db.exec(select(Organisation)).first()
    before = count(demo_engine, Action)
    r = facilitator.post(f"/meetings/{meeting.id}/actions", data={"entry": "999999", "what": "修路灯",
                                                                  "owner": f"o{organisation.id}", "due": due})
    assert r.status_code == 422
    page = BeautifulSoup(r.text, "html.parser")
    assert page.select_one("#m-entry-error") and page.select_one("#f-m-what")["value"] == "修路灯"
    assert count(demo_engine, Action) == before
    r = facilitator.post(f"/meetings/{meeting.id}/actions", data={"entry": entry.id, "what": "修路灯",
                                                                  "owner": f"o{organisation.id}", "due": due},
                         follow_redirects=False)
    assert r.status_code == 303 and count(demo_engine, Action) == before + 1


def test_lists_say_which_issues_have_an_overdue_action(client, demo_engine):
    with Session(demo_engine) as db:
        fumes = db.exec(select(Issue).where(Issue.title == "3栋底楼面馆油烟扰民")).one()
        community = db.get(Area, fumes.community_id)
        committee = fumes.committee_id
    for address in (f"/c/{community.slug}/issues", f"/committees/{committee}"):
        page = BeautifulSoup(client.get(address).text, "html.parser")
        row = next(li for li in page.select(".issue-row") if "3栋底楼面馆油烟扰民" in li.get_text())
        assert row.select_one(".flag-overdue").get_text(strip=True) == "⚠ 有跟进事项已逾期"


def test_the_proposed_agenda_is_shown_then_taken_in_one_tap(facilitator, demo_engine):
    from forum.models import AgendaEntry, Meeting, Series

    with Session(demo_engine) as db:
        series = db.exec(select(Series).where(Series.cadence == "weekly").order_by(Series.id)).first()
        meeting = Meeting(community_id=series.community_id, series_id=series.id, title=series.title, cadence="weekly",
                          starts_at=datetime.combine(TODAY + timedelta(days=60), datetime.min.time()),
                          duration_minutes=60, place="活动室")
        db.add(meeting)
        db.commit()
        meeting_id = meeting.id
    page = BeautifulSoup(facilitator.get(f"/meetings/{meeting_id}").text, "html.parser")
    proposed = page.select("section.proposed li a")
    assert proposed  # the demo's accepted issues and the fumes with its overdue check
    assert facilitator.post(f"/meetings/{meeting_id}/draft", follow_redirects=False).status_code == 303
    with Session(demo_engine) as db:
        placed = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting_id)).all()
    assert len(placed) == len(proposed)


def test_the_console_shows_the_items_actions_overdue_marked(facilitator, demo_engine):
    from forum import room
    from forum.models import Meeting

    with Session(demo_engine, expire_on_commit=False) as db:
        fumes = db.exec(select(Issue).where(Issue.title == "3栋底楼面馆油烟扰民")).one()
        meeting = db.exec(select(Meeting).where(Meeting.community_id == fumes.community_id,
                                                Meeting.status == "planned").order_by(Meeting.starts_at)).first()
        entry = issue_registry.place_on_agenda(db, fumes, meeting, actor="t")
        room.start(db, meeting, actor="t")
        db.flush()
        meeting.current_entry_id = entry.id
        db.add(meeting)
        db.commit()
    page = BeautifulSoup(facilitator.get(f"/meetings/{meeting.id}/run").text, "html.parser")
    overdue = page.select(".entry-actions .action-row.overdue")
    assert len(overdue) == 1 and "复查面馆油烟排放" in overdue[0].get_text()
    assert overdue[0].select_one(".flag-overdue")


@pytest.mark.parametrize("data", [{"source": "vote", "vote": "999999"}, {"source": "vote", "vote": ""},
                                  {"source": "hands", "satisfied": "x"}, {"source": "paper", "dissatisfied": "-3"},
                                  {"source": "hands"}, {"source": "telepathy"}])
def test_a_rating_that_cannot_be_read_is_refused_and_stores_nothing(facilitator, demo_engine, decided, data):
    _resolve(facilitator, decided)
    before = count(demo_engine, Rating), count(demo_engine, IssueEvent)
    r = facilitator.post(f"/issues/{decided['issue']}/rating", data=data)
    assert r.status_code == 422
    assert BeautifulSoup(r.text, "html.parser").select_one(".rating-form .error")
    assert (count(demo_engine, Rating), count(demo_engine, IssueEvent)) == before

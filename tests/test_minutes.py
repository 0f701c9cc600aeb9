"""Minutes generated from a meeting's record: the page, its print style, and the Markdown download."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from forum import minutes, parts
from forum.app import create_app
from forum.models import AgendaEntry, Attendance, Comment, Issue, IssueEvent, Meeting, SpeakingRequest
from tests.conftest import _settings as app_settings
from tests.conftest import upcoming_meeting


def join_code(engine, meeting_id: int) -> str:
    with Session(engine) as db:
        return db.get(Meeting, meeting_id).join_code

DECISION = "由物业公司在两周内提交加装电梯方案，下次协调会审议"
COMMENT = "希望先公示费用分摊办法 *重要*"


@pytest.fixture
def held_meeting(app, facilitator, demo_engine) -> int:
    """A meeting run from start to end: two residents, a speaker, a comment and a decision."""
    meeting_id = upcoming_meeting(demo_engine)
    facilitator.post(f"/meetings/{meeting_id}/run/start")
    with TestClient(app) as tablet:
        tablet.get(f"/join?code={join_code(demo_engine, meeting_id)}")
        tablet.post(f"/meetings/{meeting_id}/tablet/join", data={"name": "李秀英", "building": "5", "unit": "2",
                                                                  "room": "301"})
        tablet.post(f"/meetings/{meeting_id}/tablet/hand", data={"up": "1"})
        tablet.post(f"/meetings/{meeting_id}/tablet/comment", data={"text": COMMENT})
    facilitator.post(f"/meetings/{meeting_id}/run/checkin", data={"name": "访客张先生"})
    with Session(demo_engine) as db:
        request = db.exec(select(SpeakingRequest).where(SpeakingRequest.meeting_id == meeting_id)).one()
    facilitator.post(f"/meetings/{meeting_id}/run/floor", data={"request": request.id})
    facilitator.post(f"/meetings/{meeting_id}/run/decision", data={"decision": DECISION})
    facilitator.post(f"/meetings/{meeting_id}/run/end")
    return meeting_id


def first_issue(engine, meeting_id: int) -> Issue:
    with Session(engine) as db:
        entry = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting_id)
                        .order_by(AgendaEntry.position)).first()
        return db.get(Issue, entry.issue_id)


def test_the_minutes_page(facilitator, held_meeting, demo_engine):
    # The community's staff see the full record (tests/test_privacy.py: the public one).
    response = facilitator.get(f"/meetings/{held_meeting}/minutes")
    assert response.status_code == 200
    doc = BeautifulSoup(response.text, "html.parser")
    text = doc.get_text(" ", strip=True)
    issue = first_issue(demo_engine, held_meeting)
    first = doc.select(".minutes-entry")[0].get_text(" ", strip=True)
    assert issue.title in first and DECISION in first and "李秀英" in first and COMMENT in first
    assert "(2)" in doc.select_one("#min-att").get_text() and "访客张先生" in text and "5-2-301" in text
    with Session(demo_engine) as db:
        assert db.get(Meeting, held_meeting).title in text
    assert doc.select_one('a[href$=".md"]') is not None


def test_the_markdown_download(facilitator, held_meeting, demo_engine):
    response = facilitator.get(f"/meetings/{held_meeting}/minutes.md")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="minutes-')
    text = response.content.decode("utf-8")
    issue = first_issue(demo_engine, held_meeting)
    assert text.startswith("# ") and f"### 1. {issue.title}" in text
    assert DECISION in text and "李秀英" in text
    assert "\\*重要\\*" in text  # residents' words can't turn into Markdown formatting
    assert "## " in text and "(2)" in text


def test_the_issue_timeline_shows_the_decision(client, held_meeting, demo_engine):
    issue = first_issue(demo_engine, held_meeting)
    page = client.get(f"/issues/{issue.id}")
    assert page.status_code == 200 and DECISION in page.text
    assert issue.status == "decided"


def test_a_section_in_the_table_appears_under_each_entry(demo_engine, held_meeting):
    def votes(db, meeting, entry):
        if entry.position != 1:
            return None
        return minutes.Section("表决结果", [f"entry {entry.position}: 12 for, 3 against"])

    app = create_app(app_settings(), engine=demo_engine, minutes_sections=(*parts.MINUTES_SECTIONS, votes))
    with TestClient(app) as client:
        page = client.get(f"/meetings/{held_meeting}/minutes").text
        md = client.get(f"/meetings/{held_meeting}/minutes.md").text
    assert "表决结果" in page and "entry 1: 12 for, 3 against" in page
    assert "**表决结果:**" in md


def test_minutes_of_a_meeting_nobody_attended(client, demo_engine):
    meeting_id = upcoming_meeting(demo_engine)
    with Session(demo_engine) as db:
        # Someone checked in at another meeting of the community: not in these minutes.
        other = db.exec(select(Meeting).where(Meeting.id != meeting_id)).first()
        db.add(Attendance(meeting_id=other.id, name="别处的来宾", is_guest=True))
        db.commit()
        rows = {table: db.exec(select(func.count()).select_from(table)).one()
                for table in (Attendance, SpeakingRequest, Comment, IssueEvent)}
    page = client.get(f"/meetings/{meeting_id}/minutes")
    assert page.status_code == 200
    doc = BeautifulSoup(page.text, "html.parser")
    assert "(0)" in doc.select_one("#min-att").get_text()
    assert doc.select_one("#min-att").find_parent("section").select_one(".empty") is not None
    assert "别处的来宾" not in page.text and not doc.select(".decision-text")
    md = client.get(f"/meetings/{meeting_id}/minutes.md")
    assert md.status_code == 200 and "别处的来宾" not in md.text and "(0)" in md.text
    missing = client.get("/meetings/999999/minutes.md")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert BeautifulSoup(missing.text, "html.parser").select_one(".error-page") is not None
    with Session(demo_engine) as db:  # reading the minutes wrote nothing
        assert {table: db.exec(select(func.count()).select_from(table)).one() for table in rows} == rows

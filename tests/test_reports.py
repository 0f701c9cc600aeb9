"""Reports opened back as Word opens them (python-docx): the quarterly report says what the
dashboard says, Chinese is set in an East Asian font, the page is A4; minutes as .docx keep
residents' names for the community's staff only."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

from bs4 import BeautifulSoup
from docx import Document
from sqlmodel import Session, select

from forum import figures
from forum.models import Area, Attendance, Meeting
from tests.conftest import sign_in

THIS = figures.quarter_of(date.today())
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _community(engine) -> str:
    with Session(engine) as db:
        return db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first().slug


def _dashboard_figures(client, slug: str, quarter: str) -> dict[str, str]:
    page = BeautifulSoup(client.get(f"/c/{slug}/dashboard?quarter={quarter}").text, "html.parser")
    return {f["data-figure"]: f.get_text(strip=True) for f in page.select("[data-figure]")}


def _last_quarter_with_figures(client, slug: str) -> str:
    for quarter in figures.quarters_ending(THIS)[::-1]:
        if _dashboard_figures(client, slug, quarter.label)["resolved"] != "0":
            return quarter.label
    raise AssertionError("the demo resolves issues in some quarter")


def test_the_docx_report_has_the_dashboards_numbers(client, demo_engine):
    slug = _community(demo_engine)
    quarter = _last_quarter_with_figures(client, slug)
    shown = _dashboard_figures(client, slug, quarter)
    response = client.get(f"/c/{slug}/report.docx?quarter={quarter}")
    assert response.status_code == 200 and response.headers["content-type"] == DOCX
    document = Document(io.BytesIO(response.content))
    assert quarter in document.paragraphs[0].text and "季度评议报告" in document.paragraphs[0].text
    rows = {r.cells[0].text: r.cells[1].text for r in document.tables[0].rows[1:]}
    assert rows["提出的议题"] == shown["raised"]
    assert rows["解决的议题"] == shown["resolved"]
    assert rows["目前未结"] == shown["open"]
    assert rows["从提出到解决的中位天数"] == shown["median"]
    assert rows["参与人次（参加会议的人次）"] == shown["participation"]
    assert rows["召开的会议"] == shown["meetings"]
    resolved_rows = document.tables[1].rows[1:]
    assert len(resolved_rows) == int(shown["resolved"])
    section = document.sections[0]
    assert abs(section.page_width.mm - 210) < 0.1 and abs(section.page_height.mm - 297) < 0.1  # A4, to the twip


def test_word_is_told_the_chinese_font_of_every_style(client, demo_engine):
    slug = _community(demo_engine)
    content = client.get(f"/c/{slug}/report.docx").content
    styles = zipfile.ZipFile(io.BytesIO(content)).read("word/styles.xml").decode()
    assert 'w:eastAsia="宋体"' in styles
    document = Document(io.BytesIO(content))
    for name in ("Normal", "Heading 1", "Heading 2", "Table Grid"):
        fonts = document.styles[name].element.rPr.rFonts
        assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "宋体", name
        assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsiaTheme") is None


def test_the_csv_and_the_printable_page_say_the_same(client, demo_engine):
    slug = _community(demo_engine)
    quarter = _last_quarter_with_figures(client, slug)
    data = client.get(f"/c/{slug}/report.csv?quarter={quarter}").content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    from_csv = {r[0]: r[1] for r in rows[1:11]}
    page = BeautifulSoup(client.get(f"/c/{slug}/report?quarter={quarter}").text, "html.parser")
    from_page = {r.th.get_text(strip=True): r.td.get_text(strip=True) for r in page.select(".report-figures tbody tr")}
    assert from_csv == from_page and len(from_page) == 10


def test_bad_quarter_is_refused(client, demo_engine):
    slug = _community(demo_engine)
    for suffix in ("", ".docx", ".csv"):
        assert client.get(f"/c/{slug}/report{suffix}?quarter=2026Q7").status_code == 400


def test_minutes_docx_names_residents_for_staff_only(app, client, demo_engine):
    with Session(demo_engine) as db:
        meeting = db.exec(select(Meeting).where(Meeting.status == "ended").order_by(Meeting.id)).first()
        db.add(Attendance(meeting_id=meeting.id, name="会议居民乙", building="7", unit="2", room="1203",
                          is_guest=False))
        db.commit()
        meeting_id = meeting.id
        present = len(db.exec(select(Attendance).where(Attendance.meeting_id == meeting_id)).all())

    def text(c) -> str:
        response = c.get(f"/meetings/{meeting_id}/minutes.docx")
        assert response.status_code == 200 and response.headers["content-type"] == DOCX
        document = Document(io.BytesIO(response.content))
        return "\n".join([p.text for p in document.paragraphs] +
                         [cell.text for t in document.tables for r in t.rows for cell in r.cells])

    public = text(client)
    assert "会议居民乙" not in public and "1203" not in public and f"({present})" in public
    from starlette.testclient import TestClient

    with TestClient(app) as staff:
        sign_in(staff, "facilitator")
        assert "会议居民乙 (7-2-1203)" in text(staff)


def test_the_report_counts_overdue_actions_and_satisfaction_in_every_format(client, demo_engine):
    """The hand-counted community (tests/followup_rows.py): 5 overdue (the organisation's 2, two
    persons' grouped and unnamed, the committee's 1), 2 issues rated at 40.0%; in Word, CSV and print."""
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    shown = _dashboard_figures(client, world.slug, THIS.label)
    assert (shown["overdue"], shown["satisfaction"]) == ("5", "40.0%")
    expected = {"逾期事项（截至季度末，本季度截至现在）": "5", "季度评议会评议的议题": "2",
                "满意率（满意与基本满意）": "40.0%"}
    owners = [[world.organisation, "2"], ["个人（不具名）", "2"], [world.committee_name, "1"]]

    document = Document(io.BytesIO(client.get(f"/c/{world.slug}/report.docx").content))
    figures_table = {r.cells[0].text: r.cells[1].text for r in document.tables[0].rows[1:]}
    assert {k: figures_table[k] for k in expected} == expected
    by_owner = next(t for t in document.tables if t.rows[0].cells[0].text == "负责方")
    assert [[c.text for c in r.cells] for r in by_owner.rows[1:]] == owners
    text = "\n".join([p.text for p in document.paragraphs] +
                      [c.text for t in document.tables for r in t.rows for c in r.cells])
    for private in (followup_rows.LANDLORD, followup_rows.STAFF, followup_rows.PHONE):
        assert private not in text

    rows = list(csv.reader(io.StringIO(client.get(f"/c/{world.slug}/report.csv").content.decode("utf-8-sig"))))
    assert {r[0]: r[1] for r in rows if r and r[0] in expected} == expected
    assert rows[-3:] == owners

    page = BeautifulSoup(client.get(f"/c/{world.slug}/report").text, "html.parser")
    from_page = {r.th.get_text(strip=True): r.td.get_text(strip=True) for r in page.select(".report-figures tbody tr")}
    assert {k: from_page[k] for k in expected} == expected
    assert [[r.th.get_text(strip=True), r.td.get_text(strip=True)] for r in page.select(".report-overdue tbody tr")
            ] == owners


def test_a_quarter_without_ratings_reports_no_rate(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    document = Document(io.BytesIO(client.get(f"/c/{world.slug}/report.docx?quarter=2001Q1").content))
    figures_table = {r.cells[0].text: r.cells[1].text for r in document.tables[0].rows[1:]}
    assert figures_table["满意率（满意与基本满意）"] == "—" and figures_table["季度评议会评议的议题"] == "0"
    assert any(p.text == "没有逾期的跟进事项。" for p in document.paragraphs)

"""CSV exports: Excel on Chinese Windows opens them (UTF-8 with BOM), formulas typed into an
issue cannot run in a spreadsheet, numbers stay numbers, and nothing personal is in them."""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from forum import exports, issue_registry
from forum.models import Area, Attendance, Issue, Meeting

EVIL = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("cell", EVIL)
def test_a_cell_that_starts_a_formula_is_neutralised(cell):
    assert exports.neutralise(cell) == "'" + cell


@pytest.mark.parametrize(("cell", "expected"), [("张三", "张三"), ("a=b", "a=b"), (12, 12), (-3, -3), (None, ""),
                                                (True, "1"), ("", "")])
def test_other_cells_are_left_as_they_are(cell, expected):
    assert exports.neutralise(cell) == expected


def test_the_file_has_a_bom_and_crlf_lines():
    data = exports.csv_bytes(["标题"], [["=1+1"], ["油烟"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == "标题\r\n'=1+1\r\n油烟\r\n"


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _community(engine) -> tuple[int, str]:
    with Session(engine) as db:
        area = db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first()
        return area.id, area.slug


def test_issues_export_neutralises_what_residents_typed(client, demo_engine):
    community_id, slug = _community(demo_engine)
    with Session(demo_engine) as db:
        for n, cell in enumerate(EVIL):
            issue_registry.raise_issue(db, community_id=community_id, title=cell, description=cell, category="noise",
                                       place=cell, source="online", raised_by=f"居民{n} 13811112222")
        db.commit()
        total = len(db.exec(select(Issue).where(Issue.community_id == community_id)).all())
    rows = _rows(client.get(f"/c/{slug}/issues.csv"))
    assert rows[0][:4] == ["编号", "标题", "分类", "状态"]
    assert len(rows) == total + 1
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert sum(c == "'" + EVIL[0] for c in cells) == 3  # title, place and description
    assert "13811112222" not in "".join(cells) and not any("居民0" in c for c in cells)


def test_issues_export_takes_the_list_filters(client, demo_engine):
    _id, slug = _community(demo_engine)
    rows = _rows(client.get(f"/c/{slug}/issues.csv?status=open&category=fumes"))
    page = BeautifulSoup(client.get(f"/c/{slug}/issues?status=open&category=fumes").text, "html.parser")
    assert page.select_one(".result-count").get_text(strip=True) == f"{len(rows) - 1} 个议题"  # the list's own count
    assert all(r[2] == "油烟扰民" for r in rows[1:])
    assert client.get(f"/c/{slug}/issues.csv?raised_from=2026-02-31").status_code == 400


def test_meetings_and_attendance_exports_count_and_name_nobody(client, demo_engine):
    community_id, slug = _community(demo_engine)
    with Session(demo_engine) as db:
        meetings = db.exec(select(Meeting).where(Meeting.community_id == community_id)).all()
        present = db.exec(select(Attendance).where(Attendance.meeting_id.in_([m.id for m in meetings]))).all()
        names = {a.name for a in present if a.name}
    meeting_rows = _rows(client.get(f"/c/{slug}/meetings.csv"))
    attendance_rows = _rows(client.get(f"/c/{slug}/attendance.csv"))
    assert len(meeting_rows) == len(attendance_rows) == len(meetings) + 1
    assert sum(int(r[-1]) for r in meeting_rows[1:]) == sum(int(r[-1]) for r in attendance_rows[1:]) == len(present)
    assert all(int(r[4]) + int(r[5]) == int(r[6]) for r in attendance_rows[1:])
    text = "".join(",".join(r) for r in meeting_rows + attendance_rows)
    assert names and not [n for n in names if n in text]


def test_actions_export_neutralises_names_nobody_and_takes_the_lists_filters(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    rows = _rows(client.get(f"/c/{world.slug}/actions.csv"))
    assert rows[0][:5] == ["编号", "要做什么", "负责方", "期限", "状态"]
    assert len(rows) == 9  # the eight actions
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'" + followup_rows.EVIL in cells
    for private in (followup_rows.LANDLORD, followup_rows.STAFF, followup_rows.PHONE):
        assert private not in "".join(cells)
    assert sorted(r[2] for r in rows[1:]).count("个人（不具名）") == 2
    overdue = _rows(client.get(f"/c/{world.slug}/actions.csv?overdue=1"))
    page = BeautifulSoup(client.get(f"/c/{world.slug}/actions?overdue=1").text, "html.parser")
    assert page.select_one(".result-count").get_text(strip=True).startswith(f"{len(overdue) - 1} 项")
    assert len(overdue) - 1 == 5 and all(r[5] == "是" and int(r[6]) > 0 for r in overdue[1:])
    # The list offers the same rows as a file, and the dashboard offers the file with the others.
    assert page.select_one('a[href*="/actions.csv?overdue=1"]')
    dashboard = BeautifulSoup(client.get(f"/c/{world.slug}/dashboard").text, "html.parser")
    assert dashboard.select_one(f'.downloads a[href="http://testserver/c/{world.slug}/actions.csv"]')
    assert client.get(f"/c/{world.slug}/actions.csv?owner=nobody").status_code == 400

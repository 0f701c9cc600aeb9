"""Creating a meeting series: cadence, RRULE and first date, with every error beside its field."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, func, select

from forum.models import Series

GOOD = {"title": "民乐议事厅 · 专题恳谈", "cadence": "weekly", "rrule": "FREQ=WEEKLY;BYDAY=WE",
        "dtstart": "2026-12-02T19:00", "duration_minutes": "60", "place": "社区议事厅", "forum_format": ""}


def count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Series)).one()


def test_facilitator_creates_a_series_with_computed_dates(facilitator, demo_engine):
    response = facilitator.post("/c/jiaochangkou/series/new", data=GOOD, follow_redirects=False)
    assert response.status_code == 303
    page = facilitator.get(response.headers["location"])
    assert "民乐议事厅 · 专题恳谈" in page.text
    soup = BeautifulSoup(page.text, "html.parser")
    dates = [li.select_one(".row-title").get_text(" ", strip=True) for li in soup.select(".occurrence")]
    assert len(dates) == 8 and all("星期三" in d and "19:00" in d for d in dates)


@pytest.mark.parametrize("field,value,message", [
    ("title", "", "请为会议系列起名"),
    ("cadence", "daily", "请选择开会的频次"),
    ("dtstart", "next tuesday", "请填写第一次会议的日期和时间"),
    ("rrule", "every tuesday", "无法识别此重复规则"),
    ("rrule", "", "请输入重复规则"),
    ("duration_minutes", "5", "时长须为 10 到 480"),
    ("place", "", "请填写开会地点"),
    ("forum_format", "99999", "请选择本社区的议事平台"),
    # Rules that would never finish expanding, or are no meeting rhythm (#9, #15).
    ("rrule", "FREQ=HOURLY", "会议最多每天一次"),
    ("rrule", "FREQ=MINUTELY;INTERVAL=60", "会议最多每天一次"),
    ("rrule", "FREQ=WEEKLY;INTERVAL=+0", "间隔（INTERVAL）须为 1 到 100"),
    ("rrule", "FREQ=WEEKLY;INTERVAL=0", "间隔（INTERVAL）须为 1 到 100"),
    ("rrule", "FREQ=YEARLY;BYMONTH=13", "BYMONTH 只能填写 1 到 12"),
    ("rrule", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "不会产生任何一次会议"),
    ("dtstart", "0001-01-01T19:00", "第一次会议须在 2000 年到 2100 年之间"),
    ("dtstart", "9999-12-31T19:00", "第一次会议须在 2000 年到 2100 年之间"),
])
def test_bad_input_is_refused_beside_its_field(facilitator, demo_engine, field, value, message):
    before = count(demo_engine)
    response = facilitator.post("/c/jiaochangkou/series/new", data=GOOD | {field: value})
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    error = soup.select_one(f"#{field}-error")
    assert error is not None and message in error.get_text()
    assert f"{field}-error" in soup.select_one(f"#f-{field}")["aria-describedby"]
    # What was typed stays in the form.
    for other, typed in GOOD.items():
        if other not in (field, "cadence", "forum_format"):
            assert soup.select_one(f"#f-{other}").get("value") == typed
    assert count(demo_engine) == before


def test_residents_and_committee_members_cannot_create_series(client, committee_member):
    assert client.post("/c/jiaochangkou/series/new", data=GOOD, follow_redirects=False).status_code == 303
    assert committee_member.post("/c/jiaochangkou/series/new", data=GOOD).status_code == 403


def test_a_series_stored_before_the_checks_still_shows(facilitator, demo_engine):
    """A rule saved before today's checks (INTERVAL=+0 once passed) no longer pins the server:
    its pages show no coming dates, and no meeting can be made from it."""
    from datetime import datetime

    from forum.models import Area

    with Session(demo_engine) as s:
        community = s.exec(select(Area).where(Area.slug == "jiaochangkou")).one()
        bad = Series(community_id=community.id, title="死循环", cadence="weekly", rrule="FREQ=WEEKLY;INTERVAL=+0",
                     dtstart=datetime(1, 1, 1, 19, 0), duration_minutes=60, place="议事厅")
        s.add(bad)
        s.commit()
        bad_id = bad.id
    assert facilitator.get("/c/jiaochangkou/series").status_code == 200
    page = facilitator.get(f"/series/{bad_id}")
    assert page.status_code == 200 and "死循环" in page.text
    made = facilitator.post(f"/series/{bad_id}/meetings", data={"starts_at": "0001-01-08T19:00"})
    assert made.status_code == 422
    from forum.models import Meeting

    with Session(demo_engine) as s:
        assert s.exec(select(func.count()).select_from(Meeting).where(Meeting.series_id == bad_id)).one() == 0

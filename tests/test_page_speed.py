"""What the pages' speed-ups keep (forum bench pages): the dashboards' remembered expansions of a
series' rule follow the rule when it is edited, and the lists ask a bounded number of queries
however many communities they cover."""

from __future__ import annotations

from datetime import datetime, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import event
from sqlmodel import Session, select

from forum.models import Area, AreaKind, Meeting, Series


def _cadence_row(client, slug: str, series_id: int) -> tuple[int, int]:
    page = BeautifulSoup(client.get(f"/c/{slug}/dashboard?quarter=2025Q1").text, "html.parser")
    row = next(r for r in page.select("#cadence ~ table tbody tr, #cadence + table tbody tr")
               if r.select_one(f'a[href$="/series/{series_id}"]'))
    expected, held = (int(td.get_text()) for td in row.select("td.num"))
    return expected, held


def test_an_edited_series_rule_gives_its_new_expected_dates(client, demo_engine):
    with Session(demo_engine) as db:
        community = db.exec(select(Area).where(Area.kind == AreaKind.community).order_by(Area.id)).first()
        series = Series(community_id=community.id, title="测试恳谈会", cadence="weekly", rrule="FREQ=WEEKLY;BYDAY=TU",
                        dtstart=datetime(2025, 1, 7, 19, 30), place="议事厅")
        db.add(series)
        db.flush()
        db.add(Meeting(community_id=community.id, series_id=series.id, title="测试恳谈会", cadence="weekly",
                       starts_at=datetime(2025, 1, 7, 19, 30), place="议事厅", status="ended"))
        db.commit()
        slug, series_id = community.slug, series.id
    assert _cadence_row(client, slug, series_id) == (12, 1)  # 2025Q1 has 12 Tuesdays
    assert _cadence_row(client, slug, series_id) == (12, 1)  # asked again: the same
    with Session(demo_engine) as db:
        series = db.get(Series, series_id)
        series.rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"  # every other Tuesday
        db.add(series)
        db.commit()
    assert _cadence_row(client, slug, series_id) == (6, 1)
    with Session(demo_engine) as db:
        series = db.get(Series, series_id)
        series.dtstart = datetime(2025, 3, 4, 19, 30)  # begun later: 4 and 18 March left
        db.add(series)
        db.commit()
    assert _cadence_row(client, slug, series_id) == (2, 0)


def _queries(engine, client, url: str) -> int:
    """Queries of the committee table while the page is made (the vote closer's own queries, on
    its own thread, are not the page's)."""
    seen = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "FROM committee" in statement:
            seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_an_area_list_asks_as_many_queries_for_many_communities_as_for_few(client, demo_engine):
    with Session(demo_engine) as db:
        district = db.exec(select(Area).where(Area.kind == AreaKind.district)).first()
        street = db.exec(select(Area).where(Area.kind == AreaKind.street)).first()
        before = _queries(demo_engine, client, f"/a/{district.slug}/issues?status=open")
        assert before >= 1
        for i in range(12):
            db.add(Area(name=f"新社区{i}", kind=AreaKind.community, parent_id=street.id, slug=f"new-{i}"))
        db.commit()
        slug = district.slug
    from forum.models import Committee

    with Session(demo_engine) as db:
        for area in db.exec(select(Area).where(Area.slug.startswith("new-"))).all():
            db.add(Committee(community_id=area.id, kind="residents", name="居委会"))
        db.commit()
    assert _queries(demo_engine, client, f"/a/{slug}/issues?status=open") == before


def test_the_area_list_names_each_issue_s_committee(client, demo_engine):
    with Session(demo_engine) as db:
        district = db.exec(select(Area).where(Area.kind == AreaKind.district)).first()
        from forum.models import Committee, Issue

        issue = db.exec(select(Issue).where(Issue.committee_id.is_not(None))).first()
        committee = db.get(Committee, issue.committee_id)
        slug, name = district.slug, committee.name
    page = client.get(f"/a/{slug}/issues")
    assert name in page.text


def test_one_day_later_the_expected_dates_run_one_day_further():
    from forum import oversight

    series = Series(community_id=1, title="t", cadence="daily", rrule="FREQ=DAILY",
                    dtstart=datetime(2025, 1, 1, 9, 0), place="")
    start = datetime(2025, 1, 1)
    assert len(oversight._expected(series, start, start + timedelta(days=10))) == 10
    assert len(oversight._expected(series, start, start + timedelta(days=11))) == 11

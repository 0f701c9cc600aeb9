"""Dashboards as a user reads them: every number is a link, and the list it leads to counts the
same; the street and district rank their communities; bad periods are refused with a 400."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from forum import figures, issue_registry
from forum.lifecycle import Facts
from forum.models import Area, Committee, Issue, IssueEvent

THIS = figures.quarter_of(date.today())


def _page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return BeautifulSoup(response.text, "html.parser")


def _list_count(client, href: str) -> int:
    """What the list behind a number says it holds."""
    path = urlsplit(href)
    page = _page(client, path.path + ("?" + path.query if path.query else ""))
    if page.select_one(".result-count"):
        return int(re.match(r"\d+", page.select_one(".result-count").get_text(strip=True)).group())
    rows = page.select("table.data-table tbody tr")
    return sum(int(r.select("td.num")[-1].get_text()) for r in rows)


def _slugs(engine) -> dict[str, str]:
    with Session(engine) as db:
        areas = db.exec(select(Area).order_by(Area.id)).all()
    return {a.kind: a.slug for a in reversed(areas)}  # the first of each kind


def _resolve_twice(engine) -> int:
    """An issue raised, resolved, reopened and resolved again in this quarter."""
    with Session(engine) as db:
        community = db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first()
        committee = db.exec(select(Committee).where(Committee.community_id == community.id)).first()
        issue = issue_registry.raise_issue(db, community_id=community.id, title="反复的油烟", description="",
                                           category="fumes", place="", source="online", raised_by="居民")
        for step, facts in (("accept", Facts(committee_id=committee.id)), ("schedule", None),
                            ("decide", Facts(decision="整改")), ("resolve", None), ("reopen", Facts(reason="又有了")),
                            ("schedule", None), ("decide", Facts(decision="再整改")), ("resolve", None)):
            if step == "schedule":
                issue.status = "on_agenda"  # straight to the agenda: no meeting needed for the figure
                continue
            issue_registry.move(db, issue, step, actor="王主任", facts=facts or Facts())
        start = max(datetime.combine(THIS.start, datetime.min.time()), datetime.now() - timedelta(days=20))
        issue.raised_at = start
        db.commit()
        events = db.exec(select(IssueEvent.at, IssueEvent.action, IssueEvent.to_status)
                         .where(IssueEvent.issue_id == issue.id).order_by(IssueEvent.id)).all()
        assert figures.last_resolution(events) == issue.resolved_at  # the column is the last resolution
        return issue.id


@pytest.mark.parametrize("kind", ["community", "street", "district", "committee"])
def test_every_number_leads_to_a_list_that_counts_the_same(client, demo_engine, kind):
    _resolve_twice(demo_engine)
    slugs = _slugs(demo_engine)
    with Session(demo_engine) as db:
        committee_id = db.exec(select(Issue.committee_id).where(Issue.committee_id.is_not(None))
                                 .order_by(Issue.committee_id)).first()
    url = {"community": f"/c/{slugs['community']}/dashboard", "street": f"/a/{slugs['street']}/dashboard",
           "district": f"/a/{slugs['district']}/dashboard", "committee": f"/committees/{committee_id}/dashboard"}[kind]
    page = _page(client, url)
    tiles = {t.select_one(".figure")["data-figure"]: t for t in page.select(".figures a.tile")}
    for name in ("raised", "resolved", "open"):
        number = int(tiles[name].select_one(".figure").get_text())
        assert _list_count(client, tiles[name]["href"]) == number, (kind, name)
    if "meetings" in tiles and kind == "community":
        held = _page(client, urlsplit(tiles["meetings"]["href"]).path + "?" + urlsplit(tiles["meetings"]["href"]).query)
        assert len(held.select("table.data-table tbody tr")) == int(tiles["meetings"].select_one(".figure").get_text())
    checked = 0
    for link in page.select(".counts a, .data-table td.num a"):
        number = link.select_one(".count").get_text() if link.select_one(".count") else link.get_text()
        href = link["href"]
        if href.startswith("#") or not number.strip().isdigit() or "sort=" in href:
            continue
        assert _list_count(client, href) == int(number), (kind, href)
        checked += 1
    assert checked >= 10


def test_the_district_ranks_its_communities_by_the_figures(client, demo_engine):
    _resolve_twice(demo_engine)
    district = _slugs(demo_engine)["district"]
    page = _page(client, f"/a/{district}/dashboard")
    rows = page.select("table.ranking tbody tr")
    assert len(rows) == 2
    medians = [r.select("td.num")[1].get_text(strip=True) for r in rows]
    assert medians[-1] == "—" or float(medians[0]) <= float(medians[-1])  # fastest first, none last
    by_open = _page(client, f"/a/{district}/dashboard?sort=open")
    opens = [int(r.select("td.num")[4].get_text()) for r in by_open.select("table.ranking tbody tr")]
    assert opens == sorted(opens, reverse=True)


def test_the_reopened_issue_counts_once_in_the_quarter(client, demo_engine):
    issue_id = _resolve_twice(demo_engine)
    community = _slugs(demo_engine)["community"]
    page = _page(client, f"/c/{community}/dashboard?quarter={THIS.label}")
    resolved = page.select_one('[data-figure="resolved"]').parent
    listed = _page(client, urlsplit(resolved["href"]).path + "?" + urlsplit(resolved["href"]).query)
    links = [urlsplit(a["href"]).path for a in listed.select(".issue-list a")]
    assert links.count(f"/issues/{issue_id}") == 1


def test_the_chart_has_a_table_beside_it_and_draws_every_quarter(client, demo_engine):
    community = _slugs(demo_engine)["community"]
    page = _page(client, f"/c/{community}/dashboard")
    chart = page.select_one("svg.chart")
    assert chart["role"] == "img" and len(chart.select("rect")) == figures.HISTORY_QUARTERS
    assert len(page.select("#h-median ~ div table tbody tr")) == figures.HISTORY_QUARTERS


@pytest.mark.parametrize("query", ["quarter=2026Q5", "quarter=1999Q4", "quarter=%00", "quarter=" + "9" * 400,
                                   "sort=name"])
def test_bad_parameters_are_a_clear_400(client, demo_engine, query):
    slugs = _slugs(demo_engine)
    for url in (f"/c/{slugs['community']}/dashboard", f"/a/{slugs['district']}/dashboard"):
        response = client.get(f"{url}?{query}")
        if query.startswith("sort") and "/c/" in url:
            assert response.status_code == 200  # a community's page ranks nothing
            continue
        assert response.status_code in (400, 422), (url, query, response.status_code)


def test_meeting_list_and_area_issue_list_refuse_bad_dates(client, demo_engine):
    slugs = _slugs(demo_engine)
    assert client.get(f"/c/{slugs['community']}/meetings?quarter={THIS.label}&month=1999-01").status_code == 400
    assert client.get(f"/a/{slugs['district']}/issues?raised_from=yesterday").status_code == 400
    assert client.get("/a/nowhere/dashboard").status_code == 404


def test_a_series_that_skipped_weeks_shows_its_gaps_on_the_dashboard(client, demo_engine):
    """A weekly series of its own in a quarter long past: held on the 1st, 3rd and 5th Tuesday
    (one moved a day), planned on the 4th (not held), so the 2nd, 4th and the rest are gaps."""
    from forum.models import Meeting, Series

    with Session(demo_engine) as db:
        community = db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first()
        series = Series(community_id=community.id, title="测试恳谈会", cadence="weekly", rrule="FREQ=WEEKLY;BYDAY=TU",
                        dtstart=datetime(2025, 1, 7, 19, 30), place="议事厅")
        db.add(series)
        db.flush()
        tuesdays = [datetime(2025, 1, 7, 19, 30) + timedelta(weeks=n) for n in range(12)]  # 2025Q1: 12 Tuesdays
        for when, status in ((tuesdays[0], "ended"), (tuesdays[2] + timedelta(days=1), "ended"),
                             (tuesdays[3], "planned"), (tuesdays[4], "ended")):
            db.add(Meeting(community_id=community.id, series_id=series.id, title="测试恳谈会", cadence="weekly",
                           starts_at=when, place="议事厅", status=status))
        db.commit()
        slug, series_id = community.slug, series.id
    page = _page(client, f"/c/{slug}/dashboard?quarter=2025Q1")
    row = next(r for r in page.select("#cadence ~ table tbody tr, #cadence + table tbody tr")
               if r.select_one(f'a[href$="/series/{series_id}"]'))
    expected, held = (int(td.get_text()) for td in row.select("td.num"))
    assert (expected, held) == (12, 3)
    gaps = [t["datetime"] for t in row.select("time")]
    assert gaps[:3] == ["2025-01-14", "2025-01-28", "2025-02-11"] and len(gaps) == 9
    assert "has-gaps" in row["class"]


# ---------------------------------------------------------------- follow-up: overdue actions, satisfaction


def _figure(page: BeautifulSoup, name: str) -> tuple[str, str]:
    tile = page.select_one(f'[data-figure="{name}"]')
    return tile.get_text(strip=True), tile.parent["href"]


def _owner_rows(page: BeautifulSoup) -> list[tuple[str, int, str]]:
    return [(a.select_one("span").get_text(strip=True), int(a.select_one(".count").get_text()), a["href"])
            for a in page.select("#h-overdue ~ ul.counts a")]


def test_overdue_actions_by_owner_and_satisfaction_counted_by_hand(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    response = client.get(f"/c/{world.slug}/dashboard")
    page = BeautifulSoup(response.text, "html.parser")
    overdue, href = _figure(page, "overdue")
    assert overdue == "5" and _list_count(client, href) == 5
    # The organisation's two, then the persons' two (tie: in the owners' order), then the committee's one.
    owners = _owner_rows(page)
    assert [(name, n) for name, n, _h in owners] == [(world.organisation, 2), ("个人（不具名）", 2),
                                                     (world.committee_name, 1)]
    for _name, n, link in owners:
        assert _list_count(client, link) == n, link
    # A person owner is counted, never named: neither the landlord nor the staff member, on the
    # dashboard or on the list behind it.
    listed = client.get(urlsplit(owners[1][2]).path + "?" + urlsplit(owners[1][2]).query).text
    assert "联系房东" in listed
    for text in (response.text, listed):
        for private in (followup_rows.STAFF, followup_rows.PHONE, followup_rows.LANDLORD):
            assert private not in text
    rate, rated_href = _figure(page, "satisfaction")
    assert rate == "40.0%"
    assert _list_count(client, rated_href) == 2  # the two issues rated in the quarter
    table = {r.th.get_text(strip=True): r.td.get_text(strip=True) for r in page.select("#h-satisfaction ~ table tr")}
    assert table == {"评议的议题": "2", "满意": "6", "基本满意": "2", "不满意": "12", "满意率": "40.0%"}


def test_a_quarter_without_ratings_has_no_rate_and_nothing_overdue_is_said(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    page = _page(client, f"/c/{world.slug}/dashboard?quarter=2001Q1")
    assert _figure(page, "satisfaction")[0] == "—"  # no rating: no rate, not 0%
    assert _figure(page, "overdue")[0] == "0" and not _owner_rows(page)
    assert page.select_one("#h-satisfaction ~ p.empty") and page.select_one("#h-overdue ~ p.empty")


def test_a_past_quarter_counts_what_was_overdue_at_its_end(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build_past(demo_engine)
    past = _page(client, f"/c/{world.slug}/dashboard?quarter={followup_rows.PREV.label}")
    overdue, href = _figure(past, "overdue")
    assert overdue == "2" and _list_count(client, href) == 2
    now = _page(client, f"/c/{world.slug}/dashboard")
    assert _figure(now, "overdue")[0] == "1"


def test_the_committee_dashboard_counts_its_issues_actions_and_ratings(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    page = _page(client, f"/committees/{world.committee_id}/dashboard")
    overdue, href = _figure(page, "overdue")
    assert overdue == "5" and "committee=" in href and _list_count(client, href) == 5
    assert _figure(page, "satisfaction")[0] == "40.0%"
    with Session(demo_engine) as db:  # another committee's dashboard sees none of them
        other = db.exec(select(Committee).where(Committee.id != world.committee_id)).first()
    page = _page(client, f"/committees/{other.id}/dashboard")
    assert "手数议题" not in str(page)


def test_the_street_ranks_communities_by_overdue_actions_and_satisfaction(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    street = _slugs(demo_engine)["street"]
    by_overdue = _page(client, f"/a/{street}/dashboard?sort=overdue")
    header = [th.get_text(strip=True) for th in by_overdue.select("table.ranking thead th")]
    rows = by_overdue.select("table.ranking tbody tr")
    # The td.num cells are "#" and then the figures: the community's heading is a th.
    counts = [int(r.select("td.num")[header.index("逾期事项") - 1].get_text()) for r in rows]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 5
    assert rows[0].th.get_text(strip=True) == "手数社区"
    by_rate = _page(client, f"/a/{street}/dashboard?sort=satisfaction")
    rates = [r.select("td.num")[header.index("满意率") - 1].get_text()
             for r in by_rate.select("table.ranking tbody tr")]
    shown = [float(x.rstrip("%")) for x in rates if x != "—"]
    assert shown == sorted(shown, reverse=True) and "40.0%" in rates
    assert rates[len(shown):] == ["—"] * (len(rates) - len(shown))  # none rated: last, never as 0%
    assert world.slug in str(by_rate)


@pytest.mark.parametrize("query", ["owner=x1", "owner=c", "status=lost", "overdue=yes", "quarter=2026Q9",
                                   "committee=abc"])
def test_the_action_list_refuses_what_it_cannot_filter_by(client, demo_engine, query):
    slugs = _slugs(demo_engine)
    for url in (f"/c/{slugs['community']}/actions", f"/a/{slugs['district']}/actions"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        assert query.split("=")[0] in response.text


def test_the_action_list_is_shareable_and_keeps_its_filters(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    page = _page(client, f"/c/{world.slug}/actions?overdue=1&owner=person&status=open")
    assert page.select_one(".result-count").get_text(strip=True).startswith("2 ")
    assert page.select_one("#f-owner option[selected]")["value"] == "person"
    assert page.select_one("#f-status option[selected]")["value"] == "open"
    assert page.select_one("input[name=overdue]").has_attr("checked")
    assert len(page.select(".action-row.overdue")) == 2
    due_in_quarter = _page(client, f"/c/{world.slug}/actions?quarter={THIS.label}")
    assert due_in_quarter.select_one(".result-count").get_text(strip=True).startswith(
        str(sum(figures.quarter_of(d).label == THIS.label for d in _dues(demo_engine, world.community_id))))


def _dues(engine, community_id: int) -> list:
    from forum.models import Action

    with Session(engine) as db:
        return list(db.exec(select(Action.due).where(Action.community_id == community_id)).all())


def test_the_action_lists_owner_choices_are_every_owner_of_its_communities(client, demo_engine):
    from tests import followup_rows

    world = followup_rows.build(demo_engine)
    page = _page(client, f"/c/{world.slug}/actions?owner=c{world.committee_id}")
    choices = {o["value"]: o.get_text(strip=True) for o in page.select("#f-owner option") if o["value"]}
    # Filtered to the committee, the choices still hold the organisation, and persons unnamed.
    assert choices == {f"c{world.committee_id}": world.committee_name, f"o{world.organisation_id}": world.organisation,
                       "person": "个人（不具名）"}

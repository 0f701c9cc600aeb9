"""Dashboards in Chromium at tablet size: a number followed to its list, which counts the same;
the district ranks its communities; no serious accessibility violation. Screenshots go to
FORUM_SHOTS (a directory) when it is set."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from forum import figures
from tests.conftest import axe_serious

pytestmark = pytest.mark.browser

COMMUNITY = "jiaochangkou"
SHOTS = Path(os.environ["FORUM_SHOTS"]) if os.environ.get("FORUM_SHOTS") else None


def _shot(page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"opendata-{name}.png"), full_page=True)


def _quarter_with_resolutions(page, base: str) -> str:
    for quarter in figures.quarters_ending(figures.quarter_of(date.today()))[::-1]:
        page.goto(f"{base}/c/{COMMUNITY}/dashboard?quarter={quarter.label}")
        if page.locator('[data-figure="resolved"]').inner_text() != "0":
            return quarter.label
    raise AssertionError("the demo resolves issues in some quarter")


def test_a_dashboard_number_leads_to_its_list(live_server, tablet):
    page = tablet
    quarter = _quarter_with_resolutions(page, live_server)
    assert not axe_serious(page)
    _shot(page, "community")
    resolved = page.locator('[data-figure="resolved"]').inner_text()
    page.locator('[data-figure="resolved"]').tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("议题")
    assert "resolved_from=" in page.url and "resolved_to=" in page.url
    expect(page.locator(".result-count")).to_have_text(re.compile(rf"^{resolved} 个议题"))
    expect(page.locator(".issue-row")).to_have_count(int(resolved))
    # The list's own form shows the period it was given, so the link can be shared and changed.
    start = figures.parse_quarter(quarter).start.isoformat()
    expect(page.get_by_label("解决日期自")).to_have_value(start)

    # Open now, by category: one row followed.
    page.goto(f"{live_server}/c/{COMMUNITY}/dashboard?quarter={quarter}")
    row = page.locator("#h-category ~ .counts a").first
    count = row.locator(".count").inner_text()
    row.tap()
    expect(page.locator(".result-count")).to_have_text(re.compile(rf"^{count} 个议题"))


def test_the_district_page_ranks_communities_and_is_accessible(live_server, tablet):
    page = tablet
    page.goto(f"{live_server}/a/yuzhong/dashboard")
    expect(page.locator("table.ranking tbody tr")).to_have_count(2)
    assert not axe_serious(page)
    _shot(page, "district")
    page.locator("table.ranking thead a", has_text="参与人次").tap()
    expect(page).to_have_url(re.compile("sort=participation"))
    expect(page.locator("th[aria-sort]")).to_have_text("参与人次")
    page.goto(f"{live_server}/c/{COMMUNITY}/report")
    assert not axe_serious(page)
    _shot(page, "report")
    page.emulate_media(media="print")
    _shot(page, "report-print")
    page.emulate_media(media="screen")
    page.goto(f"{live_server}/api/v1/docs")
    assert not axe_serious(page)
    _shot(page, "api-docs")


def test_an_overdue_actions_number_leads_to_its_list(live_server, tablet):
    """The demo's kitchen-fumes issue has an overdue check by the city management bureau: the
    dashboard's number, and its owner's row, each lead to the action list that counts the same."""
    page = tablet
    page.goto(f"{live_server}/c/{COMMUNITY}/dashboard")
    overdue = page.locator('[data-figure="overdue"]').inner_text()
    assert int(overdue) >= 1
    owner = page.locator("#h-overdue ~ ul.counts a").first
    owner_name, owner_count = owner.locator("span").first.inner_text(), owner.locator(".count").inner_text()
    page.locator('[data-figure="overdue"]').tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^跟进事项"))
    assert "overdue=1" in page.url and "quarter=" in page.url
    expect(page.locator(".result-count")).to_have_text(re.compile(rf"^{overdue} 项跟进事项"))
    expect(page.locator(".action-row.overdue")).to_have_count(int(overdue))
    expect(page.locator(".flag-overdue").first).to_contain_text("已逾期")
    expect(page.get_by_label("只看逾期")).to_be_checked()
    assert not axe_serious(page)
    _shot(page, "actions")

    page.go_back()
    page.locator("#h-overdue ~ ul.counts a").first.tap()
    expect(page.locator(".result-count")).to_have_text(re.compile(rf"^{owner_count} 项跟进事项"))
    expect(page.locator(".action-row .row-meta").first).to_contain_text(owner_name)
    # The list's form keeps the owner, so the link can be shared and changed.
    assert page.locator("#f-owner").input_value().startswith(("o", "c", "person"))

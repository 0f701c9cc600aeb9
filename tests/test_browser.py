"""The foundation as a resident and staff use it, in headless Chromium at tablet size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import axe_serious
from tests.room_pages import sign_in

pytestmark = pytest.mark.browser

COMMUNITY = "jiaochangkou"


def test_raise_triage_schedule_and_find_on_timeline(live_server, tablet):
    page = tablet
    # A resident raises an issue, by touch, without an account.
    page.goto(f"{live_server}/c/{COMMUNITY}")
    page.get_by_role("link", name="反映问题").first.tap()
    page.get_by_label("问题是什么？").fill("3号楼门口路灯坏了一个月")
    page.get_by_label("分类").select_option("safety")
    page.get_by_label("地点").fill("3号楼门口")
    page.get_by_label("您的姓名").fill("陈阿姨")
    page.get_by_role("button", name="提交问题").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("3号楼门口路灯坏了一个月")
    expect(page.locator(".page-head .status")).to_have_text("已提出")
    issue_url = page.url
    assert re.search(r"/issues/\d+$", issue_url)

    # A committee member triages it: accept and assign a committee.
    sign_in(page, live_server, "committee")
    page.goto(issue_url)
    page.get_by_label("负责的委员会").select_option(label="治安保卫委员会")
    page.get_by_role("button", name="受理并交办").tap()
    expect(page.locator(".page-head .status")).to_have_text("已受理")

    # ... and places it on the agenda of the coming weekly talk.
    meeting_select = page.get_by_label("列入以下会议的议程")
    meeting_label = meeting_select.locator("option").nth(1).inner_text()
    meeting_select.select_option(index=1)
    page.get_by_role("button", name="列入议程").tap()
    expect(page.locator(".page-head .status")).to_have_text("已列入议程")

    # The timeline shows every step, the last one linking to the meeting.
    timeline = page.locator("#timeline")
    expect(timeline.locator("li")).to_have_count(3)
    expect(timeline).to_contain_text("受理并交办")
    expect(timeline).to_contain_text("列入议程")
    timeline.get_by_role("link").last.tap()
    expect(page.locator("#agenda")).to_contain_text("3号楼门口路灯坏了一个月")
    assert meeting_label.split(" · ")[0] in page.locator("h1").inner_text()


def test_facilitator_reorders_agenda_in_place(live_server, tablet):
    page = tablet
    sign_in(page, live_server, "facilitator")
    page.goto(f"{live_server}/c/{COMMUNITY}")
    page.locator("section[aria-labelledby=h-next] a.row-link").first.tap()
    page.wait_for_url("**/meetings/*")
    entries = page.locator(".agenda-entry .row-title")
    before = entries.all_inner_texts()
    assert len(before) >= 2, "the demo's coming meeting has an agenda"
    page.evaluate("window.__marker = 1")  # survives only if the page is not reloaded
    page.locator(".agenda-entry").nth(1).get_by_role("button", name=re.compile("上移")).tap()
    expect(entries.first).to_have_text(before[1])
    assert page.evaluate("window.__marker") == 1
    # Bad input is refused beside the field, in place.
    minutes = page.locator(".agenda-entry").first.locator("input[name=planned_minutes]")
    minutes.fill("999")
    page.locator(".agenda-entry").first.get_by_role("button", name="保存").tap()
    expect(page.locator(".agenda-entry").first.locator(".error")).to_contain_text("1")
    assert page.evaluate("window.__marker") == 1


def test_issue_filters_update_in_place(live_server, tablet):
    page = tablet
    page.goto(f"{live_server}/c/{COMMUNITY}/issues")
    total = page.locator(".issue-row").count()
    page.evaluate("window.__marker = 1")
    page.get_by_label("分类").select_option("lift")
    expect(page.locator(".issue-row")).not_to_have_count(total)
    expect(page.locator(".issue-row").first).to_contain_text("电梯")
    assert "category=lift" in page.url
    assert page.evaluate("window.__marker") == 1


@pytest.mark.parametrize("path", [
    "/",
    f"/c/{COMMUNITY}",
    f"/c/{COMMUNITY}/issues",
    f"/c/{COMMUNITY}/issues/new",
    f"/c/{COMMUNITY}/series",
    f"/c/{COMMUNITY}/committees",
    "/login",
])
def test_pages_have_no_serious_accessibility_violations(live_server, tablet, path):
    tablet.goto(live_server + path)
    assert axe_serious(tablet) == []


def test_staff_pages_have_no_serious_accessibility_violations(live_server, tablet):
    sign_in(tablet, live_server, "facilitator")
    tablet.goto(f"{live_server}/c/{COMMUNITY}/issues")
    tablet.locator(".issue-row a").first.tap()
    tablet.wait_for_url("**/issues/*")
    assert axe_serious(tablet) == []
    tablet.goto(f"{live_server}/c/{COMMUNITY}")
    tablet.locator("section[aria-labelledby=h-next] a.row-link").first.tap()
    tablet.wait_for_url("**/meetings/*")
    assert axe_serious(tablet) == []
    tablet.goto(f"{live_server}/c/{COMMUNITY}/series")
    tablet.locator(".tile").first.tap()
    tablet.wait_for_url("**/series/*")
    assert axe_serious(tablet) == []

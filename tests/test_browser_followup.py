"""After the meeting, in the browser at tablet size (issue 12), on the demo:

the liaison finds their overdue action from the header and marks it done with a note; the
committee member resolves the kitchen-fumes issue, now that every action is done; the facilitator
creates the next quarterly review, takes its proposed agenda (which holds the issue), and records residents'
不满意, which reopens it; the next weekly talk's draft has it again. Axe finds nothing serious on
the new pages. Screenshots go to /tmp/shots/followup-*.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from forum.models import Issue
from tests.conftest import TABLET, axe_serious
from tests.room_pages import SHOTS

pytestmark = pytest.mark.browser

FUMES = "3栋底楼面馆油烟扰民"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"followup-{name}.png"), full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def device(browser):
    return browser.new_context(viewport=TABLET, has_touch=True, locale="zh-CN").new_page()


def test_liaison_done_committee_resolves_review_reopens(browser, live_server, demo_engine):
    base = live_server
    with Session(demo_engine) as db:
        fumes = db.exec(select(Issue).where(Issue.title == FUMES)).one()

    # The liaison: one tap from the header to their work, the overdue check first.
    liaison = device(browser)
    sign_in(liaison, base, "liaison")
    # The header counts their unread notices; the notices page lists the overdue check.
    expect(liaison.locator(".notice-count")).to_contain_text("1")
    liaison.get_by_role("link", name=re.compile("^通知")).click()
    expect(liaison.locator(".notice-row.unread")).to_contain_text("复查面馆油烟排放")
    assert not axe_serious(liaison), axe_serious(liaison)
    shot(liaison, "notices")
    liaison.get_by_role("link", name=re.compile("^我的待办")).click()
    first = liaison.locator(".action-row").first
    expect(first).to_contain_text("复查面馆油烟排放")
    expect(first).to_contain_text("已逾期")
    assert not axe_serious(liaison), axe_serious(liaison)
    shot(liaison, "my-work")
    first.get_by_role("link").click()
    expect(liaison.locator("h1")).to_contain_text("复查面馆油烟排放")
    liaison.get_by_label("新状态").select_option("done")
    liaison.get_by_label("说明（受阻时请写原因）").fill("检测报告已出，油烟排放达标。")
    liaison.get_by_role("button", name="变更状态").click()
    expect(liaison.locator(".page-head .status")).to_have_text("已完成")
    # Re-planning is not the liaison's: no form for it on the page.
    expect(liaison.get_by_role("button", name="改派")).to_have_count(0)
    assert not axe_serious(liaison), axe_serious(liaison)
    shot(liaison, "action-done")
    liaison.context.close()

    # The committee member: every action is done, so the issue may be marked resolved.
    committee = device(browser)
    sign_in(committee, base, "committee")
    committee.goto(f"{base}/issues/{fumes.id}")
    expect(committee.locator(".resolvable")).to_be_visible()
    resolve = committee.locator("form", has=committee.locator('input[name="action"][value="resolve"]'))
    resolve.locator("textarea").fill("三项跟进事项均已完成，住户回访反映油烟明显减少。")
    resolve.get_by_role("button", name="标记为已解决").click()
    expect(committee.locator(".page-head .status")).to_have_text("已解决")
    assert not axe_serious(committee), axe_serious(committee)
    shot(committee, "issue-resolved")
    committee.context.close()

    # The facilitator: the next quarterly review's draft has the issue to rate; residents are dissatisfied.
    facilitator = device(browser)
    sign_in(facilitator, base, "facilitator")
    facilitator.goto(f"{base}/c/jiaochangkou/series")
    facilitator.get_by_role("link", name=re.compile("季度评议会")).first.click()
    facilitator.get_by_role("button", name="创建会议").first.click()
    expect(facilitator.locator("section.proposed")).to_contain_text(FUMES)
    facilitator.get_by_role("button", name="列入议程").click()
    rate = facilitator.locator("article.rate-item", has_text=FUMES)
    expect(rate).to_be_visible()
    shot(facilitator, "quarterly-draft")
    rate.get_by_label("居民评价方式").select_option("paper")
    rate.get_by_label("满意", exact=True).fill("4")
    rate.get_by_label("基本满意").fill("6")
    rate.get_by_label("不满意", exact=True).fill("15")
    rate.get_by_label("居民意见（不满意时必填）").fill("早上六点还是有油烟味，净化器晚上没开。")
    assert not axe_serious(facilitator), axe_serious(facilitator)
    rate.get_by_role("button", name="记录评价").click()
    expect(facilitator.locator("article.rate-item", has_text=FUMES).locator(".status")).to_have_text("已受理")
    facilitator.goto(f"{base}/issues/{fumes.id}")
    expect(facilitator.locator("#timeline")).to_contain_text("早上六点还是有油烟味")
    shot(facilitator, "issue-reopened")

    # And the next weekly talk created proposes it again.
    facilitator.goto(f"{base}/c/jiaochangkou/series")
    facilitator.get_by_role("link", name=re.compile("恳谈会")).first.click()
    facilitator.get_by_role("button", name="创建会议").first.click()
    expect(facilitator.locator("section.proposed")).to_contain_text(FUMES)
    shot(facilitator, "weekly-draft")
    facilitator.context.close()

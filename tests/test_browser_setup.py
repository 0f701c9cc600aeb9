"""From an empty installation to a community that meets, in the browser (issue 11).

``forum init`` has named the district and made the first administrator. The administrator sets up
a street, a community, its "3+3" committees with a chair, an organisation with a liaison that
serves the community, and a facilitator's account; the facilitator signs in with the password
shown once, creates the weekly talk and its first meeting, and starts it; a tablet joins with the
code and sees the meeting's own header, not the site's menu. Screenshots go to /tmp/shots/setup-*.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from forum import db as database
from forum import install
from forum.app import create_app
from forum.settings import Settings
from tests.conftest import TABLET, serving
from tests.room_pages import LAPTOP, SHOTS, join_code, join_on

pytestmark = pytest.mark.browser


@pytest.fixture
def empty_install(database_url):
    """A fresh database after `forum init`: a district and its administrator, nothing else."""
    url = database_url
    engine = database.make_engine(url)
    database.upgrade(engine)
    with Session(engine) as db:
        install.init(db, district="渝中区", slug="yuzhong", username="root", display_name="区管理员",
                     password="long-enough-1")
        db.commit()
    app = create_app(Settings(database_url=url, secret_key="browser-secret", language="zh-Hans"), engine=engine)
    with serving(app) as base:
        yield base
    engine.dispose()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"setup-{name}.png"), full_page=True)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def test_from_an_empty_install_to_a_weekly_talk(empty_install, open_page):
    base = empty_install
    admin = open_page(LAPTOP)
    admin.goto(f"{base}/")
    expect(admin.locator("main")).to_contain_text("forum init")  # the empty site says how to begin
    sign_in(admin, base, "root", "long-enough-1")
    admin.get_by_role("link", name="系统管理").first.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("系统管理")
    shot(admin, "01-admin-empty")

    # A street under the district; bad input first: refused by the field, what was typed kept.
    admin.locator("#f-create-parent").select_option(label="渝中区 (区)")
    admin.locator("#f-create-slug").fill("Not a slug!")
    admin.get_by_role("button", name="添加", exact=True).click()
    expect(admin.locator("#create-name-error")).to_be_visible()
    expect(admin.locator("#create-slug-error")).to_be_visible()
    expect(admin.locator("#f-create-slug")).to_have_value("Not a slug!")
    shot(admin, "02-bad-input")
    admin.locator("#f-create-name").fill("解放碑街道")
    admin.locator("#f-create-slug").fill("jiefangbei")
    admin.get_by_role("button", name="添加", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("解放碑街道")

    # A community of the street, from the street's own page.
    admin.locator("#f-create-name").fill("较场口社区")
    admin.locator("#f-create-slug").fill("jiaochangkou")
    admin.get_by_role("button", name="添加", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("较场口社区")
    admin.get_by_role("button", name="设立“3+3”委员会").click()
    expect(admin.locator("section[aria-labelledby=h-committees] .row-link")).to_have_count(6)
    admin.locator("#f-format-new-name").fill("幸福圆桌会")
    admin.get_by_role("button", name="添加", exact=True).last.click()
    shot(admin, "03-community")

    # The mediation committee gets its chair.
    admin.get_by_role("link", name=re.compile("人民调解委员会")).click()
    admin.locator("#f-member-name").fill("张律师")
    admin.locator("#f-member-phone").fill("13900000000")
    admin.get_by_label("担任委员会主任").check()
    admin.get_by_role("button", name="添加", exact=True).click()
    expect(admin.locator(".admin-table")).to_contain_text("张律师")
    expect(admin.locator(".admin-table .badge")).to_have_text("主任")
    shot(admin, "04-committee")

    # An organisation that serves the community, with its liaison.
    admin.locator("nav.subnav").get_by_role("link", name="单位").click()
    admin.locator("#f-org-name").fill("渝中区城市管理局")
    admin.locator("#f-org-kind").select_option("department")
    admin.get_by_label(re.compile("较场口社区")).check()
    admin.get_by_role("button", name="创建").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("渝中区城市管理局")
    admin.locator("#f-liaison-name").fill("张联络")
    admin.get_by_role("button", name="添加联络人").click()
    expect(admin.locator("section[aria-labelledby=h-liaisons]")).to_contain_text("张联络")
    shot(admin, "05-organisation")

    # The facilitator's account, held in the community; its password is shown once.
    admin.locator("nav.subnav").get_by_role("link", name="人员与账号").click()
    admin.locator("#f-new-display_name").fill("王主任")
    admin.locator("#f-new-username").fill("wang")
    admin.locator("#f-new-role").select_option("facilitator")
    admin.locator("#f-new-scope").select_option(label="渝中区 › 解放碑街道 › 较场口社区")
    admin.get_by_role("button", name="创建账号").click()
    password = admin.locator(".password-once").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password)
    shot(admin, "06-account")
    admin.goto(f"{base}/admin")
    expect(admin.locator(".steps-list li.done")).to_have_count(5)  # all but the series
    shot(admin, "07-admin-steps")

    # The facilitator signs in, creates the weekly talk and its first meeting, and starts it.
    facilitator = open_page(LAPTOP)
    sign_in(facilitator, base, "wang", password)
    facilitator.goto(f"{base}/c/jiaochangkou/series/new")
    facilitator.locator("#f-title").fill("幸福圆桌会 · 每周恳谈会")
    facilitator.locator("#f-dtstart").fill("2030-01-08T19:30")
    facilitator.locator("#f-place").fill("社区议事厅")
    facilitator.locator("#f-forum_format").select_option(label="幸福圆桌会")
    facilitator.get_by_role("button", name="创建会议系列").click()
    expect(facilitator.get_by_role("heading", level=1)).to_have_text("幸福圆桌会 · 每周恳谈会")
    facilitator.get_by_role("button", name="创建会议").first.click()
    facilitator.wait_for_url(re.compile(r"/meetings/\d+$"))
    shot(facilitator, "08-meeting")
    meeting = facilitator.url.rsplit("/", 1)[1]
    facilitator.goto(f"{base}/meetings/{meeting}/run")
    facilitator.get_by_role("button", name="开始会议").click()
    expect(facilitator.locator(".room-code")).to_be_visible()
    shot(facilitator, "09-console")
    code = join_code(facilitator)

    # A tablet joins by the code: the meeting's own header, no way into the rest of the site.
    tablet = open_page(TABLET, has_touch=True)
    join_on(tablet, base, code, "陈阿姨")
    expect(tablet.locator("header.room-top")).to_contain_text("幸福圆桌会 · 每周恳谈会")
    expect(tablet.locator("header a.brand")).to_have_count(0)
    tablet.goto(f"{base}/")
    expect(tablet.locator("header.room-top")).to_be_visible()
    tablet.locator("header.room-top").get_by_role("link", name="回到会议").tap()
    tablet.wait_for_url(re.compile(r"/tablet$"))
    shot(tablet, "10-tablet")

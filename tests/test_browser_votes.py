"""Votes in headless Chromium: a facilitator's console, residents' tablets, a shared (kiosk)
tablet and the hall's screen, each its own browser context, kept in step over their websockets;
and the ballot as a screen reader and a finger meet it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from forum import i18n
from forum.models import AgendaEntry, Household, Meeting, MeetingStatus, Ownership, Person, User
from tests.conftest import TABLET, axe_serious
from tests.room_pages import (
    LAPTOP,
    PUSH_MS,
    SHOTS,
    assert_not_reloaded,
    join_code,
    join_tablet,
    open_screen,
    sign_in,
    wait_listening,
)

pytestmark = pytest.mark.browser

TAP = 44  # WCAG 2.5.5: a target at least 44 by 44 CSS pixels


def t(message: str, **params) -> str:
    """The Chinese interface's text for a message id, as the app renders it for zh-CN browsers."""
    token = i18n.set_language("zh-Hans")
    try:
        text = i18n.gettext(message)
    finally:
        i18n.reset_language(token)
    return text % params if params else text


FOR_AGAINST = ["赞成", "反对", "弃权"]
assert [t("For"), t("Against"), t("Abstain")] == FOR_AGAINST


# ---------------------------------------------------------------- the meeting and the pages


@pytest.fixture
def meeting(demo_engine) -> dict:
    """A coming meeting of the demo facilitator's own community with an agenda, and an owner of
    that community (name and home) to check in from a tablet."""
    with Session(demo_engine) as db:
        facilitator = db.exec(select(User).where(User.username == "facilitator")).one()
        meetings = db.exec(select(Meeting).where(Meeting.community_id == facilitator.community_id,
                                                 Meeting.status != MeetingStatus.ended)
                           .order_by(Meeting.starts_at)).all()
        found = next((m for m in meetings
                      if db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == m.id)).first()), None)
        assert found is not None, "the demo has no coming meeting with an agenda for the facilitator"
        owner, home = db.exec(select(Person, Household).join(Household, Person.household_id == Household.id)
                              .join(Ownership, (Ownership.person_id == Person.id)
                                    & (Ownership.household_id == Household.id))
                              .where(Household.community_id == facilitator.community_id)
                              .order_by(Household.building, Household.unit, Household.room)).first()
        return {"id": found.id, "owner": owner.name, "home": (home.building, home.unit, home.room)}


def start_meeting(console, base: str, meeting_id: int) -> str:
    """The facilitator starts the meeting on the console; returns the join code shown there."""
    console.goto(f"{base}/meetings/{meeting_id}/run")
    # The room as it stands arrives over the socket and replaces #room-status: wait for it, so the
    # click does not land on a button being replaced.
    wait_listening(console)
    console.get_by_role("button", name=t("Start the meeting")).click()
    expect(console.locator("#room-status .meeting-live")).to_be_visible()
    return join_code(console)


def wait_vote_css(page) -> None:
    """The vote styles arrive with the room's vote fragment; measure targets only once they apply."""
    page.wait_for_function("[...document.styleSheets].some(s => s.href && s.href.endsWith('/static/vote.css'))",
                           timeout=PUSH_MS)


def assert_tap_size(locator, what: str) -> None:
    box = locator.bounding_box()
    assert box is not None, f"{what} is not rendered"
    assert box["width"] >= TAP and box["height"] >= TAP, f"{what}: {box['width']:.0f}×{box['height']:.0f} px"


# The contrast ratio (WCAG) of each chart label's fill against the nearest opaque background
# behind it: axe does not check the text of an SVG chart.
CHART_CONTRAST = """
(root) => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => {
    const v = rgb(c).slice(0, 3).map(x => x / 255).map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  };
  const behind = el => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor, a = rgb(c);
      if (a.length === 3 || a[3] > 0) return c;
    }
    return "rgb(255, 255, 255)";
  };
  return [...root.querySelectorAll(".vote-chart text")].map(el => {
    const a = lum(getComputedStyle(el).fill), b = lum(behind(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}
"""


def assert_chart_readable(region) -> None:
    ratios = region.evaluate(CHART_CONTRAST)
    assert ratios and min(ratios) >= 4.5, f"chart text contrast ratios {ratios}"


def assert_button_ballot(page, question: str, labels: list[str]) -> None:
    """One button per choice, named by the choice, all in a group named by the question, each a
    large target; and no other control in the group."""
    group = page.get_by_role("group", name=question, exact=True)
    expect(group).to_be_visible()
    buttons = group.get_by_role("button")
    expect(buttons).to_have_count(len(labels))
    for i, label in enumerate(labels):
        button = group.get_by_role("button", name=label, exact=True)
        expect(button).to_be_visible()
        expect(buttons.nth(i)).to_have_accessible_name(label)
        assert_tap_size(button, f"the {label!r} button")


# ---------------------------------------------------------------- the whole vote


def test_two_tablets_and_a_kiosk_vote_and_the_screen_shows_the_result(live_server, open_page, meeting):
    base, meeting_id = live_server, meeting["id"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    question = "是否同意在3号楼门口加装两盏路灯？"

    console = open_page(LAPTOP)
    sign_in(console, base, "facilitator")
    code = start_meeting(console, base, meeting_id)
    entry_title = console.locator("#room-entry .entry-title").inner_text()
    screen = open_screen(open_page, base, meeting_id)

    # Two residents join on their own tablets: one an owner with their home, one a guest.
    first = join_tablet(open_page, base, code, meeting["owner"], meeting["home"])
    second = join_tablet(open_page, base, code, "来宾小周")
    # A third person without a tablet is checked in by the facilitator; they vote on the shared one.
    console.locator(".room-checkin summary").click()
    console.locator("#f-g-name").fill("赵大爷")
    console.get_by_role("button", name=t("Check in"), exact=True).click()
    expect(console.locator("#room-attendance")).to_contain_text("赵大爷")
    expect(screen.locator("#room-status .room-count-n")).to_have_text("3", timeout=PUSH_MS)

    # The facilitator puts a for/against question on the item under discussion: a secret ballot
    # whose count is not shown until it closes.
    console.goto(f"{base}/meetings/{meeting_id}/votes")
    entry = console.get_by_label(t("Agenda entry"))
    entry.select_option(label=next(o for o in entry.locator("option").all_inner_texts() if o.endswith(entry_title)))
    console.get_by_label(t("Question")).fill(question)
    expect(console.get_by_label(t("Kind of vote"))).to_have_value("for_against")
    console.get_by_label(t("Secret ballot (nobody can see who chose what)")).check()
    console.get_by_label(t("Show the count while the vote is open")).uncheck()
    # The two tablets checked themselves in (unverified): this vote lets them count.
    console.locator("input[name=guests_count]").check()
    console.get_by_role("button", name=t("Set up the vote")).click()
    console.wait_for_url(re.compile(r"/votes/\d+$"))
    vote_id = int(console.url.rsplit("/", 1)[1])
    expect(console.get_by_role("heading", level=1)).to_have_text(question)
    console.get_by_role("button", name=t("Open the vote")).click()
    expect(console.get_by_role("button", name=t("Close the vote and count"))).to_be_visible()

    # The ballot appears on both tablets, pushed: nobody reloads.
    for tablet in (first, second):
        assert_button_ballot(tablet, question, FOR_AGAINST)
        assert_not_reloaded(tablet)
    wait_vote_css(first)
    first.screenshot(path=str(SHOTS / "vote-tablet-ballot.png"), full_page=True)
    for tablet in (first, second):
        tablet.get_by_role("group", name=question).get_by_role("button", name="赞成", exact=True).tap()
        # A secret ballot is received, to be written together with others' (forum.secrecy).
        expect(tablet.get_by_role("status").filter(has_text=t(
            "Your ballot is received. It will be counted together with other voters' ballots, so that nobody can "
            "tell which one was yours."))).to_be_visible()
        expect(tablet.locator("#room-vote").get_by_role("button", name="赞成", exact=True)).to_have_count(0)
        assert_not_reloaded(tablet)
    expect(screen.locator("#room-votecount .participation")).to_contain_text("2 / 3", timeout=PUSH_MS)
    assert axe_serious(screen) == []

    # Staff make a tablet the shared one, which signs them out there; it waits, listening.
    kiosk = open_page(TABLET, has_touch=True)
    sign_in(kiosk, base, "facilitator")
    kiosk.goto(f"{base}/votes/{vote_id}")
    kiosk.get_by_role("button", name=t("Make this device the shared tablet")).tap()
    kiosk.wait_for_url(f"{base}/meetings/{meeting_id}/shared-tablet")
    expect(kiosk.get_by_text(t("Waiting for the facilitator to open a ballot for the next voter."))).to_be_visible()
    wait_listening(kiosk)
    expect(kiosk.get_by_role("button", name=t("Sign out"))).to_have_count(0)  # nothing of staff is left here
    kiosk.screenshot(path=str(SHOTS / "vote-kiosk-waiting.png"), full_page=True)
    # The facilitator opens a ballot for 赵大爷 at the console; it is pushed to the shared tablet.
    console.reload()
    kiosk_voter = console.locator("section[aria-labelledby=h-shared-tablet]").get_by_label(t("Voter"))
    kiosk_voter.select_option(label="赵大爷")
    console.get_by_role("button", name=t("Open ballot on shared tablet")).click()
    expect(console.locator("section[aria-labelledby=h-shared-tablet] .notice")).to_have_text(t("Waiting for: %(v)s",
                                                                                        v="赵大爷"))
    console.screenshot(path=str(SHOTS / "vote-console-voting.png"), full_page=True)
    assert axe_serious(console) == []
    expect(kiosk.get_by_role("heading", name=t("Ballot of %(name)s", name="赵大爷"))).to_be_visible(timeout=PUSH_MS)
    assert_not_reloaded(kiosk)
    assert_button_ballot(kiosk, question, FOR_AGAINST)
    kiosk.screenshot(path=str(SHOTS / "vote-kiosk-ballot.png"), full_page=True)
    assert axe_serious(kiosk) == []
    kiosk.get_by_role("button", name="反对", exact=True).tap()
    expect(kiosk.locator("#room-shared-tablet [role=status]")).to_have_text(
        t("Your ballot is received and will be counted together with other voters' ballots. Thank you. "
          "Please hand the tablet back."))
    assert_not_reloaded(kiosk)
    # The thank-you neither repeats the choice nor offers the ballot again.
    expect(kiosk.locator("main")).not_to_contain_text("反对")
    expect(kiosk.get_by_role("button", name="赞成")).to_have_count(0)

    # The console never shows the kiosk voter's choice: only that one more ballot is in.
    console.reload()
    expect(console.locator(f"#vote-result-{vote_id} .participation")).to_contain_text("3 / 3")
    expect(console.locator(".vote-chart")).to_have_count(0)
    expect(console.locator("section[aria-labelledby=h-shared-tablet] .notice")).to_have_count(0)
    expect(console.locator("#f-shared-tablet-voter option", has_text="赵大爷")).to_have_count(0)
    for word in FOR_AGAINST:
        expect(console.locator("section[aria-labelledby=h-audit]")).not_to_contain_text(word)
        expect(console.locator("section[aria-labelledby=h-shared-tablet]")).not_to_contain_text(word)
    expect(screen.locator("#room-votecount .participation")).to_contain_text("3 / 3", timeout=PUSH_MS)
    expect(screen.locator("#room-vote .vote-chart")).to_have_count(0)

    # The facilitator closes the vote; the screen and every tablet show the result, pushed.
    console.get_by_role("button", name=t("Close the vote and count")).click()
    expect(console.locator("#h-result")).to_have_text(t("Result"))
    verdict = t("Passed")  # 2 for, 1 against: a simple majority
    chart = re.compile(r"^赞成 2 \(66\.7%\); 反对 1 \(33\.3%\); 弃权 0 \(0\.0%\)$")
    for page in (screen, first, second):
        region = page.locator("#room-vote")
        expect(region.locator(".verdict")).to_have_text(verdict, timeout=PUSH_MS)
        expect(region.locator(".participation")).to_contain_text("3 / 3")
        expect(region.locator("svg.vote-chart desc")).to_have_text(chart)
        expect(region.get_by_role("img", name=re.compile(re.escape(question)))).to_be_visible()
        for key, heads in (("for", "2"), ("against", "1"), ("abstain", "0")):
            expect(region.locator(f".bar-{key} .bar-value")).to_have_text(re.compile(rf"^{heads}\b"))
        expect(region.get_by_role("button", name="赞成")).to_have_count(0)
        assert_chart_readable(region)
        assert_not_reloaded(page)
    screen.screenshot(path=str(SHOTS / "vote-screen-result.png"))
    assert axe_serious(screen) == []
    assert axe_serious(first) == []

    # What the pages showed is what was counted.
    body = console.request.get(f"{base}/votes/{vote_id}/result.json").json()
    assert body["status"] == "closed" and (body["ballots"], body["eligible"]) == (3, 3)
    assert {x["key"]: x["heads"] for x in body["result"]["totals"]} == {"for": 2, "against": 1, "abstain": 0}
    assert body["result"]["verdict"] == "passed"


# ---------------------------------------------------------------- the ballot, accessibly


KINDS = {
    "for_against": ({}, FOR_AGAINST),
    "one_of": ({"kind": "one_of", "options": "东门\n西门\n南门", "rule": "consultation"}, ["东门", "西门", "南门"]),
    "rating": ({"kind": "rating", "rule": "consultation"}, ["满意", "基本满意", "不满意"]),
    "several_of": ({"kind": "several_of", "options": "绿化\n停车\n照明", "max_choices": "2", "rule": "consultation"},
                   ["绿化", "停车", "照明"]),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_ballot_is_announced_by_choice_and_easy_to_tap(live_server, open_page, meeting, demo_engine, kind):
    base, meeting_id = live_server, meeting["id"]
    over, labels = KINDS[kind]
    question = f"请表决（{kind}）：社区活动室的开放安排"
    console = open_page(LAPTOP)
    sign_in(console, base, "facilitator")
    code = start_meeting(console, base, meeting_id)
    tablet = join_tablet(open_page, base, code, "来宾小林")
    with Session(demo_engine) as db:
        entry_id = db.get(Meeting, meeting_id).current_entry_id
    form = {"agenda_entry": str(entry_id), "question": question, "kind": "for_against", "options": "",
            "scope": "attendance", "counting_unit": "person", "weighting": "head", "rule": "simple",
            "closing": "facilitator", "closes_at": "", "guests_count": "on"} | over
    created = console.request.post(f"{base}/meetings/{meeting_id}/votes", form=form, max_redirects=0)
    assert created.status == 303, created.text()
    vote_id = int(created.headers["location"].rsplit("/", 1)[1])
    opened = console.request.post(f"{base}/votes/{vote_id}/open", max_redirects=0)
    assert opened.status == 303, opened.text()

    # The live room's ballot (pushed to the tablet), then the ballot page (also for proxies).
    for where in ("room", "page"):
        if where == "page":
            tablet.goto(f"{base}/votes/{vote_id}/ballot")
            expect(tablet.get_by_role("heading", level=1)).to_have_text(question)
        wait_vote_css(tablet)
        if kind == "several_of":
            group = tablet.get_by_role("group", name=question, exact=True)
            expect(group).to_be_visible()
            boxes = group.get_by_role("checkbox")
            expect(boxes).to_have_count(len(labels))
            for i, label in enumerate(labels):
                box = group.get_by_role("checkbox", name=label, exact=True)
                expect(boxes.nth(i)).to_have_accessible_name(label)
                expect(box).not_to_be_checked()
                # The whole labelled row is the target: a tap on its text ticks the box.
                row = group.locator("label.choice-check").filter(
                    has=tablet.get_by_role("checkbox", name=label, exact=True))
                assert_tap_size(row, f"the {label!r} row")
                row.locator("span").tap()
                expect(box).to_be_checked()
                row.locator("span").tap()
                expect(box).not_to_be_checked()
            submit = tablet.get_by_role("button", name=re.compile("^" + re.escape(t("Cast ballot"))))
            expect(submit).to_have_count(1)
            assert_tap_size(submit, "the cast button")
        else:
            assert_button_ballot(tablet, question, labels)
        assert axe_serious(tablet) == []
        if where == "room":
            tablet.screenshot(path=str(SHOTS / f"vote-tablet-ballot-{kind}.png"), full_page=True)

    # And the ballot counts what was chosen.
    if kind == "several_of":
        group = tablet.get_by_role("group", name=question, exact=True)
        group.get_by_role("checkbox", name=labels[0], exact=True).check()
        group.get_by_role("checkbox", name=labels[2], exact=True).check()
        tablet.get_by_role("button", name=re.compile("^" + re.escape(t("Cast ballot")))).tap()
        expected = {"o1": 1, "o2": 0, "o3": 1}
    else:
        tablet.get_by_role("group", name=question).get_by_role("button", name=labels[1], exact=True).tap()
        keys = {"for_against": ["for", "against", "abstain"], "one_of": ["o1", "o2", "o3"],
                "rating": ["satisfied", "basically_satisfied", "dissatisfied"]}[kind]
        expected = {k: int(i == 1) for i, k in enumerate(keys)}
    expect(tablet.get_by_role("status")).to_have_text(t("Your ballot is counted. Thank you."))
    assert axe_serious(tablet) == []
    closed = console.request.post(f"{base}/votes/{vote_id}/close", max_redirects=0)
    assert closed.status == 303, closed.text()
    body = console.request.get(f"{base}/votes/{vote_id}/result.json").json()
    assert {x["key"]: x["heads"] for x in body["result"]["totals"]} == expected

"""A secret ballot on a real tablet: "received" while it waits for others, "counted" once its batch
is written, and asked for again when the server lost it before that (forum.secrecy)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from forum import secrecy, votes
from forum.models import Meeting
from tests import test_browser_votes
from tests.room_pages import LAPTOP, sign_in
from tests.test_browser_votes import FOR_AGAINST, join_tablet, start_meeting, t
from tests.test_votes import check_in, count_batch

pytestmark = pytest.mark.browser

meeting = test_browser_votes.meeting  # the fixture: a coming meeting of the facilitator's community

POLL_MS = 3000 + 5000  # the tablet asks every 3 s; generous for a loaded machine


def test_a_tablet_hears_its_secret_ballot_counted_or_lost(live_server, open_page, meeting, demo_engine):
    base, meeting_id = live_server, meeting["id"]
    secrecy.configure(demo_engine, 2)  # K = 2: a batch is written once four ballots wait
    console = open_page(LAPTOP)
    sign_in(console, base, "facilitator")
    code = start_meeting(console, base, meeting_id)
    tablet = join_tablet(open_page, base, code, "来宾小吴")
    with Session(demo_engine, expire_on_commit=False) as db:
        m = db.get(Meeting, meeting_id)
        others = [check_in(db, m, None, f"来宾{i}") for i in range(6)]
        entry_id = m.current_entry_id
    question = "是否同意调整活动室开放时间？"
    form = {"agenda_entry": str(entry_id), "question": question, "kind": "for_against", "options": "",
            "scope": "attendance", "counting_unit": "person", "weighting": "head", "rule": "simple",
            "closing": "facilitator", "closes_at": "", "secret": "on", "guests_count": "on"}  # a guest tablet votes
    created = console.request.post(f"{base}/meetings/{meeting_id}/votes", form=form, max_redirects=0)
    vote_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert console.request.post(f"{base}/votes/{vote_id}/open", max_redirects=0).status == 303

    received = t("Your ballot is received. It will be counted together with other voters' ballots, so that "
                 "nobody can tell which one was yours.")
    group = tablet.get_by_role("group", name=question)
    group.get_by_role("button", name="赞成", exact=True).tap()
    expect(tablet.get_by_role("status")).to_have_text(received)

    # The server loses what waited (as a restart would): the tablet notices and asks again.
    with secrecy.urn_of(demo_engine).lock:
        secrecy.urn_of(demo_engine)._waiting.clear()
    lost = t("Your ballot was not counted: the server stopped before it was saved together with others. "
             "Please vote again.")
    expect(tablet.get_by_role("alert")).to_have_text(lost, timeout=POLL_MS)
    for label in FOR_AGAINST:
        expect(tablet.get_by_role("button", name=label, exact=True)).to_be_visible()
    tablet.get_by_role("button", name="反对", exact=True).tap()
    expect(tablet.get_by_role("status")).to_have_text(received)

    # Three more ballots arrive: the oldest two, this tablet's among them, are written together.
    for a, choice in zip(others[:3], ["for", "against", "for"], strict=True):
        count_batch(demo_engine, vote_id, [votes.TabletCast(a, "", [choice])])
    expect(tablet.get_by_role("status")).to_have_text(t("Your ballot is counted. Thank you."), timeout=POLL_MS)
    expect(tablet.get_by_role("button", name="反对", exact=True)).to_have_count(0)
    body = console.request.get(f"{base}/votes/{vote_id}/result.json").json()
    assert body["result"] is None and (body["ballots"], body["waiting"]) == (4, 2)

    assert console.request.post(f"{base}/votes/{vote_id}/close", max_redirects=0).status == 303
    expect(tablet.locator("#room-vote .verdict")).to_be_visible(timeout=POLL_MS)
    body = console.request.get(f"{base}/votes/{vote_id}/result.json").json()
    assert {x["key"]: x["heads"] for x in body["result"]["totals"]} == {"for": 2, "against": 2, "abstain": 0}

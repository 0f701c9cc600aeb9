"""A person owning a follow-up action (the demo's landlord 陈国富, or a staff member) is named only to
those who may see the community's personal data (forum.auth.sees_personal_data); everyone else reads
"个人（不具名）". Committees and organisations stay named. The rule is forum.owner_privacy's, on
the action's page and notes, the issue's actions and history, the meeting's actions and the API.

Also: the issue lists' filter form carries the ``rated`` quarter a dashboard linked with."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum.i18n import reset_language, set_language
from forum.models import Action, Area, Organisation, Person
from forum.owner_privacy import Unnaming

LANDLORD = "陈国富"
UNNAMED = "个人（不具名）"

# ---------------------------------------------------------------- the rule, on its own


@contextmanager
def using(language: str):
    token = set_language(language)
    try:
        yield
    finally:
        reset_language(token)


RULE = Unnaming(named=frozenset({"物业服务中心", "环境卫生委员会"}), private=("陈国富",),
                whats=("清理排烟管道 — 二期", "清理排烟管道"))


@pytest.mark.parametrize(("kind", "text", "shown"), [
    ("create", "陈国富 · 2026-05-01", f"{UNNAMED} · 2026-05-01"),
    ("create", "物业服务中心 · 2026-05-01", "物业服务中心 · 2026-05-01"),
    ("create", "— · 2026-05-01", "— · 2026-05-01"),  # an owner that is gone names no one
    # Reassigned from a person who owns nothing now (not among ``private``): still unnamed.
    ("reassign", "王大妈 → 物业服务中心: 她搬走了", f"{UNNAMED} → 物业服务中心: 她搬走了"),
    ("reassign", "物业服务中心 → 李师傅: 专业对口", f"物业服务中心 → {UNNAMED}: 专业对口"),
    ("reassign", "环境卫生委员会 → 物业服务中心: 交给物业", "环境卫生委员会 → 物业服务中心: 交给物业"),
    ("progress", "已打电话给陈国富，他同意", f"已打电话给{UNNAMED}，他同意"),
    ("status", "open → done: 完成", "open → done: 完成"),
])
def test_an_actions_note_keeps_groups_and_unnames_persons(kind, text, shown):
    with using("zh-Hans"):
        assert RULE.note(kind, text) == shown


def test_an_issue_history_line_is_read_after_its_actions_description():
    with using("zh-Hans"):
        # The description itself holds " — ": the longest known description is taken first.
        assert RULE.event("action_create", "清理排烟管道 — 二期 — 张三 · 2026-05-01") == \
            f"清理排烟管道 — 二期 — {UNNAMED} · 2026-05-01"
        assert RULE.event("action_reassign", "清理排烟管道 — 张三 → 物业服务中心: 换人") == \
            f"清理排烟管道 — {UNNAMED} → 物业服务中心: 换人"
        # An unknown description: cut at the first dash, and the owner still unnamed.
        assert RULE.event("action_create", "别的事 — 张三 · 2026-05-01") == f"别的事 — {UNNAMED} · 2026-05-01"
        # Lines that are not an action's are left as they are (a resident's words on a decline).
        assert RULE.event("decline", "张三 → 物业: 不归我们") == "张三 → 物业: 不归我们"
    with using("en"):
        assert RULE.note("create", "陈国富 · 2026-05-01") == "A person (not named) · 2026-05-01"


# ---------------------------------------------------------------- the pages, on the demo


@pytest.fixture
def landlords(demo_engine) -> dict:
    """The demo's landlord's action, an organisation's action of the same community, and the meeting
    that agreed the landlord's."""
    with Session(demo_engine) as db:
        person = db.exec(select(Person).where(Person.name.contains(LANDLORD))).one()
        action = db.exec(select(Action).where(Action.owner_person_id == person.id)).one()
        group = db.exec(select(Action).where(Action.community_id == action.community_id,
                                             Action.owner_organisation_id.is_not(None))).first()
        organisation = db.get(Organisation, group.owner_organisation_id)
        return {"action": action.id, "issue": action.issue_id, "meeting": action.meeting_id,
                "group_issue": group.issue_id, "organisation": organisation.id, "organisation_name": organisation.name,
                "community": db.get(Area, action.community_id).slug}


def personal(html: str) -> list[str]:
    return [e.get_text() for e in BeautifulSoup(html, "html.parser").select("[data-personal]")]


def test_the_public_action_page_does_not_name_the_landlord_and_staff_see_it_marked(app, facilitator, landlords):
    page = TestClient(app).get(f"/actions/{landlords['action']}").text
    assert LANDLORD not in page
    owner = BeautifulSoup(page, "html.parser").select_one(".facts dd").get_text()
    assert owner == UNNAMED
    staff = facilitator.get(f"/actions/{landlords['action']}").text
    assert any(LANDLORD in text for text in personal(staff))


def test_the_public_issue_page_names_the_organisation_but_not_the_landlord(app, facilitator, landlords):
    visitor = TestClient(app)
    page = visitor.get(f"/issues/{landlords['issue']}").text
    assert LANDLORD not in page
    assert UNNAMED in page  # the action's owner, and the history's line agreeing it
    assert landlords["organisation_name"] in visitor.get(f"/issues/{landlords['group_issue']}").text
    assert any(LANDLORD in text for text in personal(facilitator.get(f"/issues/{landlords['issue']}").text))


def test_the_public_meeting_page_does_not_name_the_landlord(app, facilitator, landlords):
    assert LANDLORD not in TestClient(app).get(f"/meetings/{landlords['meeting']}").text
    assert any(LANDLORD in text for text in personal(facilitator.get(f"/meetings/{landlords['meeting']}").text))


def test_a_liaison_reads_the_landlord_unnamed_too(app, landlords):
    """A liaison speaks for an outside organisation: no community's personal data is theirs."""
    from tests.conftest import sign_in

    with TestClient(app) as client:
        sign_in(client, "liaison")
        assert LANDLORD not in client.get(f"/actions/{landlords['action']}").text
        assert LANDLORD not in client.get(f"/issues/{landlords['issue']}").text


def test_reassigned_away_the_landlord_is_still_unnamed_on_the_pages_and_in_the_api(app, facilitator, landlords):
    """Once the landlord owns nothing, the history's "陈国富 → …" is still theirs to keep private."""
    r = facilitator.post(f"/actions/{landlords['action']}/reassign",
                         data={"owner": f"o{landlords['organisation']}", "reason": "房东联系不上"},
                         follow_redirects=False)
    assert r.status_code == 303
    visitor = TestClient(app)
    action_page = visitor.get(f"/actions/{landlords['action']}").text
    assert landlords["organisation_name"] in action_page and LANDLORD not in action_page
    assert f"{UNNAMED} → {landlords['organisation_name']}" in action_page
    assert LANDLORD not in visitor.get(f"/issues/{landlords['issue']}").text
    assert LANDLORD not in visitor.get(f"/api/v1/issues/{landlords['issue']}").content.decode()
    # Staff still read who it was.
    assert f"{LANDLORD}" in facilitator.get(f"/actions/{landlords['action']}").text


def test_a_staff_owner_is_a_person_too(app, facilitator, demo_engine, landlords):
    with Session(demo_engine) as db:
        issue_id = landlords["group_issue"]
        from forum.models import User

        staff = db.exec(select(User).where(User.username == "committee")).one()
        name, staff_id = staff.display_name, staff.id
    due = (date.today() + timedelta(days=9)).isoformat()
    r = facilitator.post(f"/issues/{issue_id}/actions", data={"what": "上门核实", "owner": f"u{staff_id}", "due": due},
                         follow_redirects=False)
    assert r.status_code == 303, r.text
    page = TestClient(app).get(f"/issues/{issue_id}").text
    rows = [e.get_text() for e in BeautifulSoup(page, "html.parser").select(".action-row")]
    assert any("上门核实" in row and UNNAMED in row and name not in row for row in rows)


def test_in_english_the_unnamed_owner_is_in_english(app, landlords):
    with TestClient(app) as visitor:
        visitor.get("/lang", params={"to": "en", "next": "/"})
        page = visitor.get(f"/actions/{landlords['action']}").text
    assert "A person (not named)" in page and LANDLORD not in page


# ---------------------------------------------------------------- the issue lists keep ``rated``


@pytest.mark.parametrize("page", ["/c/{community}/issues", "/a/{street}/issues"])
def test_the_issue_lists_filter_form_carries_the_rated_quarter(app, demo_engine, landlords, page):
    with Session(demo_engine) as db:
        community = db.exec(select(Area).where(Area.slug == landlords["community"])).one()
        street = db.get(Area, community.parent_id)
    address = page.format(community=community.slug, street=street.slug)
    html = TestClient(app).get(address, params={"rated": "2026Q1", "status": "resolved"}).text
    form = BeautifulSoup(html, "html.parser").select_one("form.filters")
    field = form.select_one("[name=rated]")
    assert field is not None and field.get("value") == "2026Q1"
    # Without the filter, the field is there, empty: clearing it shows every issue again.
    html = TestClient(app).get(address).text
    assert BeautifulSoup(html, "html.parser").select_one("form.filters [name=rated]").get("value") == ""


def test_a_note_that_starts_with_the_actions_description_keeps_it():
    """The demo's notes repeat the action's description, as its history's lines do."""
    with using("zh-Hans"):
        assert RULE.note("create", "清理排烟管道 — 陈国富（房东） · 2026-05-01") == \
            f"清理排烟管道 — {UNNAMED} · 2026-05-01"


def test_a_residents_tablet_shows_the_items_history_without_the_landlord(demo_engine, landlords):
    """The tablet shows the item's last lines of history to whoever holds it (parts.entry_context)."""
    from forum import parts
    from forum.models import AgendaEntry, Meeting

    with Session(demo_engine) as db, using("zh-Hans"):
        meeting = db.get(Meeting, landlords["meeting"])
        entry = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id,
                                                  AgendaEntry.issue_id == landlords["issue"])).one()
        meeting.current_entry_id = entry.id
        notes = [e.note for e in parts.entry_context(db, meeting)["history"]]
    assert any(UNNAMED in n for n in notes) and not any(LANDLORD in n for n in notes)

"""Every page over HTTP, on the demo data: what it shows, its htmx fragment, who may see it."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, col, func, select

from forum import i18n, lifecycle, recurrence
from forum.models import (
    AgendaEntry,
    Area,
    AreaKind,
    Committee,
    Household,
    Issue,
    IssueEvent,
    Meeting,
    MeetingStatus,
    Organisation,
    Person,
    Series,
    User,
    now,
)
from forum.web import format_when

C1, C2 = "jiaochangkou", "baixiangjie"
CJK = re.compile(r"[\u4e00-\u9fff]")


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def path(href: str) -> str:
    """url_for writes absolute addresses; compare their paths (and query)."""
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def hrefs(elements) -> list[str]:
    return [path(a["href"]) for a in elements]


def issue_ids(soup: BeautifulSoup) -> list[int]:
    results = soup.select_one("#results")
    assert results is not None, "no #results section"
    return [int(a["href"].rstrip("/").rsplit("/", 1)[1]) for a in results.select("a.row-link")]


@pytest.fixture
def db(demo_engine):
    with Session(demo_engine) as session:
        yield session


def community(db: Session, slug: str) -> Area:
    return db.exec(select(Area).where(Area.slug == slug)).one()


def issues_of(db: Session, slug: str) -> list[Issue]:
    return list(db.exec(select(Issue).where(Issue.community_id == community(db, slug).id)))


# ---------------------------------------------------------------- every page answers


PAGES = ["/", "/c/{C1}", "/c/{C2}", "/c/{C1}/issues", "/c/{C1}/issues/new", "/c/{C1}/series", "/c/{C1}/committees",
         "/issues/{issue}", "/series/{series}", "/meetings/{meeting}", "/committees/{committee}",
         "/organisations/{organisation}", "/login"]


@pytest.fixture
def ids(db):
    return {
        "C1": C1, "C2": C2,
        "issue": db.exec(select(Issue.id)).first(),
        "series": db.exec(select(Series.id)).first(),
        "meeting": db.exec(select(Meeting.id)).first(),
        "committee": db.exec(select(Committee.id)).first(),
        "organisation": db.exec(select(Organisation.id)).first(),
    }


@pytest.mark.parametrize("pattern", PAGES)
@pytest.mark.parametrize("who", ["anonymous", "facilitator", "admin"])
def test_every_page_answers(pattern, who, ids, request):
    client = request.getfixturevalue("client" if who == "anonymous" else who)
    response = client.get(pattern.format(**ids))
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    soup = html(response)
    assert soup.html["lang"] == "zh-Hans"
    assert soup.select_one("main#main") is not None
    assert soup.title and soup.title.get_text(strip=True)


# ---------------------------------------------------------------- index and community home


def test_index_lists_every_community_with_open_counts(client, db):
    soup = html(client.get("/"))
    tiles = {path(a["href"]): a for a in soup.select("a.tile")}
    for slug in (C1, C2):
        area = community(db, slug)
        tile = tiles[f"/c/{slug}"]
        assert area.name in tile.get_text()
        open_count = sum(1 for i in issues_of(db, slug) if i.status in lifecycle.OPEN)
        assert re.search(rf"\b{open_count}\b", tile.select_one(".tile-meta").get_text())
    street = db.exec(select(Area).where(Area.kind == AreaKind.street)).first()
    assert street.name in soup.get_text()


def test_index_on_an_empty_database(engine):
    from starlette.testclient import TestClient

    from forum.app import create_app
    from forum.settings import Settings

    app = create_app(Settings(database_url="sqlite://", secret_key="x", language="zh-Hans"), engine=engine)
    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert html(response).select_one("p.empty") is not None


def test_community_home(client, db):
    area = community(db, C1)
    soup = html(client.get(f"/c/{C1}"))
    assert soup.h1.get_text(strip=True) == area.name

    # next meetings: the ones not ended and ahead, soonest first
    ahead = db.exec(select(Meeting).where(Meeting.community_id == area.id, Meeting.status != MeetingStatus.ended,
                                          Meeting.starts_at >= now()).order_by(Meeting.starts_at)).all()
    assert ahead, "the demo should have a coming meeting"
    links = hrefs(soup.select("#h-next ~ ul a.row-link"))
    assert links == [f"/meetings/{m.id}" for m in ahead][:5]

    # open issues by status: a count for every open status, matching the database
    issues = issues_of(db, C1)
    counts = {}
    for a in soup.select("#h-status ~ ul.counts a"):
        status = re.search(r"status=(\w+)", a["href"]).group(1)
        counts[status] = int(a.select_one(".count").get_text())
    assert counts == {s.value: sum(1 for i in issues if i.status == s) for s in lifecycle.Status
                      if s in lifecycle.OPEN}
    assert sum(counts.values()) > 0

    # open issues by category
    by_category = {}
    for a in soup.select("#h-category ~ ul.counts a"):
        by_category[re.search(r"category=(\w+)", a["href"]).group(1)] = int(a.select_one(".count").get_text())
    expected = {}
    for i in issues:
        if i.status in lifecycle.OPEN:
            expected[i.category] = expected.get(i.category, 0) + 1
    assert by_category == expected

    # recent decisions: each decision text shown, linking its issue and meeting
    decided = db.exec(select(AgendaEntry, Meeting).join(Meeting, col(Meeting.id) == AgendaEntry.meeting_id)
                      .where(Meeting.community_id == area.id, col(AgendaEntry.decision).is_not(None),
                             AgendaEntry.decision != "")
                      .order_by(col(Meeting.starts_at).desc())).all()
    shown = soup.select("li.decision")
    assert 0 < len(shown) <= 6
    latest_entry, latest_meeting = decided[0]
    assert latest_entry.decision in shown[0].get_text()
    assert shown[0].select_one(f'a[href$="/issues/{latest_entry.issue_id}"]') is not None
    assert shown[0].select_one(f'a[href$="/meetings/{latest_meeting.id}"]') is not None


def test_community_home_shows_only_its_own_issues(client, db):
    c2_titles = {i.title for i in issues_of(db, C2)}
    soup = html(client.get(f"/c/{C1}"))
    text = soup.get_text()
    assert not any(title in text for title in c2_titles)


# ---------------------------------------------------------------- issue list and its filters


def test_issue_list_shows_the_community_issues(client, db):
    soup = html(client.get(f"/c/{C1}/issues"))
    expected = {i.id for i in issues_of(db, C1)}
    assert set(issue_ids(soup)) == expected
    assert path(soup.select_one('form[role="search"]')["hx-get"]) == f"/c/{C1}/issues"


def _filter_cases() -> list[tuple[dict, str]]:
    cases = [({"status": s.value}, f"status={s.value}") for s in lifecycle.Status]
    cases.append(({"status": "open"}, "status=open"))
    cases += [({"category": c}, f"category={c}") for c in ("fumes", "safety", "noise", "lift", "parking")]
    cases += [({"q": q}, f"q={q}") for q in ("电梯", "5栋", "油烟", "nothing-like-this")]
    cases.append(({"status": "open", "category": "safety"}, "open+safety"))
    return cases


FILTERS = _filter_cases()


def _matches(issue: Issue, params: dict, committee_id: int | None = None) -> bool:
    status = params.get("status")
    if status == "open" and issue.status not in lifecycle.OPEN:
        return False
    if status and status != "open" and issue.status != status:
        return False
    if params.get("category") and issue.category != params["category"]:
        return False
    if committee_id is not None and issue.committee_id != committee_id:
        return False
    q = params.get("q")
    return not q or any(q in (text or "") for text in (issue.title, issue.description, issue.place))


@pytest.mark.parametrize("params", [p for p, _ in FILTERS], ids=[i for _, i in FILTERS])
def test_issue_list_filters_narrow(client, db, params):
    everything = issues_of(db, C1)
    expected = {i.id for i in everything if _matches(i, params)}
    soup = html(client.get(f"/c/{C1}/issues", params=params))
    assert set(issue_ids(soup)) == expected
    # The form shows the filters it applied.
    for key, value in params.items():
        field = soup.select_one(f'form[role="search"] [name="{key}"]')
        if field.name == "select":
            assert field.select_one("option[selected]")["value"] == value
        else:
            assert field["value"] == value


def test_filters_narrow_something(client, db):
    # Guard against a demo where every filter matches everything (the test above would be empty).
    total = len(issues_of(db, C1))
    narrowed = [len({i.id for i in issues_of(db, C1) if _matches(i, p)}) for p, _ in FILTERS]
    assert any(0 < n < total for n in narrowed)
    assert 0 in narrowed


def test_issue_list_filters_by_committee(client, db):
    area = community(db, C1)
    committees = db.exec(select(Committee).where(Committee.community_id == area.id)).all()
    seen_some = False
    for committee in committees:
        expected = {i.id for i in issues_of(db, C1) if i.committee_id == committee.id}
        seen_some |= bool(expected)
        soup = html(client.get(f"/c/{C1}/issues", params={"committee": committee.id}))
        assert set(issue_ids(soup)) == expected, committee.kind
    assert seen_some


@pytest.mark.parametrize("params", [{"status": "nonsense"}, {"category": "nonsense"}, {"committee": "abc"}])
def test_issue_list_ignores_unknown_filter_values(client, db, params):
    soup = html(client.get(f"/c/{C1}/issues", params=params))
    assert set(issue_ids(soup)) == {i.id for i in issues_of(db, C1)}


def test_issue_list_htmx_returns_only_the_results(client, db):
    response = client.get(f"/c/{C1}/issues", params={"status": "raised"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "hx-request" in {v.strip().lower() for v in response.headers.get("vary", "").split(",")}
    soup = html(response)
    assert soup.find("html") is None and soup.find("body") is None and soup.find("form") is None
    top = [el for el in soup.contents if getattr(el, "name", None)]
    assert len(top) == 1 and top[0].name == "section" and top[0]["id"] == "results"
    assert set(issue_ids(soup)) == {i.id for i in issues_of(db, C1) if i.status == "raised"}


def test_issue_list_full_page_also_varies(client):
    response = client.get(f"/c/{C1}/issues")
    assert "hx-request" in response.headers.get("vary", "").lower()
    assert html(response).find("html") is not None


def test_history_restore_gets_the_whole_page(client):
    response = client.get(f"/c/{C1}/issues", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert html(response).find("html") is not None


# ---------------------------------------------------------------- issue detail


def test_issue_detail_with_timeline(client, db):
    # The issue with the longest history: it shows every step and every meeting that took it up.
    issue = max(db.exec(select(Issue)).all(),
                key=lambda i: len(db.exec(select(IssueEvent).where(IssueEvent.issue_id == i.id)).all()))
    events = db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id)
                     .order_by(IssueEvent.at, IssueEvent.id)).all()
    soup = html(client.get(f"/issues/{issue.id}"))
    assert soup.h1.get_text(strip=True) == issue.title
    items = soup.select("#timeline > li")
    assert len(items) == len(events) >= 3
    times = [li.time["datetime"] for li in items]
    assert times == sorted(times)
    for li, event in zip(items, events, strict=True):
        assert event.actor in li.get_text()
        if event.note:
            assert event.note in li.get_text()
    entries = db.exec(select(AgendaEntry).where(AgendaEntry.issue_id == issue.id)).all()
    meeting_links = set(hrefs(soup.select("ol.timeline.meetings a")))
    assert meeting_links == {f"/meetings/{e.meeting_id}" for e in entries}
    for entry in entries:
        if entry.decision:
            assert entry.decision in soup.get_text()


def test_issue_detail_shows_steps_only_to_staff(client, facilitator, db):
    raised = db.exec(select(Issue).where(Issue.status == "raised")).first()
    assert html(client.get(f"/issues/{raised.id}")).select_one("#h-triage") is None
    soup = html(facilitator.get(f"/issues/{raised.id}"))
    assert soup.select_one("#h-triage") is not None
    actions = {i["value"] for i in soup.select('form input[name="action"]')}
    assert {"accept", "decline"} <= actions
    assert "review" not in actions


def test_merged_issue_links_to_its_target(client, db):
    merged = db.exec(select(Issue).where(Issue.status == "merged")).first()
    soup = html(client.get(f"/issues/{merged.id}"))
    assert soup.select_one(f'a[href$="/issues/{merged.merged_into_id}"]') is not None


# ---------------------------------------------------------------- series and meetings


def test_series_list(client, db):
    area = community(db, C1)
    series = db.exec(select(Series).where(Series.community_id == area.id)).all()
    soup = html(client.get(f"/c/{C1}/series"))
    assert set(hrefs(soup.select("a.tile"))) == {f"/series/{s.id}" for s in series}


def test_series_detail_upcoming_occurrences(client, db):
    series = db.exec(select(Series).where(Series.cadence == "weekly")).first()
    soup = html(client.get(f"/series/{series.id}"))
    expected = recurrence.occurrences(series.rrule, series.dtstart, now(), 8)
    token = i18n.set_language("zh-Hans")
    try:
        labels = [f"{format_when(w, 'date')} {format_when(w, 'time')}" for w in expected]
    finally:
        i18n.reset_language(token)
    shown = [li.select_one(".row-title").get_text(strip=True) for li in soup.select("li.occurrence")]
    assert shown == labels
    assert series.rrule in soup.select_one("code").get_text()


def test_series_detail_links_the_meetings_already_made(facilitator, db):
    meeting = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned,
                                            col(Meeting.series_id).is_not(None))).first()
    soup = html(facilitator.get(f"/series/{meeting.series_id}"))
    occurrences = soup.select("li.occurrence")
    opened = [li for li in occurrences if li.select_one(f'a[href$="/meetings/{meeting.id}"]')]
    assert len(opened) == 1
    others = [li for li in occurrences if li not in opened]
    # every other coming date offers to create its meeting, with its own date in the form
    assert others and all(li.select_one('form input[name="starts_at"]') for li in others)
    dates = [li.select_one('input[name="starts_at"]')["value"] for li in others]
    assert all(recurrence.is_occurrence(db.get(Series, meeting.series_id).rrule,
                                        db.get(Series, meeting.series_id).dtstart, datetime.fromisoformat(d))
               for d in dates)


def test_series_detail_hides_create_from_anonymous(client, db):
    series = db.exec(select(Series)).first()
    assert html(client.get(f"/series/{series.id}")).select_one('input[name="starts_at"]') is None


def test_meeting_detail_with_agenda(client, db):
    meeting = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned)).first()
    entries = db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)
                      .order_by(AgendaEntry.position)).all()
    assert entries
    soup = html(client.get(f"/meetings/{meeting.id}"))
    assert soup.h1.get_text(strip=True) == meeting.title
    assert meeting.place in soup.get_text()
    shown = [path(li.select_one("a.row-title")["href"]) for li in soup.select("#agenda li.agenda-entry")]
    assert shown == [f"/issues/{e.issue_id}" for e in entries]
    total = sum(e.planned_minutes for e in entries)
    assert str(total) in soup.select_one("#h-agenda").get_text()
    # nobody signed in: no editing tools
    assert soup.select_one("#agenda form") is None


def test_meeting_detail_editing_tools_for_the_facilitator(facilitator, db):
    meeting = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned)).first()
    soup = html(facilitator.get(f"/meetings/{meeting.id}"))
    assert soup.select_one("#agenda form.add-entry") is not None
    for form in soup.select("#agenda form[hx-post]"):
        assert form["action"] == form["hx-post"]  # works without JavaScript too


def test_ended_meeting_cannot_be_edited(facilitator, db):
    meeting = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.ended)).first()
    soup = html(facilitator.get(f"/meetings/{meeting.id}"))
    assert soup.select_one("#agenda form") is None


# ---------------------------------------------------------------- committees and organisations


def test_committee_list(client, db):
    area = community(db, C1)
    committees = db.exec(select(Committee).where(Committee.community_id == area.id)).all()
    soup = html(client.get(f"/c/{C1}/committees"))
    links = {h for h in hrefs(soup.select("a[href]")) if h.startswith("/committees/")}
    assert links == {f"/committees/{c.id}" for c in committees}


def test_committee_page(client, db):
    member = db.exec(select(User).where(col(User.committee_id).is_not(None))).first()
    committee = db.get(Committee, member.committee_id)
    issues = db.exec(select(Issue).where(Issue.committee_id == committee.id)).all()
    soup = html(client.get(f"/committees/{committee.id}"))
    assert member.display_name in soup.select_one("p.lead").get_text()
    open_section = soup.select_one("#h-open").parent
    closed_section = soup.select_one("#h-closed").parent
    open_links = {h for h in hrefs(open_section.select("a[href]")) if h.startswith("/issues/")}
    closed_links = {h for h in hrefs(closed_section.select("a[href]")) if h.startswith("/issues/")}
    assert open_links == {f"/issues/{i.id}" for i in issues if i.status in lifecycle.OPEN}
    assert closed_links == {f"/issues/{i.id}" for i in issues if i.status not in lifecycle.OPEN}
    assert open_links


def test_organisation_page(client, db):
    liaison = db.exec(select(User).where(col(User.organisation_id).is_not(None))).first()
    organisation = db.get(Organisation, liaison.organisation_id)
    soup = html(client.get(f"/organisations/{organisation.id}"))
    assert soup.h1.get_text(strip=True) == organisation.name
    assert liaison.display_name in soup.get_text()


# ---------------------------------------------------------------- sign-in and admin


def test_login_page(client):
    soup = html(client.get("/login", params={"next": "/c/jiaochangkou"}))
    form = soup.select_one("form[method=post]")
    assert form.select_one('input[name="username"]') is not None
    assert form.select_one('input[name="password"][type="password"]') is not None
    assert form.select_one('input[name="next"]')["value"] == "/c/jiaochangkou"


def test_login_page_drops_a_foreign_next(client):
    soup = html(client.get("/login", params={"next": "http://evil.example/"}))
    assert soup.select_one('input[name="next"]')["value"] == "/"


def test_households_page_for_admin(admin, db):
    soup = html(admin.get("/admin/households"))
    form = soup.select_one('form[enctype="multipart/form-data"]')
    assert form.select_one('input[type="file"][name="file"]') is not None
    options = {o["value"] for o in form.select('select[name="community"] option') if o["value"]}
    assert options == {str(a.id) for a in db.exec(select(Area).where(Area.kind == AreaKind.community))}


def test_admin_sees_the_households_link(admin, facilitator):
    assert html(admin.get("/")).select_one('a[href$="/admin/households"]') is not None
    assert html(facilitator.get("/")).select_one('a[href$="/admin/households"]') is None


# ---------------------------------------------------------------- not found


@pytest.mark.parametrize("url", ["/issues/999999", "/series/999999", "/meetings/999999", "/committees/999999",
                                 "/organisations/999999", "/c/nowhere", "/c/nowhere/issues", "/c/jiefangbei",
                                 "/no/such/page", "/issues/abc"])
def test_not_found_is_a_friendly_chinese_page(client, url):
    response = client.get(url)
    assert response.status_code == 404
    soup = html(response)
    assert soup.html["lang"] == "zh-Hans"
    page = soup.select_one(".error-page")
    assert page is not None and page.select_one('a[href$="/"]') is not None
    assert CJK.search(page.h1.get_text()), page.h1.get_text()
    assert CJK.search(page.p.get_text()), page.p.get_text()
    assert "Traceback" not in response.text


def test_not_found_in_english(client):
    client.cookies.set("forum_lang", "en")
    response = client.get("/issues/999999")
    assert response.status_code == 404
    soup = html(response)
    assert soup.html["lang"] == "en"
    assert not CJK.search(soup.select_one(".error-page").get_text())


# ---------------------------------------------------------------- language switch


def test_default_language_is_chinese(client):
    assert html(client.get("/")).html["lang"] == "zh-Hans"


def test_language_switch(client):
    response = client.get("/lang", params={"to": "en", "next": f"/c/{C1}"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/c/{C1}"
    assert "forum_lang=en" in response.headers["set-cookie"]
    page = client.get(f"/c/{C1}")
    assert html(page).html["lang"] == "en"
    # and back
    client.get("/lang", params={"to": "zh-Hans", "next": "/"})
    assert html(client.get("/")).html["lang"] == "zh-Hans"


def test_language_switch_follows_to_english_page(client):
    response = client.get("/lang", params={"to": "en", "next": "/"})
    assert response.status_code == 200
    assert html(response).html["lang"] == "en"


@pytest.mark.parametrize("next_url", ["http://evil.example/", "//evil.example", ""])
def test_language_switch_stays_on_site(client, next_url):
    response = client.get("/lang", params={"to": "en", "next": next_url}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_language_switch_links_keep_the_page(client):
    soup = html(client.get(f"/c/{C1}/issues", params={"status": "raised"}))
    link = soup.select_one('.lang a[lang="en"]')
    assert "to=en" in link["href"]
    assert "status%3Draised" in link["href"] or "status=raised" in link["href"]


# ---------------------------------------------------------------- permissions


def test_anonymous_triage_goes_to_sign_in(client, db):
    issue = db.exec(select(Issue).where(Issue.status == "raised")).first()
    response = client.post(f"/issues/{issue.id}/move", data={"action": "decline", "reason": "x"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("http://testserver/login?next=") or \
        response.headers["location"].startswith("/login?next=")
    db.refresh(issue)
    assert issue.status == "raised"


def test_anonymous_htmx_post_gets_hx_redirect(client, db):
    issue = db.exec(select(Issue).where(Issue.status == "raised")).first()
    response = client.post(f"/issues/{issue.id}/move", data={"action": "decline", "reason": "x"},
                           headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 204
    assert "/login" in response.headers["hx-redirect"]


def test_committee_member_cannot_create_a_meeting(committee_member, db):
    series = db.exec(select(Series)).first()
    when = recurrence.occurrences(series.rrule, series.dtstart, now(), 3)[-1]
    before = len(db.exec(select(Meeting)).all())
    response = committee_member.post(f"/series/{series.id}/meetings", data={"starts_at": when.isoformat()},
                                     follow_redirects=False)
    assert response.status_code == 403
    assert html(response).select_one(".error-page") is not None
    assert len(db.exec(select(Meeting)).all()) == before


def test_committee_member_cannot_edit_an_agenda(committee_member, db):
    meeting = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned)).first()
    issue = db.exec(select(Issue).where(Issue.status == "accepted",
                                        Issue.community_id == meeting.community_id)).first()
    before = [(e.id, e.issue_id, e.position) for e in db.exec(select(AgendaEntry)
                                                               .where(AgendaEntry.meeting_id == meeting.id))]
    response = committee_member.post(f"/meetings/{meeting.id}/agenda", data={"issue": issue.id,
                                                                            "planned_minutes": "10"})
    assert response.status_code == 403
    db.expire_all()
    after = [(e.id, e.issue_id, e.position) for e in db.exec(select(AgendaEntry)
                                                              .where(AgendaEntry.meeting_id == meeting.id))]
    assert after == before  # nothing put on the agenda
    assert db.get(Issue, issue.id).status == "accepted"  # nor the issue moved on


def test_households_page_refuses_facilitator(facilitator, db):
    assert facilitator.get("/admin/households").status_code == 403
    own = community(db, C1)
    count = select(func.count()).select_from(Household)
    before = db.exec(count).one()
    register = "楼栋,单元,房号,面积,业主,电话\n9,1,101,88.50,张三,13800000001\n".encode()
    refused = facilitator.post("/admin/households", data={"community": str(own.id)},
                               files={"file": ("register.csv", register, "text/csv")})
    assert refused.status_code == 403
    assert html(refused).select_one(".error-page") is not None and "张三" not in refused.text
    assert db.exec(count).one() == before  # a valid register, and still nothing imported
    assert db.exec(select(Person).where(Person.name == "张三", Person.phone == "13800000001")).first() is None


def test_households_page_sends_anonymous_to_sign_in(client):
    response = client.get("/admin/households", follow_redirects=False)
    assert response.status_code == 303
    assert "/login?next=%2Fadmin%2Fhouseholds" in response.headers["location"]


def test_sign_out(facilitator):
    assert html(facilitator.get("/")).select_one(".who") is not None
    response = facilitator.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    assert html(facilitator.get("/")).select_one(".who") is None


def test_method_not_allowed_is_a_page(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert html(response).select_one(".error-page") is not None


def test_signing_in_after_a_refused_post_returns_to_a_page(client, db):
    """A facilitator whose session ran out clicks "accept": after signing in they should land on a
    page (the issue), not on the POST-only address of the form, which answers 405 to a GET."""
    issue = db.exec(select(Issue).where(Issue.status == "raised")).first()
    refused = client.post(f"/issues/{issue.id}/move", data={"action": "accept"},
                          headers={"Referer": f"http://testserver/issues/{issue.id}"}, follow_redirects=False)
    db.refresh(issue)
    assert issue.status == "raised"  # refused: not accepted
    login_page = html(client.get(refused.headers["location"]))
    next_url = login_page.select_one('input[name="next"]')["value"]
    signed_in = client.post("/login", data={"username": "facilitator", "password": "demo1234", "next": next_url})
    assert signed_in.status_code == 200, f"after sign-in: {signed_in.status_code} at {next_url}"
    assert signed_in.url.path == f"/issues/{issue.id}"  # the page that held the form
    # Signing in did not replay the refused post: the issue waits for the facilitator to accept it.
    db.refresh(issue)
    assert issue.status == "raised"
    assert not db.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id,
                                                IssueEvent.to_status == "accepted")).all()


def test_raise_form_asks_staff_for_the_source_only(client, facilitator):
    assert html(client.get(f"/c/{C1}/issues/new")).select_one('select[name="source"]') is None
    options = {o["value"] for o in html(facilitator.get(f"/c/{C1}/issues/new")).select('select[name="source"] option')}
    assert options == {"meeting", "visit", "hotline", "online"}


def test_language_cookie_attributes(client):
    response = client.get("/lang", params={"to": "en", "next": "/"}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie


# ---------------------------------------------------------------- staff act within their own community


def test_facilitator_cannot_edit_another_communitys_agenda(facilitator, db):
    # The demo facilitator belongs to jiaochangkou; baixiangjie's meetings are not theirs to run.
    other = community(db, C2)
    meeting = db.exec(select(Meeting).where(Meeting.community_id == other.id,
                                            Meeting.status == MeetingStatus.planned)).first()
    issue = db.exec(select(Issue).where(Issue.community_id == other.id, Issue.status == "accepted")).first()
    before = len(db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)).all())
    response = facilitator.post(f"/meetings/{meeting.id}/agenda", data={"issue": issue.id, "planned_minutes": "10"},
                                follow_redirects=False)
    assert response.status_code == 403
    db.expire_all()
    assert len(db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)).all()) == before


def test_committee_member_cannot_triage_another_communitys_issue(committee_member, db):
    other = community(db, C2)
    issue = db.exec(select(Issue).where(Issue.community_id == other.id, Issue.status == "raised")).first()
    response = committee_member.post(f"/issues/{issue.id}/move", data={"action": "decline", "reason": "不归我们管"},
                                     follow_redirects=False)
    assert response.status_code == 403
    db.refresh(issue)
    assert issue.status == "raised"


@pytest.mark.parametrize("q", ["%", "_"])
def test_search_wildcards_are_literal(client, db, q):
    # "%" and "_" are LIKE wildcards; typed into the search box they must mean themselves.
    expected = {i.id for i in issues_of(db, C1) if any(q in (t or "") for t in (i.title, i.description, i.place))}
    assert set(issue_ids(html(client.get(f"/c/{C1}/issues", params={"q": q})))) == expected

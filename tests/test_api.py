"""The read-only JSON API: every answer valid against the OpenAPI document's schemas, every
endpoint documented, bad parameters refused with a 400 naming them (a problem body, in Chinese or
in English as asked), and nothing personal in any answer (a phone, a room, a resident's name and
the names of persons owning actions are planted and looked for in every response)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import text
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import openapi
from forum.app import create_app, routes
from forum.models import Area, Attendance, Household, Issue, Meeting, Person, Vote
from tests import app_world, followup_rows
from tests.conftest import _settings

PHONE = "13987654321"
ROOM = "9-3-1704"
RESIDENT = "秘密居民甲"


def _plant(engine) -> None:
    """Personal data in every place forum keeps it, and votes of both kinds, closed and open."""
    with Session(engine) as db:
        community = db.exec(select(Area).where(Area.kind == "community").order_by(Area.id)).first()
        household = db.exec(select(Household).where(Household.community_id == community.id)).first()
        household.room = ROOM
        person = Person(name=RESIDENT, phone=PHONE, household_id=household.id)
        db.add(person)
        issue = db.exec(select(Issue).where(Issue.community_id == community.id).order_by(Issue.id)).first()
        issue.raised_by = f"{RESIDENT} {PHONE} {ROOM}"
        meeting = db.exec(select(Meeting).where(Meeting.community_id == community.id,
                                                Meeting.status == "ended")).first()
        db.add(Attendance(meeting_id=meeting.id, name=RESIDENT, building="9", unit="3", room=ROOM, is_guest=False))
        result = {"kind": "for_against", "verdict": "passed",
                  "totals": [{"key": "for", "heads": 7}, {"key": "against", "heads": 2}]}
        common = dict(community_id=community.id, meeting_id=meeting.id, kind="for_against", scope="attendance",
                      counting_unit="person", weighting="head", rule="simple", created_by="王主任")
        db.add(Vote(question="同意安装吗？", secret=True, status="closed", result=json.dumps(result), **common))
        db.add(Vote(question="同意改造吗？", status="open", **common))
        db.add(Vote(question="草稿", status="draft", **common))
        db.commit()


DEMO_LANDLORD = "陈国富"  # the demo's landlord owns an action: named in its notes, never in the API


@pytest.fixture
def api(demo_engine):
    _plant(demo_engine)
    followup_rows.build(demo_engine)
    with TestClient(create_app(_settings(), engine=demo_engine)) as client:
        yield client


DOCUMENT = openapi.document()


def _schema_of(path: str, status: str) -> dict:
    content = DOCUMENT["paths"][path]["get"]["responses"][status]["content"]
    ref = content["application/json" if status == "200" else "application/problem+json"]["schema"]
    return {"$ref": ref["$ref"], "components": DOCUMENT["components"]}


def _check(client: TestClient, url: str, template: str, status: int = 200, seen: list | None = None,
           method: str = "GET", **kwargs) -> dict:
    response = client.request(method, url, **kwargs)
    assert response.status_code == status, (url, response.text[:300])
    assert response.headers["content-type"].startswith("application/json" if status == 200 else
                                                       "application/problem+json")
    body = response.json()
    errors = sorted(Draft202012Validator(_schema_of(template, str(status))).iter_errors(body), key=str)
    assert not errors, (url, [e.message for e in errors[:5]])
    if seen is not None:
        seen.append(response.text)
    return body


def test_the_document_is_openapi_31_with_valid_schemas():
    assert DOCUMENT["openapi"] == "3.1.0"
    for name, schema in DOCUMENT["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    for path, item in DOCUMENT["paths"].items():
        responses = item["get"]["responses"]
        assert {"200", "400"} <= set(responses), path


def test_every_api_route_is_documented_and_every_documented_path_served():
    served = {e.path.replace("{id:int}", "{id}") for e in app_world.walk(routes)
              if e.path.startswith("/api/v1/") and e.name not in ("api_openapi", "api_docs")}
    assert served == set(DOCUMENT["paths"])


def test_every_answer_is_valid_and_nothing_personal_leaks(api):
    seen: list[str] = []
    document = api.get("/api/v1/openapi.json").json()
    assert document == json.loads(json.dumps(DOCUMENT))
    _check(api, "/api/v1/areas", "/api/v1/areas", seen=seen)
    issues = _check(api, "/api/v1/issues?per_page=7", "/api/v1/issues", seen=seen)
    assert issues["total"] > 7 and len(issues["items"]) == 7 and issues["pages"] == -(-issues["total"] // 7)
    ids = []
    for page in range(1, issues["pages"] + 1):
        ids += [i["id"] for i in _check(api, f"/api/v1/issues?per_page=7&page={page}", "/api/v1/issues",
                                        seen=seen)["items"]]
    assert len(ids) == len(set(ids)) == issues["total"]
    for issue_id in ids:
        detail = _check(api, f"/api/v1/issues/{issue_id}", "/api/v1/issues/{id}", seen=seen)
        assert detail["timeline"] and detail["timeline"][0]["action"] == "raise"
    meetings = _check(api, "/api/v1/meetings?per_page=200", "/api/v1/meetings", seen=seen)
    assert sum(m["attendance"] for m in meetings["items"]) > 0
    for m in meetings["items"]:
        _check(api, f"/api/v1/meetings/{m['id']}", "/api/v1/meetings/{id}", seen=seen)
    votes = _check(api, "/api/v1/votes", "/api/v1/votes", seen=seen)
    assert [v["status"] for v in votes["items"]] == ["closed", "open"]  # drafts are not the record
    secret = _check(api, f"/api/v1/votes/{votes['items'][0]['id']}", "/api/v1/votes/{id}", seen=seen)
    assert secret["secret"] and secret["result"]["totals"][0]["heads"] == 7
    assert _check(api, f"/api/v1/votes/{votes['items'][1]['id']}", "/api/v1/votes/{id}", seen=seen)["result"] is None
    _check(api, f"/api/v1/votes/{votes['items'][1]['id'] + 1}", "/api/v1/votes/{id}", 404)  # the draft
    actions = _check(api, "/api/v1/actions?per_page=200", "/api/v1/actions", seen=seen)
    assert actions["total"] >= 12 and {a["owner"]["kind"] for a in actions["items"]} == {
        "committee", "organisation", "person"}
    assert all(a["owner"]["name"] is None and a["owner"]["id"] is None
               for a in actions["items"] if a["owner"]["kind"] == "person")
    for issue_id in {a["issue_id"] for a in actions["items"]}:
        detail = _check(api, f"/api/v1/issues/{issue_id}", "/api/v1/issues/{id}", seen=seen)
        assert [a["id"] for a in detail["actions"]] == [
            a["id"] for a in sorted((a for a in actions["items"] if a["issue_id"] == issue_id),
                                    key=lambda a: (a["due"], a["id"]))]
    # The demo's landlord owned an action: its line on the issue's timeline says "a person" instead.
    assert any("个人（不具名）" in e["note"] for d in seen if '"timeline"' in d for e in json.loads(d)["timeline"])
    private = (PHONE, ROOM, RESIDENT, DEMO_LANDLORD, followup_rows.LANDLORD, followup_rows.STAFF, followup_rows.PHONE)
    leaks = [(needle, text[:200]) for text in seen for needle in private if needle in text]
    assert not leaks, leaks
    assert len(seen) > 20


def test_filters_narrow_the_lists(api):
    slug = api.get("/api/v1/areas").json()["items"][2]["slug"]
    every = _check(api, f"/api/v1/issues?community={slug}&per_page=200", "/api/v1/issues")
    open_ = _check(api, f"/api/v1/issues?community={slug}&status=open&per_page=200", "/api/v1/issues")
    assert 0 < open_["total"] < every["total"] and all(i["open"] for i in open_["items"])
    fumes = _check(api, f"/api/v1/issues?community={slug}&category=fumes", "/api/v1/issues")
    assert all(i["category"] == "fumes" for i in fumes["items"])
    day = every["items"][0]["raised_at"][:10]
    that_day = _check(api, f"/api/v1/issues?raised_from={day}&raised_to={day}&per_page=200", "/api/v1/issues")
    assert that_day["total"] >= 1 and all(i["raised_at"].startswith(day) for i in that_day["items"])


@pytest.mark.parametrize(("query", "parameter"), [
    ("per_page=0", "per_page"), ("per_page=201", "per_page"), ("page=abc", "page"), ("page=99999999", "page"),
    ("status=lost", "status"), ("category=%3Dcmd", "category"), ("community=nowhere", "community"),
    ("raised_from=2026-13-01", "raised_from"), ("raised_from=2026-05-01&raised_to=2026-04-01", "raised_to"),
    ("committee=-1", "committee"), ("page=１", "page"),
])
def test_bad_parameters_are_refused_naming_them(api, query, parameter):
    body = _check(api, f"/api/v1/issues?{query}", "/api/v1/issues", 400)
    assert body["parameter"] == parameter and body["error"]


def test_meeting_and_vote_filters_are_checked_too(api):
    assert _check(api, "/api/v1/meetings?from=2026-02-30", "/api/v1/meetings", 400)["parameter"] == "from"
    assert _check(api, "/api/v1/votes?meeting=x", "/api/v1/votes", 400)["parameter"] == "meeting"
    _check(api, "/api/v1/meetings/999999999", "/api/v1/meetings/{id}", 404)


def test_the_docs_page_lists_every_endpoint_with_its_parameters(api):
    from bs4 import BeautifulSoup

    page = BeautifulSoup(api.get("/api/v1/docs").text, "html.parser")
    headings = {h.get_text(" ", strip=True) for h in page.select("h2 code")}
    assert headings == {f"GET {path}" for path in DOCUMENT["paths"]}
    names = {c.get_text() for c in page.select("table code")}
    assert {"page", "per_page", "community", "status", "raised_from", "id"} <= names
    assert not page.select("script:not([src])") and all(
        s["src"].startswith("http://testserver/static/") for s in page.select("script[src]"))


def test_actions_filter_by_community_status_and_overdue(api):
    slug = followup_rows.build.__defaults__[0]  # the hand-counted community
    every = _check(api, f"/api/v1/actions?community={slug}", "/api/v1/actions")
    assert every["total"] == 8
    overdue = _check(api, f"/api/v1/actions?community={slug}&overdue=true", "/api/v1/actions")
    assert overdue["total"] == 5 and all(a["overdue"] for a in overdue["items"])
    on_time = _check(api, f"/api/v1/actions?community={slug}&overdue=false", "/api/v1/actions")
    assert on_time["total"] == 3 and not any(a["overdue"] for a in on_time["items"])
    unfinished = _check(api, f"/api/v1/actions?community={slug}&status=unfinished", "/api/v1/actions")
    assert unfinished["total"] == 7 and all(a["status"] != "done" for a in unfinished["items"])
    blocked = _check(api, f"/api/v1/actions?community={slug}&status=blocked", "/api/v1/actions")
    assert [a["status"] for a in blocked["items"]] == ["blocked"]
    paged = [_check(api, f"/api/v1/actions?community={slug}&per_page=3&page={n}", "/api/v1/actions")
             for n in (1, 2, 3)]
    assert [len(p["items"]) for p in paged] == [3, 3, 2] and paged[0]["pages"] == 3
    assert len({a["id"] for p in paged for a in p["items"]}) == 8
    for query, parameter in (("overdue=yes", "overdue"), ("status=lost", "status"), ("issue=x", "issue"),
                             ("community=nowhere", "community"), ("per_page=500", "per_page")):
        assert _check(api, f"/api/v1/actions?{query}", "/api/v1/actions", 400)["parameter"] == parameter


def test_the_apis_messages_are_chinese_by_default_and_english_when_asked(api):
    zh = _check(api, "/api/v1/issues?per_page=0", "/api/v1/issues", 400)
    assert zh["detail"] == "“per_page” 应为 1 到 200 之间的整数。" and zh["title"] == "无法使用的参数"
    assert zh["status"] == 400 and zh["error"] == zh["detail"]
    en = _check(api, "/api/v1/issues?per_page=0&lang=en", "/api/v1/issues", 400)
    assert en["detail"] == "“per_page” is a whole number from 1 to 200."
    assert en["title"] == "A parameter forum cannot use"
    by_header = api.get("/api/v1/issues?per_page=0", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert by_header.json()["detail"] == en["detail"] and by_header.headers["content-language"] == "en"
    # The parameter beats the header; a language forum does not speak falls back to Chinese.
    assert api.get("/api/v1/issues?per_page=0&lang=zh-CN", headers={"Accept-Language": "en"}).json() == zh
    assert api.get("/api/v1/issues?per_page=0", headers={"Accept-Language": "fr"}).json() == zh
    missing = _check(api, "/api/v1/issues/999999999?lang=en", "/api/v1/issues/{id}", 404)
    assert missing["title"] == "Not found" and missing["parameter"] is None
    assert _check(api, "/api/v1/issues/999999999", "/api/v1/issues/{id}", 404)["title"] == "未找到"


@pytest.mark.parametrize(("url", "method", "status", "title"), [
    ("/api/v1/nowhere", "GET", 404, "未找到"),
    ("/api/v1/issues/abc", "GET", 404, "未找到"),
    ("/api/v1/issues", "POST", 405, "不接受此请求方法"),
    ("/api/v1/actions", "DELETE", 405, "不接受此请求方法"),
    ("/api/v1/issues?q=%00", "GET", 400, "无法使用的参数"),
])
def test_the_apis_own_errors_are_problem_bodies(api, url, method, status, title):
    response = api.request(method, url)
    assert response.status_code == status and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    errors = list(Draft202012Validator({"$ref": "#/components/schemas/Problem",
                                        "components": DOCUMENT["components"]}).iter_errors(body))
    assert not errors and body["title"] == title and body["status"] == status
    if status == 405:
        assert "GET" in response.headers["allow"]
    english = api.request(method, url, headers={"Accept-Language": "en"}).json()
    assert english["title"] in ("Not found", "Method not allowed", "A parameter forum cannot use")


def test_a_fault_of_forums_is_a_problem_body_too(demo_engine, monkeypatch):
    from forum import api as api_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("a fault planted by the test")

    monkeypatch.setattr(api_module, "areas", broken)
    with TestClient(create_app(_settings(), engine=demo_engine), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/areas", headers={"Accept-Language": "en"})
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Server error" and "a fault planted" not in response.text  # no trace to the reader
    assert not list(Draft202012Validator({"$ref": "#/components/schemas/Problem",
                                          "components": DOCUMENT["components"]}).iter_errors(body))


def test_a_votes_counted_result_is_labelled_in_the_readers_language(api, demo_engine):
    """The result is kept with the labels of its count as forum writes them; the API says them in
    the reader's language, and leaves a choice the facilitator typed as typed."""
    closed = next(v for v in api.get("/api/v1/votes").json()["items"] if v["status"] == "closed")
    kept = {"kind": "for_against", "rule": "simple", "rule_label": "Simple majority", "verdict": "passed",
            "totals": [{"key": "for", "label": "For", "heads": 7}, {"key": "x", "label": "加装电梯方案甲", "heads": 2}]}
    with demo_engine.begin() as connection:
        connection.execute(text("UPDATE vote SET result = :r WHERE id = :id"),
                           {"r": json.dumps(kept), "id": closed["id"]})
    english = _check(api, f"/api/v1/votes/{closed['id']}?lang=en", "/api/v1/votes/{id}")["result"]
    chinese = _check(api, f"/api/v1/votes/{closed['id']}?lang=zh-Hans", "/api/v1/votes/{id}")["result"]
    assert english["rule_label"] == "Simple majority" and chinese["rule_label"] == "简单多数"
    assert [t["label"] for t in english["totals"]] == ["For", "加装电梯方案甲"]
    assert [t["label"] for t in chinese["totals"]] == ["赞成", "加装电梯方案甲"]

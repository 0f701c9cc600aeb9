"""The administration pages over HTTP: each page, each form's bad input (a message by the field, what
was typed kept, nothing stored), the audit trail, and the scopes of street admins (403 elsewhere)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from forum import auth
from forum.models import (
    Area,
    AuditEntry,
    Committee,
    CommitteeMember,
    ForumFormat,
    Meeting,
    MeetingStatus,
    Organisation,
    OrganisationCommunity,
    Person,
    Series,
    SeriesInvitee,
    User,
)
from tests.app_world import fingerprint
from tests.conftest import sign_in


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def field_error(response, name: str, prefix: str = "") -> str:
    """The message shown by the field, which must be marked invalid and keep what was typed."""
    page = html(response)
    control = page.select_one(f"#f-{prefix}{name}")
    assert control is not None and control.get("aria-invalid") == "true", f"{name} is not marked"
    message = page.select_one(f"#{prefix}{name}-error")
    assert message is not None, f"no message by {name}"
    return message.get_text(strip=True)


def one(engine, model, *where):
    with Session(engine, expire_on_commit=False) as db:
        return db.exec(select(model).where(*where)).first()


def count(engine, model, *where) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(model).where(*where)).one()


def audited(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as db:
        return list(db.exec(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def world(demo_engine):
    """The demo, with a second street (one community, one series) beside the demo's, a street
    admin of each, and a facilitator of the demo's whole street."""
    with Session(demo_engine, expire_on_commit=False) as db:
        district = db.exec(select(Area).where(Area.kind == "district")).one()
        street = db.exec(select(Area).where(Area.kind == "street")).one()
        first, second = db.exec(select(Area).where(Area.parent_id == street.id).order_by(Area.id)).all()
        other_street = Area(name="朝天门街道", kind="street", parent_id=district.id, slug="chaotianmen")
        db.add(other_street)
        db.flush()
        elsewhere = Area(name="朝东路社区", kind="community", parent_id=other_street.id, slug="chaodonglu")
        db.add(elsewhere)
        db.flush()
        for username, role, scope in (("jfb_admin", "admin", street), ("ctm_admin", "admin", other_street),
                                      ("street_facilitator", "facilitator", street)):
            user = auth.create_user(db, username=username, password="demo1234", display_name=username, role=role)
            user.scope_id = scope.id
        db.commit()
        return {"district": district, "street": street, "first": first, "second": second,
                "other_street": other_street, "elsewhere": elsewhere}


@pytest.fixture
def street_admin(app, world):
    with TestClient(app) as client:
        yield sign_in(client, "jfb_admin")


# ---------------------------------------------------------------- pages


def test_pages_answer_admins_and_refuse_others(admin, facilitator, client, world):
    first = world["first"]
    committee = one(facilitator.app.state.engine, Committee, Committee.community_id == first.id)
    organisation = one(facilitator.app.state.engine, Organisation)
    pages = ["/admin", f"/admin/areas/{first.id}", f"/admin/areas/{world['street'].id}",
             f"/admin/committees/{committee.id}", "/admin/organisations", f"/admin/organisations/{organisation.id}",
             "/admin/users", "/admin/users/1"]
    for path in pages:
        r = admin.get(path)
        assert r.status_code == 200, path
        assert html(r).select_one("nav.subnav") is not None
        assert facilitator.get(path).status_code == 403, path
        assert urlsplit(client.get(path, follow_redirects=False).headers["location"]).path == "/login", path


def test_the_overview_shows_the_tree_and_the_steps_to_a_first_meeting(admin, world):
    page = html(admin.get("/admin"))
    tree = [a.select_one(".row-title").get_text() for a in page.select(".tree a")]
    assert tree[:2] == ["渝中区", "朝天门街道"] and "较场口社区" in tree
    steps = page.select(".steps-list li")
    assert len(steps) == 6 and all("done" in li["class"] for li in steps)  # the demo has come all the way


# ---------------------------------------------------------------- areas


def test_create_an_area_and_its_bad_input(admin, demo_engine, world):
    street = world["street"]
    r = admin.post("/admin/areas", data={"name": "新华路社区", "parent": street.id, "slug": "xinhualu"},
                   follow_redirects=False)
    assert r.status_code == 303 and "saved=created" in r.headers["location"]
    created = one(demo_engine, Area, Area.slug == "xinhualu")
    assert (created.kind, created.parent_id) == ("community", street.id)
    assert audited(demo_engine, "area_create")[-1].target_id == created.id
    before = fingerprint(demo_engine)
    for data, name in [({"name": "", "parent": street.id}, "name"),
                       ({"name": "新华路社区", "parent": street.id}, "name"),
                       ({"name": "另一个", "parent": street.id, "slug": "xinhualu"}, "slug"),
                       ({"name": "另一个", "parent": street.id, "slug": "坏 slug"}, "slug"),
                       ({"name": "另一个", "parent": created.id}, "parent"),  # under a community
                       ({"name": "另一个", "parent": "99999"}, "parent")]:
        r = admin.post("/admin/areas", data=data)
        assert r.status_code == 422, data
        assert field_error(r, name, "create-")
        assert html(r).select_one("#f-create-name")["value"] == data["name"]  # what was typed stays
    assert fingerprint(demo_engine) == before


def test_messages_come_in_the_readers_language(admin, world):
    street = world["street"]
    chinese = field_error(admin.post("/admin/areas", data={"name": "", "parent": street.id}), "name", "create-")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    admin.cookies.set("forum_lang", "en")
    assert field_error(admin.post("/admin/areas", data={"name": "", "parent": street.id}), "name",
                       "create-") == "Give a name."


def test_rename_move_archive_restore(admin, demo_engine, world):
    elsewhere, street, other = world["elsewhere"], world["street"], world["other_street"]
    assert admin.post(f"/admin/areas/{elsewhere.id}/rename", data={"name": "朝东路"}).status_code == 200
    assert one(demo_engine, Area, Area.id == elsewhere.id).name == "朝东路"
    r = admin.post(f"/admin/areas/{elsewhere.id}/rename", data={"name": " "})
    assert r.status_code == 422 and field_error(r, "name", "rename-")
    r = admin.post(f"/admin/areas/{elsewhere.id}/move", data={"parent": str(elsewhere.id)})
    assert r.status_code == 422 and field_error(r, "parent", "move-")
    assert admin.post(f"/admin/areas/{elsewhere.id}/move", data={"parent": street.id}).status_code == 200
    assert one(demo_engine, Area, Area.id == elsewhere.id).parent_id == street.id
    assert admin.post(f"/admin/areas/{elsewhere.id}/archive").status_code == 200
    assert one(demo_engine, Area, Area.id == elsewhere.id).archived_at is not None
    assert "朝东路" not in admin.get("/").text  # out of the lists; its page stays
    assert admin.get(f"/admin/areas/{elsewhere.id}").status_code == 200
    assert admin.post(f"/admin/areas/{other.id}/archive").status_code == 200  # nothing in use under it now
    assert admin.post(f"/admin/areas/{elsewhere.id}/restore").status_code == 200
    assert one(demo_engine, Area, Area.id == elsewhere.id).archived_at is None
    assert [e.action for e in audited(demo_engine, "area_rename") + audited(demo_engine, "area_move")] == \
        ["area_rename", "area_move"]
    assert count(demo_engine, AuditEntry, AuditEntry.action.in_(["area_archive", "area_restore"])) == 3


def test_archiving_is_refused_while_in_use(admin, demo_engine, world):
    first, street = world["first"], world["street"]
    r = admin.post(f"/admin/areas/{street.id}/archive")
    assert r.status_code == 422 and html(r).select_one(".error[role=alert]")  # its communities are in use
    with Session(demo_engine) as db:
        meeting = db.exec(select(Meeting).where(Meeting.community_id == first.id)).first()
        meeting.status = MeetingStatus.live
        db.add(meeting)
        db.commit()
    r = admin.post(f"/admin/areas/{first.id}/archive")
    assert r.status_code == 422
    assert one(demo_engine, Area, Area.id == first.id).archived_at is None


# ---------------------------------------------------------------- committees and formats


def test_committees_members_and_chair(admin, demo_engine, world):
    elsewhere = world["elsewhere"]
    assert admin.post(f"/admin/areas/{elsewhere.id}/committees").status_code == 200
    assert count(demo_engine, Committee, Committee.community_id == elsewhere.id) == 6
    admin.post(f"/admin/areas/{elsewhere.id}/committees")  # again: nothing twice
    assert count(demo_engine, Committee, Committee.community_id == elsewhere.id) == 6
    committee = one(demo_engine, Committee, Committee.community_id == elsewhere.id, Committee.kind == "mediation")
    base = f"/admin/committees/{committee.id}"
    for data, name in [({"name": "", "phone": ""}, "name"), ({"name": "张律师", "phone": "call me"}, "phone")]:
        r = admin.post(f"{base}/members", data=data)
        assert r.status_code == 422 and field_error(r, name, "member-")
        assert html(r).select_one("#f-member-phone")["value"] == data["phone"]
    assert count(demo_engine, CommitteeMember, CommitteeMember.committee_id == committee.id) == 0
    admin.post(f"{base}/members", data={"name": "张律师", "phone": "13900000000", "chair": "1"})
    admin.post(f"{base}/members", data={"name": "李医生", "phone": ""})
    lawyer, doctor = (one(demo_engine, CommitteeMember, CommitteeMember.person_id == p.id) for p in
                      (one(demo_engine, Person, Person.name == n) for n in ("张律师", "李医生")))
    assert lawyer.chair and not doctor.chair
    admin.post(f"/admin/members/{doctor.id}/chair")
    assert one(demo_engine, CommitteeMember, CommitteeMember.id == doctor.id).chair
    assert not one(demo_engine, CommitteeMember, CommitteeMember.id == lawyer.id).chair  # one chair at a time
    admin.post(f"/admin/members/{lawyer.id}/remove")
    page = html(admin.get(base))
    assert "张律师" in page.select_one("#h-former").parent.get_text()  # who sat on it when stays known
    r = admin.post(f"/admin/members/{lawyer.id}/remove")
    assert r.status_code == 422
    r = admin.post(base, data={"name": ""})
    assert r.status_code == 422 and field_error(r, "name", "rename-")
    assert {e.action for e in audited(demo_engine, "member_add") + audited(demo_engine, "member_chair")
            + audited(demo_engine, "member_remove") + audited(demo_engine, "committee_create")} == \
        {"member_add", "member_chair", "member_remove", "committee_create"}


def test_venue_formats(admin, demo_engine, world):
    first = world["first"]
    existing = one(demo_engine, ForumFormat, ForumFormat.community_id == first.id)
    r = admin.post(f"/admin/areas/{first.id}/formats", data={"name": existing.name})
    assert r.status_code == 422 and field_error(r, "name", "format-new-")
    assert admin.post(f"/admin/areas/{first.id}/formats", data={"name": "邻里议事会"}).status_code == 200
    r = admin.post(f"/admin/formats/{existing.id}", data={"name": ""})
    assert r.status_code == 422 and field_error(r, "name", f"format-{existing.id}-")
    assert admin.post(f"/admin/formats/{existing.id}", data={"name": "幸福圆桌会·新"}).status_code == 200
    assert one(demo_engine, ForumFormat, ForumFormat.id == existing.id).name == "幸福圆桌会·新"
    r = admin.post(f"/admin/areas/{world['street'].id}/formats", data={"name": "街道会"})
    assert r.status_code == 422  # a street has no venue formats


# ---------------------------------------------------------------- organisations


def test_organisations_and_liaisons(admin, demo_engine, world):
    first, second = world["first"], world["second"]
    existing = one(demo_engine, Organisation)
    for data, name in [({"name": "", "kind": "social"}, "name"), ({"name": existing.name, "kind": "social"}, "name"),
                       ({"name": "新单位", "kind": "club"}, "kind"),
                       ({"name": "新单位", "kind": "social", "phone": "<b>"}, "phone")]:
        r = admin.post("/admin/organisations", data=data)
        assert r.status_code == 422 and field_error(r, name, "org-"), data
    r = admin.post("/admin/organisations", data={"name": "新单位", "kind": "social", "communities": ["99999"]})
    assert r.status_code == 422 and html(r).select_one("#org-communities-error") is not None
    assert count(demo_engine, Organisation, Organisation.name == "新单位") == 0
    r = admin.post("/admin/organisations", follow_redirects=False,
                   data={"name": "新单位", "kind": "social", "communities": [first.id, second.id]})
    created = one(demo_engine, Organisation, Organisation.name == "新单位")
    assert r.status_code == 303 and count(demo_engine, OrganisationCommunity,
                                          OrganisationCommunity.organisation_id == created.id) == 2
    r = admin.post(f"/admin/organisations/{created.id}", data={"name": "新单位", "kind": "property", "phone": "023-1",
                                                              "communities": [second.id]})
    assert r.status_code == 200
    assert one(demo_engine, Organisation, Organisation.id == created.id).kind == "property"
    assert count(demo_engine, OrganisationCommunity, OrganisationCommunity.organisation_id == created.id) == 1
    r = admin.post(f"/admin/organisations/{created.id}/liaisons", data={"name": "", "phone": ""})
    assert r.status_code == 422 and field_error(r, "name", "liaison-")
    admin.post(f"/admin/organisations/{created.id}/liaisons", data={"name": "周联络", "phone": "13800000009"})
    liaison = one(demo_engine, Person, Person.name == "周联络")
    assert liaison.organisation_id == created.id
    admin.post(f"/admin/liaisons/{liaison.id}/remove")
    assert one(demo_engine, Person, Person.id == liaison.id).organisation_id is None  # the person stays
    assert admin.post(f"/admin/liaisons/{liaison.id}/remove").status_code == 409
    assert len(audited(demo_engine, "organisation_update")) == 1 and len(audited(demo_engine, "liaison_remove")) == 1


# ---------------------------------------------------------------- accounts


def test_accounts_create_with_password_shown_once(admin, demo_engine, world, app):
    first = world["first"]
    bad = [({"username": "a b", "display_name": "王", "role": "facilitator", "scope": first.id}, "username"),
           ({"username": "FACILITATOR", "display_name": "王", "role": "facilitator", "scope": first.id}, "username"),
           ({"username": "wang", "display_name": "", "role": "facilitator", "scope": first.id}, "display_name"),
           ({"username": "wang", "display_name": "王", "role": "emperor", "scope": first.id}, "role"),
           ({"username": "wang", "display_name": "王", "role": "facilitator", "scope": ""}, "scope"),
           ({"username": "wang", "display_name": "王", "role": "committee", "scope": world["street"].id}, "scope"),
           ({"username": "wang", "display_name": "王", "role": "committee", "scope": first.id}, "committee"),
           ({"username": "wang", "display_name": "王", "role": "liaison", "scope": ""}, "organisation"),
           ({"username": "wang", "display_name": "王", "role": "facilitator", "scope": first.id, "password": "short"},
            "password")]
    before = count(demo_engine, User)
    for data, name in bad:
        r = admin.post("/admin/users", data=data)
        assert r.status_code == 422 and field_error(r, name, "new-"), data
        assert html(r).select_one("#f-new-password")["value"] == ""  # a password is never sent back
    assert count(demo_engine, User) == before
    r = admin.post("/admin/users", data={"username": "wang.li", "display_name": "王丽", "role": "facilitator",
                                         "scope": world["street"].id})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    password = html(r).select_one(".password-once").get_text(strip=True)
    created = one(demo_engine, User, User.username == "wang.li")
    assert (created.scope_id, created.community_id) == (world["street"].id, None)
    assert audited(demo_engine, "account_create")[-1].target_id == created.id
    with TestClient(app) as newcomer:
        sign_in(newcomer, "wang.li", password)
        assert newcomer.get(f"/c/{world['second'].slug}/series/new").status_code == 200  # the whole street
        assert newcomer.get(f"/c/{world['elsewhere'].slug}/series/new").status_code == 403


def test_role_change_disable_enable_and_password_reset(admin, demo_engine, world, app):
    facilitator = one(demo_engine, User, User.username == "facilitator")
    with TestClient(app) as theirs:
        sign_in(theirs, "facilitator")
        r = admin.post(f"/admin/users/{facilitator.id}", data={"role": "committee", "scope": world["first"].id})
        assert r.status_code == 422 and field_error(r, "committee", "role-")
        assert admin.post(f"/admin/users/{facilitator.id}", data={"role": "facilitator",
                                                                  "scope": world["street"].id}).status_code == 200
        assert one(demo_engine, User, User.id == facilitator.id).scope_id == world["street"].id
        assert "→" in audited(demo_engine, "role_change")[-1].detail
        admin.post(f"/admin/users/{facilitator.id}/disable")
        assert theirs.get("/account/password", follow_redirects=False).status_code == 303  # signed out
        admin.post(f"/admin/users/{facilitator.id}/enable")
        r = admin.post(f"/admin/users/{facilitator.id}/password")
        password = html(r).select_one(".password-once").get_text(strip=True)
        assert r.headers["cache-control"] == "no-store"
        assert theirs.post("/login", data={"username": "facilitator", "password": "demo1234"}).status_code == 422
        sign_in(theirs, "facilitator", password)
    me = one(demo_engine, User, User.username == "admin")
    r = admin.post(f"/admin/users/{me.id}", data={"role": "facilitator", "scope": world["first"].id})
    assert r.status_code == 422 and one(demo_engine, User, User.id == me.id).role == "admin"
    assert admin.post(f"/admin/users/{me.id}/disable").status_code == 422
    assert admin.post(f"/admin/users/{me.id}/password").status_code == 422
    assert one(demo_engine, User, User.id == me.id).disabled_at is None


# ---------------------------------------------------------------- standing invitees


def test_series_standing_invitees(facilitator, demo_engine, world):
    first = world["first"]
    series = one(demo_engine, Series, Series.community_id == first.id)
    other_committee = one(demo_engine, Committee, Committee.community_id == world["second"].id)
    page = f"/series/{series.id}/invitees"
    assert facilitator.get(page).status_code == 200
    for value in ("", "x1", f"c{other_committee.id}", "o99999"):
        r = facilitator.post(page, data={"invitee": value})
        assert r.status_code == 422 and field_error(r, "invitee"), value
    organisation = one(demo_engine, Organisation, Organisation.name.like("%公安%"))
    invited = count(demo_engine, SeriesInvitee, SeriesInvitee.series_id == series.id)
    if not one(demo_engine, SeriesInvitee, SeriesInvitee.series_id == series.id,
               SeriesInvitee.organisation_id == organisation.id):
        assert facilitator.post(page, data={"invitee": f"o{organisation.id}"}).status_code == 200
        invited += 1
    r = facilitator.post(page, data={"invitee": f"o{organisation.id}"})
    assert r.status_code == 422  # invited already
    assert count(demo_engine, SeriesInvitee, SeriesInvitee.series_id == series.id) == invited
    invitee = one(demo_engine, SeriesInvitee, SeriesInvitee.series_id == series.id)
    other_series = one(demo_engine, Series, Series.community_id == world["second"].id)
    assert facilitator.post(f"/series/{other_series.id}/invitees/{invitee.id}/remove").status_code == 403
    assert facilitator.post(f"/series/{series.id}/invitees/{invitee.id}/remove").status_code == 200
    assert count(demo_engine, SeriesInvitee, SeriesInvitee.series_id == series.id) == invited - 1
    assert audited(demo_engine, "invitee_remove")


# ---------------------------------------------------------------- scopes: a street's admin


def test_a_street_admin_cannot_touch_another_street(street_admin, demo_engine, world):
    elsewhere, other = world["elsewhere"], world["other_street"]
    before = fingerprint(demo_engine)
    forbidden = [("get", f"/admin/areas/{elsewhere.id}", {}), ("get", f"/admin/areas/{other.id}", {}),
                 ("post", f"/admin/areas/{elsewhere.id}/rename", {"name": "x"}),
                 ("post", f"/admin/areas/{elsewhere.id}/archive", {}),
                 ("post", f"/admin/areas/{elsewhere.id}/move", {"parent": world["street"].id}),
                 ("post", f"/admin/areas/{world['first'].id}/move", {"parent": other.id}),
                 ("post", f"/admin/areas/{elsewhere.id}/committees", {}),
                 ("post", "/admin/areas", {"name": "新社区", "parent": other.id}),
                 ("post", "/admin/areas", {"name": "新区", "parent": ""}),
                 ("post", f"/admin/areas/{world['street'].id}/rename", {"name": "x"}),  # its own street: the district's
                 ("post", "/admin/users", {"username": "x1", "display_name": "x", "role": "facilitator",
                                           "scope": elsewhere.id}),
                 ("post", "/admin/users", {"username": "x2", "display_name": "x", "role": "admin", "scope": ""}),
                 ("get", f"/admin/users/{one(demo_engine, User, User.username == 'ctm_admin').id}", {}),
                 ("get", f"/admin/users/{one(demo_engine, User, User.username == 'admin').id}", {})]
    for method, path, data in forbidden:
        r = getattr(street_admin, method)(path, **({"data": data} if method == "post" else {}))
        assert r.status_code == 403, (method, path)
    assert fingerprint(demo_engine) == before


def test_a_street_admin_administers_its_own_street(street_admin, demo_engine, world):
    first, second = world["first"], world["second"]
    assert street_admin.get(f"/admin/areas/{world['street'].id}").status_code == 200
    assert street_admin.post(f"/admin/areas/{first.id}/rename", data={"name": "较场口"}).status_code == 200
    r = street_admin.post("/admin/areas", data={"name": "新社区", "parent": world["street"].id}, follow_redirects=False)
    assert r.status_code == 303
    page = html(street_admin.get("/admin"))
    names = [a.get_text() for a in page.select(".tree .row-title")]
    assert "较场口" in names and "朝东路社区" not in names and "渝中区" not in names
    users = html(street_admin.get("/admin/users")).get_text()
    assert "street_facilitator" in users and "ctm_admin" not in users
    r = street_admin.post("/admin/users", data={"username": "bx", "display_name": "白象街主任", "role": "facilitator",
                                                "scope": second.id})
    assert r.status_code == 200
    # Organisations: those serving its communities only; it ticks only its own communities.
    listed = html(street_admin.get("/admin/organisations")).get_text()
    with Session(demo_engine) as db:
        served = db.exec(select(Organisation)).first()
        db.add(OrganisationCommunity(organisation_id=served.id, community_id=second.id))
        lonely = Organisation(name="无社区单位", kind="social")
        db.add(lonely)
        db.commit()
        lonely_id, served_name = lonely.id, served.name
    assert served_name in listed and "无社区单位" not in listed
    assert street_admin.get(f"/admin/organisations/{lonely_id}").status_code == 403
    r = street_admin.post("/admin/organisations", data={"name": "街道单位", "kind": "social", "communities": []})
    assert r.status_code == 422  # a street's organisation serves some of its communities
    r = street_admin.post("/admin/organisations", data={"name": "街道单位", "kind": "social",
                                                        "communities": [world["elsewhere"].id]})
    assert r.status_code == 422


def test_a_street_admin_reads_the_audit_log_and_imports_registers_of_its_street_only(street_admin, demo_engine,
                                                                                      world):
    with Session(demo_engine) as db:
        from forum import audit

        audit.record(db, None, "area_rename", "area", world["elsewhere"].id, "elsewhere",
                     community_id=world["elsewhere"].id, actor="someone")
        audit.record(db, None, "area_rename", "area", world["first"].id, "here", community_id=world["first"].id,
                     actor="someone")
        db.commit()
    log = html(street_admin.get("/admin/audit", params={"action": "area_rename"})).get_text()
    assert "here" in log and "elsewhere" not in log
    form = html(street_admin.get("/admin/households"))
    choices = {o.get_text() for o in form.select("#f-community option") if o.get("value")}
    assert choices and not any("朝东路" in c for c in choices)
    r = street_admin.post("/admin/households", data={"community": world["elsewhere"].id},
                          files={"file": ("r.csv", "楼栋,单元,房号,面积,业主\n1,1,101,80,张三\n".encode(), "text/csv")})
    assert r.status_code == 422


def test_a_street_facilitator_runs_meetings_in_every_community_of_the_street(app, world, demo_engine):
    with TestClient(app) as client:
        sign_in(client, "street_facilitator")
        for community in (world["first"], world["second"]):
            meeting = one(demo_engine, Meeting, Meeting.community_id == community.id)
            assert client.get(f"/meetings/{meeting.id}/run").status_code == 200
        assert client.get(f"/c/{world['elsewhere'].slug}/series/new").status_code == 403

"""Setting up a real community from an empty database with the command line (forum.cli_admin), and
the hall's address that ``forum serve`` and ``forum demo`` give the join QR code (forum.hall)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from forum import cli_admin, hall, install
from forum import db as database
from forum.app import create_app
from forum.cli import main
from forum.models import (
    Area,
    AuditEntry,
    Committee,
    CommitteeMember,
    Meeting,
    Organisation,
    OrganisationCommunity,
    Person,
    Series,
    User,
)
from forum.settings import Settings

AREAS_CSV = "区,街道,社区,地址名\n渝中区,,,yuzhong\n渝中区,解放碑街道,,jiefangbei\n" \
            "渝中区,解放碑街道,较场口社区,jiaochangkou\n" \
            "渝中区,解放碑街道,白象街社区,baixiangjie\n渝中区,朝天门街道,朝东路社区,chaodonglu\n"
ORGANISATIONS_CSV = "名称,类型,电话,服务社区,联络人,联络人电话\n" \
                    "渝中区城市管理局,部门,023-6380 1234,jiaochangkou;白象街社区,张联络,13800000001\n" \
                    "重庆山城和悦物业服务有限公司,物业公司,,jiaochangkou,李经理、王经理,\n"


@pytest.fixture
def url(database_url):
    return database_url


@pytest.fixture
def runner(url, monkeypatch):
    monkeypatch.setenv("FORUM_DATABASE_URL", url)
    monkeypatch.delenv("FORUM_PUBLIC_URL", raising=False)
    return CliRunner()


@pytest.fixture
def engine(url):
    engine = database.make_engine(url)
    yield engine
    engine.dispose()


def run(runner, *args, input=None, ok=True):
    result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def count(engine, model, *where) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_community_from_an_empty_database_to_its_first_meeting(runner, engine, url):
    run(runner, "init", "--district", "渝中区", "--slug", "yuzhong", "--admin", "root", "--admin-name", "区管理员",
        "--password", "long-enough-1")
    run(runner, "area", "add", "解放碑街道", "--parent", "yuzhong", "--slug", "jiefangbei")
    run(runner, "area", "add", "较场口社区", "--parent", "jiefangbei", "--slug", "jiaochangkou")
    assert "6 committee(s)" in run(runner, "committee", "add", "jiaochangkou").output
    run(runner, "committee", "member", "jiaochangkou", "mediation", "张律师", "--phone", "13900000000", "--chair")
    run(runner, "organisation", "add", "渝中区城市管理局", "--kind", "department", "--community", "jiaochangkou",
        "--liaison", "张联络")
    made = run(runner, "user", "add", "wang", "--role", "facilitator", "--scope", "jiaochangkou", "--name", "王主任")
    password = made.output.split("password (shown once): ")[1].strip()
    listed = run(runner, "area", "list").output
    assert listed.index("yuzhong") < listed.index("jiefangbei") < listed.index("jiaochangkou")

    with Session(engine) as db:
        community = db.exec(select(Area).where(Area.slug == "jiaochangkou")).one()
        assert community.kind == "community" and db.get(Area, community.parent_id).slug == "jiefangbei"
        committees = select(func.count()).select_from(Committee).where(Committee.community_id == community.id)
        assert db.exec(committees).one() == 6
        chair = db.exec(select(CommitteeMember)).one()
        assert chair.chair and db.get(Person, chair.person_id).name == "张律师"
        organisation = db.exec(select(Organisation)).one()
        assert db.exec(select(OrganisationCommunity)).one().community_id == community.id
        assert db.exec(select(Person).where(Person.organisation_id == organisation.id)).one().name == "张联络"
        wang = db.exec(select(User).where(User.username == "wang")).one()
        assert (wang.role, wang.scope_id, wang.community_id) == ("facilitator", community.id, community.id)
        actions = set(db.exec(select(AuditEntry.action)))
    assert {"install_init", "area_create", "committee_create", "member_add", "organisation_create",
            "account_create"} <= actions

    # The facilitator signs in with the password printed once, and holds the community's first weekly talk.
    app = create_app(Settings(database_url=url, secret_key="k", language="zh-Hans"), engine=engine)
    with TestClient(app) as client:
        assert client.post("/login", data={"username": "wang", "password": password},
                           follow_redirects=False).status_code == 303
        r = client.post("/c/jiaochangkou/series/new", data={
            "title": "幸福圆桌会", "cadence": "weekly", "rrule": "FREQ=WEEKLY;BYDAY=TU", "dtstart": "2030-01-08T19:30",
            "duration_minutes": "90", "place": "社区议事厅", "forum_format": ""}, follow_redirects=False)
        assert r.status_code == 303, r.text
        series_id = int(r.headers["location"].rsplit("/", 1)[1])
        r = client.post(f"/series/{series_id}/meetings", data={"starts_at": "2030-01-08T19:30:00"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
    assert count(engine, Meeting, Meeting.series_id == series_id) == 1
    assert count(engine, Series) == 1


def test_init_asks_what_its_flags_leave_out_and_refuses_a_second_time(runner, engine):
    answers = "渝中区\nroot\n区管理员\nshort\nshort\nlong-enough-1\nlong-enough-1\n"
    result = run(runner, "init", input=answers)
    assert "8 characters" in result.output and "with the administrator root" in result.output
    with Session(engine) as db:
        admin = db.exec(select(User)).one()
        assert (admin.role, admin.scope_id, admin.display_name) == ("admin", None, "区管理员")
        assert db.exec(select(Area)).one().name == "渝中区"
    again = run(runner, "init", "--district", "x", "--admin", "y", "--password", "long-enough-2", ok=False)
    assert "set up already" in again.output
    assert count(engine, User) == 1 and count(engine, Area) == 1


@pytest.mark.parametrize(("args", "field"), [
    (("--district", "区" * 101, "--admin", "root", "--password", "long-enough-1"), "district"),
    (("--district", "渝中区", "--admin", "no spaces", "--password", "long-enough-1"), "username"),
    (("--district", "渝中区", "--slug", "Not A Slug", "--admin", "root", "--password", "long-enough-1"), "slug"),
    (("--district", "渝中区", "--admin", "root", "--password", "short"), "password"),
])
def test_init_refuses_bad_answers_and_writes_nothing(runner, engine, args, field):
    result = run(runner, "init", *args, ok=False)
    assert f"{field}:" in result.output
    assert install.is_empty(engine)


def test_serve_on_an_empty_database_points_to_init_or_asks(runner, engine, monkeypatch):
    served = []
    monkeypatch.setattr("forum.server.serve", lambda app, host, port, **kw: served.append(app))
    monkeypatch.setattr(hall, "lan_address", lambda: None)
    result = run(runner, "serve")  # no one at the keyboard (a service): it says what to run
    assert "forum init" in result.output and len(served) == 1
    monkeypatch.setattr(cli_admin, "interactive", lambda: True)
    result = run(runner, "serve", input="y\n渝中区\nroot\n管理员\nlong-enough-1\nlong-enough-1\n")
    assert "with the administrator root" in result.output and len(served) == 2
    assert not install.is_empty(engine)
    result = run(runner, "serve")  # set up: nothing asked
    assert "empty" not in result.output


def test_user_add_refuses_what_does_not_fit(runner, engine):
    run(runner, "init", "--district", "渝中区", "--slug", "yuzhong", "--admin", "root", "--password", "long-enough-1")
    run(runner, "area", "add", "解放碑街道", "--parent", "yuzhong", "--slug", "jiefangbei")
    assert "committee member belongs to a community" in run(
        runner, "user", "add", "li", "--role", "committee", "--scope", "jiefangbei", ok=False).output
    assert "no area" in run(runner, "user", "add", "li", "--role", "facilitator", "--scope", "nowhere", ok=False).output
    assert "organisation" in run(runner, "user", "add", "li", "--role", "liaison", ok=False).output
    run(runner, "user", "add", "jfb", "--role", "admin", "--scope", "jiefangbei", "--password", "long-enough-2")
    assert "taken" in run(runner, "user", "add", "JFB", "--role", "admin", ok=False).output
    assert count(engine, User) == 2


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_import_the_area_tree_and_organisations(runner, engine, tmp_path, encoding):
    areas_file, organisations_file = tmp_path / "areas.csv", tmp_path / "organisations.csv"
    areas_file.write_bytes(AREAS_CSV.encode(encoding))
    organisations_file.write_bytes(ORGANISATIONS_CSV.encode(encoding))
    assert "nothing written" in run(runner, "import", "areas", str(areas_file), "--dry-run").output
    assert count(engine, Area) == 0
    assert "6 areas added" in run(runner, "import", "areas", str(areas_file)).output
    assert "0 areas added" in run(runner, "import", "areas", str(areas_file)).output  # again: nothing twice
    result = run(runner, "import", "organisations", str(organisations_file))
    assert "2 organisations added" in result.output and "3 liaisons added" in result.output
    assert "0 liaisons added" in run(runner, "import", "organisations", str(organisations_file)).output
    with Session(engine) as db:
        streets = db.exec(select(Area).where(Area.kind == "street").order_by(Area.name)).all()
        assert sorted(s.name for s in streets) == ["朝天门街道", "解放碑街道"]
        bureau = db.exec(select(Organisation).where(Organisation.kind == "department")).one()
        served = {db.get(Area, c).slug for c in db.exec(select(OrganisationCommunity.community_id)
                                                         .where(OrganisationCommunity.organisation_id == bureau.id))}
        assert served == {"jiaochangkou", "baixiangjie"} and bureau.phone == "023-6380 1234"
    assert count(engine, Person, Person.organisation_id.is_not(None)) == 3


@pytest.mark.parametrize(("content", "expected"), [
    ("区,街道,社区\n渝中区,,较场口社区\n", ":2: district:"),  # a community without its street
    ("区,街道,社区,地址名\n渝中区,,,yuzhong\n渝中区,解放碑街道,,yuzhong\n", ":3: slug:"),
    ("区,街道,社区,地址名\n渝中区,,,yuzhong\n渝中区,解放碑街道,,Bad!\n", ":3: slug:"),
    ("区,街道\n渝中区,解放碑街道\n", ":1: community:"),  # the header lacks a column
    ("名称\n", ":1:"),
])
def test_a_bad_areas_file_imports_nothing_and_names_the_line(runner, engine, tmp_path, content, expected):
    path = tmp_path / "areas.csv"
    path.write_bytes(content.encode())
    result = run(runner, "import", "areas", str(path), ok=False)
    assert expected in result.output and "nothing imported" in result.output
    assert count(engine, Area) == 0


def test_a_bad_organisations_file_imports_nothing(runner, engine, tmp_path):
    run(runner, "init", "--district", "渝中区", "--admin", "root", "--password", "long-enough-1")
    path = tmp_path / "organisations.csv"
    path.write_bytes("名称,类型,服务社区\n好单位,社会组织,\n坏单位,外星机构,\n第三,部门,nowhere\n好单位,部门,\n".encode("gbk"))
    result = run(runner, "import", "organisations", str(path), ok=False)
    assert ":3: kind:" in result.output and ":4: communities:" in result.output and ":5: name:" in result.output
    assert count(engine, Organisation) == 0
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert "neither UTF-8 nor GBK" in run(runner, "import", "organisations", str(path), ok=False).output


# ---------------------------------------------------------------- the hall's address


@pytest.mark.parametrize(("host", "configured", "found", "public", "warns"), [
    ("0.0.0.0", "", "192.168.1.23", "http://192.168.1.23:8000", False),  # the LAN address, found
    ("0.0.0.0", "", None, "", True),  # none found: say to set FORUM_PUBLIC_URL
    ("127.0.0.1", "", "192.168.1.23", "", True),  # this computer only: the QR code would be loopback
    ("localhost", "", "192.168.1.23", "", True),
    ("192.168.1.5", "", None, "http://192.168.1.5:8000", False),  # a chosen interface
    ("::", "", "10.0.0.7", "http://10.0.0.7:8000", False),
    ("fd00::5", "", None, "http://[fd00::5]:8000", False),
    ("0.0.0.0", "https://forum.example.org", "192.168.1.23", "https://forum.example.org", False),  # configured wins
    ("0.0.0.0", "http://127.0.0.1:8000", None, "http://127.0.0.1:8000", True),
])
def test_the_hall_address(host, configured, found, public, warns):
    where = hall.address(host, 8000, configured, detect=lambda: found)
    assert where.public_url == public and bool(where.warning) == warns
    assert where.join == (f"{public}/join" if public else "")


def test_lan_address_is_never_loopback():
    found = hall.lan_address()
    assert found is None or hall.usable(found)
    assert not hall.usable("127.0.0.1") and not hall.usable("0.0.0.0") and not hall.usable("169.254.1.1")
    assert hall.usable("192.168.1.23") and not hall.usable("not an address")


def test_serve_on_every_interface_gives_the_qr_code_the_lan_address(runner, engine, monkeypatch):
    run(runner, "init", "--district", "渝中区", "--admin", "root", "--password", "long-enough-1")
    served = []
    monkeypatch.setattr("forum.server.serve", lambda app, host, port, **kw: served.append((app, host, port)))
    monkeypatch.setattr(hall, "lan_address", lambda: "192.168.1.23")
    result = run(runner, "serve", "--host", "0.0.0.0", "--port", "8123")
    assert "http://192.168.1.23:8123/join" in result.output
    app, host, port = served[0]
    assert app.state.settings.public_url == "http://192.168.1.23:8123" and (host, port) == ("0.0.0.0", 8123)
    assert "192.168.1.23" in app.state.settings.hosts  # and forum answers to that name
    result = run(runner, "serve")  # loopback: said plainly
    assert "tablets cannot reach it" in result.output and served[1][0].state.settings.public_url == ""


def test_demo_on_every_interface_prints_the_lan_address(runner, monkeypatch):
    monkeypatch.setattr(hall, "lan_address", lambda: "10.1.2.3")
    result = run(runner, "demo", "--host", "0.0.0.0", "--no-serve")
    assert "http://10.1.2.3:8000/join" in result.output and "http://0.0.0.0" not in result.output

"""The ``forum`` command through click's CliRunner, on a SQLite file of its own."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, func, select

from forum import auth
from forum import db as database
from forum.cli import main
from forum.models import Area, AreaKind, Household, User

HEADER = "楼栋,单元,房号,面积,业主,电话\n"
GOOD_ROWS = "1,1,101,88.50,张三,13800000001\n1,1,102,76,李四,\n1,2,201,101.25,王五,\n"


@pytest.fixture
def url(database_url):
    return database_url


@pytest.fixture
def runner(url, monkeypatch):
    monkeypatch.setenv("FORUM_DATABASE_URL", url)
    return CliRunner()


@pytest.fixture
def engine(url):
    engine = database.make_engine(url)
    yield engine
    engine.dispose()


def run(runner, *args, input=None):
    return runner.invoke(main, list(args), input=input, catch_exceptions=False)


def test_help_lists_the_commands(runner):
    result = run(runner, "--help")
    assert result.exit_code == 0
    for command in ("serve", "demo", "db", "createuser", "import"):
        assert command in result.output


def test_db_upgrade(runner, engine):
    result = run(runner, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "head" in result.output
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())


def test_createuser_then_authenticate(runner, engine):
    result = run(runner, "createuser", "zhang", "--password", "long-enough-1", "--role", "admin", "--name", "张主任")
    assert result.exit_code == 0, result.output
    assert "zhang" in result.output
    with Session(engine) as session:
        user = auth.authenticate(session, "zhang", "long-enough-1")
        assert user is not None and user.role == "admin" and user.display_name == "张主任"
        assert auth.authenticate(session, "zhang", "wrong-password") is None
        assert "long-enough-1" not in user.password_hash


def test_createuser_short_password_refused(runner, engine):
    result = run(runner, "createuser", "zhang", "--password", "short")
    assert result.exit_code != 0
    assert "8 characters" in result.output
    with Session(engine) as session:
        assert session.exec(select(User).where(User.username == "zhang")).first() is None


def test_createuser_duplicate_refused(runner, engine):
    assert run(runner, "createuser", "zhang", "--password", "long-enough-1").exit_code == 0
    result = run(runner, "createuser", "zhang", "--password", "another-one-2")
    assert result.exit_code != 0
    assert "exists" in result.output
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 1
        assert auth.authenticate(session, "zhang", "long-enough-1") is not None


def test_createuser_unknown_community_refused(runner, engine):
    result = run(runner, "createuser", "zhang", "--password", "long-enough-1", "--community", "nowhere")
    assert result.exit_code != 0
    assert "nowhere" in result.output


def test_createuser_bad_role_refused(runner):
    result = run(runner, "createuser", "zhang", "--password", "long-enough-1", "--role", "emperor")
    assert result.exit_code != 0


@pytest.fixture
def community(runner, engine):
    assert run(runner, "db", "upgrade").exit_code == 0
    with Session(engine) as session:
        district = Area(name="测试区", kind=AreaKind.district, slug="testdistrict")
        session.add(district)
        session.flush()
        area = Area(name="测试社区", kind=AreaKind.community, slug="testville", parent_id=district.id)
        session.add(area)
        session.commit()
        return area.id


def households(engine, community_id: int) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Household)
                            .where(Household.community_id == community_id)).one()


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_import_households(runner, engine, community, tmp_path, encoding):
    path = tmp_path / "register.csv"
    path.write_bytes((HEADER + GOOD_ROWS).encode(encoding))
    result = run(runner, "import", "households", str(path), "--community", "testville")
    assert result.exit_code == 0, result.output
    assert "imported 3 new" in result.output
    assert households(engine, community) == 3


def test_import_households_dry_run_writes_nothing_and_a_second_import_changes_nothing(runner, engine, community,
                                                                                      tmp_path):
    path = tmp_path / "register.csv"
    path.write_bytes((HEADER + GOOD_ROWS).encode("gbk"))
    dry = run(runner, "import", "households", str(path), "--community", "testville", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 new units" in dry.output and "nothing written" in dry.output
    assert households(engine, community) == 0
    run(runner, "import", "households", str(path), "--community", "testville")
    again = run(runner, "import", "households", str(path), "--community", "testville")
    assert again.exit_code == 0, again.output
    assert "0 new units, 0 floor areas changed, 0 developer marks changed, 0 owners added, 0 owners removed, " \
        "0 new people, 0 phones changed" in again.output
    assert households(engine, community) == 3


def test_import_households_bad_file(runner, engine, community, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "1,1,101,88.5,张三,\n1,1,102,abc,李四,\n1,1,103,70,王五,\n1,1,104,80,,\n",
                    encoding="utf-8")
    result = run(runner, "import", "households", str(path), "--community", "testville")
    assert result.exit_code != 0
    assert f"{path}:3:" in result.output and f"{path}:5:" in result.output
    assert f"{path}:2:" not in result.output and f"{path}:4:" not in result.output
    assert "nothing imported" in result.output
    assert households(engine, community) == 0


def test_import_households_unknown_community(runner, engine, community, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    result = run(runner, "import", "households", str(path), "--community", "nowhere")
    assert result.exit_code != 0
    assert households(engine, community) == 0


def test_import_households_missing_file(runner, tmp_path):
    result = run(runner, "import", "households", str(tmp_path / "nope.csv"), "--community", "testville")
    assert result.exit_code != 0


def _row_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {name: connection.execute(text(f'select count(*) from "{name}"')).scalar_one()
                for name in SQLModel.metadata.tables}


def test_demo_twice_does_not_duplicate(runner, engine):
    first = run(runner, "demo", "--no-serve")
    assert first.exit_code == 0, first.output
    after_first = _row_counts(engine)
    for table in ("area", "committee", "issue", "issueevent", "meeting", "series", "user", "household",
                  "attendance", "speakingrequest", "comment"):
        assert after_first[table] > 0, table

    second = run(runner, "demo", "--no-serve")
    assert second.exit_code == 0, second.output
    assert _row_counts(engine) == after_first

    for output in (first.output, second.output):
        assert "http://127.0.0.1:8000/" in output
        assert "http://127.0.0.1:8000/c/jiaochangkou" in output
        assert "http://127.0.0.1:8000/c/baixiangjie" in output
        assert "http://127.0.0.1:8000/join" in output
        for username in ("facilitator", "committee", "liaison", "admin"):
            assert username in output
        assert "demo1234" in output

    with Session(engine) as session:
        assert auth.authenticate(session, "facilitator", "demo1234") is not None


def test_demo_host_and_port_in_urls(runner, monkeypatch):
    from forum import hall

    # Serving every interface, the addresses printed are the ones tablets use: this machine's on
    # the LAN (issue 11), no longer http://0.0.0.0:9000, which no browser opens.
    monkeypatch.setattr(hall, "lan_address", lambda: "10.0.0.5")
    result = run(runner, "demo", "--no-serve", "--host", "0.0.0.0", "--port", "9000")
    assert result.exit_code == 0
    assert "http://10.0.0.5:9000/c/jiaochangkou" in result.output


def test_serve_refuses_a_redis_that_keeps_secret_ballots_on_disk_in_words(runner, monkeypatch):
    """A persisting Redis is refused before anything is served, as a message, not a traceback."""
    from forum import cli, redis_urn

    def persisting(*_args, **_kwargs):
        raise redis_urn.RedisPersistenceError(redis_urn.PERSISTENCE_HELP.format(what="save '3600 1'"))

    monkeypatch.setenv("FORUM_BROADCAST_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setattr(redis_urn, "make", persisting)
    served = []
    monkeypatch.setattr(cli, "_serve", lambda *a, **k: served.append(a))
    result = runner.invoke(main, ["serve", "--workers", "2"])
    assert result.exit_code == 1, result.output
    assert "refuses to start" in result.output and "--appendonly no" in result.output
    assert "Traceback" not in result.output and not served

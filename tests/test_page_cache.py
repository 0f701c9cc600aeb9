"""Pages of the record are rendered once and served again until the record changes
(forum.page_cache, migration 0014_record_version): every change to a table a page can show moves
the record version, whoever makes it (the ORM, a bulk insert, another process), on SQLite and
PostgreSQL; a kept page goes only to a reader of the same kind (the same user, language,
fragment or page, minute); and a request that carries anything else is rendered afresh."""

from __future__ import annotations

import importlib.util
import secrets
from datetime import datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event, insert, inspect, text, update
from sqlmodel import Session, SQLModel, select
from starlette.responses import HTMLResponse, Response
from starlette.testclient import TestClient

from forum import auth, page_cache
from forum import db as database
from forum.app import create_app
from forum.models import Area, AreaKind, Attendance, Issue, Meeting, MeetingStatus, User, now
from forum.paths import MIGRATIONS
from tests.conftest import _settings, sign_in

spec = importlib.util.spec_from_file_location("record_version", MIGRATIONS / "versions" / "0014_record_version.py")
migration = importlib.util.module_from_spec(spec)
spec.loader.exec_module(migration)


def _version(engine) -> int:
    with Session(engine) as db:
        return page_cache.record_version(db)


def _community(engine) -> Area:
    with Session(engine, expire_on_commit=False) as db:
        return db.exec(select(Area).where(Area.kind == AreaKind.community).order_by(Area.id)).first()


def _raise_issue(engine, community_id: int, title: str) -> None:
    """Another process's write: an engine of its own, in bulk, no ORM."""
    other = database.make_engine(str(engine.url.render_as_string(hide_password=False)))
    at = datetime.now()
    with other.begin() as connection:
        connection.execute(insert(Issue).values(community_id=community_id, title=title, description="",
                                                category="other", place="", source="online", raised_by="居民",
                                                status="raised", raised_at=at, updated_at=at))
    other.dispose()


# ---------------------------------------------------------------- the version


def test_every_table_is_watched_or_named_as_bookkeeping():
    tables = set(SQLModel.metadata.tables) | {"alembic_version"}
    assert set(migration.WATCHED) | set(migration.NOT_WATCHED) == tables
    assert not set(migration.WATCHED) & set(migration.NOT_WATCHED)


def _every_row_change_moves_the_version(engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert set(migration.WATCHED) <= names
    tried = 0
    for table in migration.WATCHED:
        columns = SQLModel.metadata.tables[table].primary_key.columns
        column = next(iter(columns)).name
        with engine.connect() as connection:
            first = connection.execute(text(f'SELECT "{column}" FROM "{table}" LIMIT 1')).first()
        if first is None:
            continue
        before = _version(engine)
        with engine.begin() as connection:  # a change that writes the row as it was still counts
            connection.execute(text(f'UPDATE "{table}" SET "{column}" = "{column}" WHERE "{column}" = :v'),
                               {"v": first[0]})
        assert _version(engine) > before, table
        tried += 1
    assert tried >= 20  # the demo fills most tables
    before = _version(engine)
    with engine.begin() as connection:  # bookkeeping: a sign-in's "last seen", failed sign-ins
        connection.execute(text("INSERT INTO throttlecount (key, window_start, failures) VALUES ('k', :at, 1)"),
                           {"at": datetime.now()})
        connection.execute(text("DELETE FROM throttlecount WHERE key = 'k'"))
    assert _version(engine) == before


def _every_watched_table_has_its_trigger(engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            found = {r[0] for r in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
            expected = {f"record_version_{t}_{e}" for t in migration.WATCHED for e in ("insert", "update", "delete")}
        else:
            found = {r[0] for r in connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
            expected = {f"record_version_{t}" for t in migration.WATCHED}
    assert expected <= found


def test_every_change_to_the_record_moves_the_version_on_sqlite(demo_engine):
    _every_watched_table_has_its_trigger(demo_engine)
    _every_row_change_moves_the_version(demo_engine)


def test_every_change_to_the_record_moves_the_version_on_postgres(postgres_demo):
    engine = postgres_demo
    _every_watched_table_has_its_trigger(engine)
    _every_row_change_moves_the_version(engine)


def test_postgres_counts_a_transaction_once_at_its_commit(postgres_demo):
    engine = postgres_demo
    community = _community(engine)
    before = _version(engine)
    at = datetime.now()
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(insert(Issue), [{"community_id": community.id, "title": f"t{i}", "description": "",
                                            "category": "other", "place": "", "source": "online",
                                            "raised_by": "居民", "status": "raised", "raised_at": at,
                                            "updated_at": at} for i in range(50)])
        connection.execute(update(Issue).where(Issue.title.startswith("t")).values(place="一楼"))
        # Not yet committed: neither the rows nor the version are there for another reader.
        assert _version(engine) == before
        transaction.commit()
    assert _version(engine) == before + 1
    with engine.begin() as connection:
        connection.execute(text("UPDATE issue SET place = '二楼' WHERE title = 't1'"))
    assert _version(engine) == before + 2


# ---------------------------------------------------------------- pages kept and renewed


def _open_count(client: TestClient, slug: str) -> int:
    page = BeautifulSoup(client.get(f"/c/{slug}/issues").text, "html.parser")
    return len(page.select("[data-issue]")) or client.get(f"/c/{slug}/issues").text.count("/issues/")


def test_a_kept_page_costs_one_query_until_another_process_changes_the_record(app, demo_engine, monkeypatch):
    minute = now()
    monkeypatch.setattr(page_cache, "now", lambda: minute)  # a page is kept within its minute
    community = _community(demo_engine)
    queries: list[str] = []
    event.listen(demo_engine, "before_cursor_execute", lambda _c, _k, statement, *_a: queries.append(statement))
    with TestClient(app) as client:
        first = client.get(f"/c/{community.slug}")
        queries.clear()
        again = client.get(f"/c/{community.slug}")
        assert again.content == first.content
        # At most the version (none through the engine where the event loop reads an SQLite file's).
        assert len(queries) <= 1 and all("recordversion" in q for q in queries)
        _raise_issue(demo_engine, community.id, "楼道堆物一直没人清")
        queries.clear()
        after = client.get(f"/c/{community.slug}/issues?status=raised")
        assert "楼道堆物一直没人清" in after.text
        assert len(queries) > 1


def test_a_change_through_the_pages_shows_on_the_next_read(app, demo_engine):
    community = _community(demo_engine)
    with TestClient(app) as client:
        before = client.get(f"/c/{community.slug}/issues").text
        assert "电梯按钮失灵" not in before
        sign_in(client, "facilitator")
        r = client.post(f"/c/{community.slug}/issues/new", data={
            "title": "电梯按钮失灵", "description": "三单元电梯", "category": "other", "place": "三单元",
            "source": "online", "raised_by": "居民"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        client.cookies.clear()
        assert "电梯按钮失灵" in client.get(f"/c/{community.slug}/issues").text


def test_each_reader_gets_their_own_page(app, demo_engine):
    community = _community(demo_engine)
    with Session(demo_engine) as db:
        name = db.exec(select(User).where(User.username == "facilitator")).one().display_name
    path = f"/c/{community.slug}"
    with TestClient(app) as staff, TestClient(app) as visitor, TestClient(app) as other:
        sign_in(staff, "facilitator")
        sign_in(other, "committee")
        assert name in staff.get(path).text
        assert name not in visitor.get(path).text
        assert name not in other.get(path).text
        assert name in staff.get(path).text
        assert "/login" in visitor.get(path).text


def test_a_signed_out_or_disabled_reader_is_not_served_their_kept_page(app, demo_engine):
    community = _community(demo_engine)
    path = f"/c/{community.slug}/dashboard"
    with TestClient(app) as staff:
        sign_in(staff, "facilitator")
        kept = staff.get(path).text
        with Session(demo_engine) as db:
            user = db.exec(select(User).where(User.username == "facilitator")).one()
            name = user.display_name
        assert name in kept
        staff.post("/logout", follow_redirects=False)
        assert name not in staff.get(path).text


def test_a_fragment_and_the_page_at_one_address_are_kept_apart(app, demo_engine):
    community = _community(demo_engine)
    path = f"/c/{community.slug}/issues"
    with TestClient(app) as client:
        whole = client.get(path).text
        fragment = client.get(path, headers={"HX-Request": "true"}).text
        assert "<html" in whole and "<html" not in fragment
        assert "<html" in client.get(path).text
        assert "<html" not in client.get(path, headers={"HX-Request": "true"}).text


def test_each_language_has_its_own_page(app, demo_engine):
    community = _community(demo_engine)
    path = f"/c/{community.slug}"
    with TestClient(app) as client:
        chinese = client.get(path).text
        client.cookies.set("forum_lang", "en")
        english = client.get(path).text
        assert '<html lang="en">' in english and '<html lang="zh-Hans">' in chinese
        client.cookies.set("forum_lang", "zh-Hans")
        assert client.get(path).text == chinese


def test_a_tablet_in_a_meeting_is_never_served_a_kept_page(app, demo_engine):
    token = secrets.token_urlsafe(24)
    with Session(demo_engine, expire_on_commit=False) as db:
        meeting = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned, Meeting.starts_at > now())
                          .order_by(Meeting.starts_at)).first()
        community = db.get(Area, meeting.community_id)
        meeting.status, meeting.started_at = MeetingStatus.live, now()
        db.add(meeting)
        db.add(Attendance(meeting_id=meeting.id, name="居民小陈", device_token=token))
        db.commit()
    path = f"/c/{community.slug}"
    with TestClient(app) as visitor, TestClient(app, cookies={auth.DEVICE_COOKIE: token}) as tablet:
        assert "room-top" not in visitor.get(path).text
        assert "room-top" in tablet.get(path).text
        assert "room-top" not in visitor.get(path).text


def test_an_answer_that_is_not_a_plain_200_is_never_kept(app, demo_engine):
    community = _community(demo_engine)
    with Session(demo_engine) as db:
        last = db.exec(select(Issue).order_by(Issue.id.desc())).first().id
    with TestClient(app) as client:
        assert client.get(f"/issues/{last + 1}").status_code == 404
        _raise_issue(demo_engine, community.id, "新来的问题")
        assert client.get(f"/issues/{last + 1}").status_code == 200
    assert page_cache.kept_of(HTMLResponse("x", status_code=422)) is None
    with_cookie = HTMLResponse("x")
    with_cookie.set_cookie("a", "b")
    assert page_cache.kept_of(with_cookie) is None
    assert page_cache.kept_of(HTMLResponse("x")) is not None


def test_the_api_keeps_each_language_apart(app, demo_engine):
    with TestClient(app) as client:
        zh = client.get("/api/v1/issues?limit=2", headers={"Accept-Language": "zh-CN"})
        en = client.get("/api/v1/issues?limit=2", headers={"Accept-Language": "en"})
        assert zh.headers["content-language"] == "zh-Hans" and en.headers["content-language"] == "en"
        assert client.get("/api/v1/issues?limit=2", headers={"Accept-Language": "zh-CN"}).content == zh.content


def test_with_no_room_for_pages_every_page_is_rendered_afresh(demo_engine):
    settings = _settings(demo_engine.url.render_as_string(hide_password=False))
    app = create_app(type(settings)(**{**settings.__dict__, "page_cache_mb": 0}), engine=demo_engine)
    community = _community(demo_engine)
    queries: list[str] = []
    event.listen(demo_engine, "before_cursor_execute", lambda _c, _k, statement, *_a: queries.append(statement))
    with TestClient(app) as client:
        client.get(f"/c/{community.slug}")
        queries.clear()
        client.get(f"/c/{community.slug}")
        assert len(queries) > 2 and not any("recordversion" in q for q in queries)
    assert len(app.state.page_cache) == 0


def test_a_database_without_the_version_renders_every_page(app, demo_engine):
    community = _community(demo_engine)
    with demo_engine.begin() as connection:
        connection.execute(text("DELETE FROM recordversion"))
    with TestClient(app) as client:
        client.get(f"/c/{community.slug}/issues")
        _raise_issue(demo_engine, community.id, "没有版本也看得见")
        assert "没有版本也看得见" in client.get(f"/c/{community.slug}/issues?status=raised").text


def test_the_event_loop_reads_the_version_of_an_sqlite_file_and_never_waits(app, demo_engine, tmp_path):
    reader = page_cache.LoopReader(demo_engine)
    if demo_engine.dialect.name != "sqlite":
        assert reader.version() is None
        return
    assert reader.version() == _version(demo_engine)
    writer = demo_engine.raw_connection()
    try:
        writer.execute("BEGIN IMMEDIATE")  # a writer mid-transaction: readers of a WAL database go on
        writer.execute("UPDATE recordversion SET version = version + 1")
        assert reader.version() == _version(demo_engine)
    finally:
        writer.rollback()
        writer.close()
    reader.close()
    assert page_cache.LoopReader(database.make_engine("sqlite://")).version() is None
    broken = tmp_path / "not-a-database.db"
    broken.write_bytes(b"this is not SQLite" * 100)
    assert page_cache.LoopReader(database.make_engine(f"sqlite:///{broken}")).version() is None


def _staff_page(demo_engine):
    community = _community(demo_engine)
    with Session(demo_engine) as db:
        name = db.exec(select(User).where(User.username == "facilitator")).one().display_name
    return f"/c/{community.slug}", name


def _sessions(demo_engine, sql: str, **values) -> None:
    with demo_engine.begin() as connection:
        connection.execute(text(sql), values)


def test_a_signed_in_readers_kept_page_ends_with_their_session(app, demo_engine):
    path, name = _staff_page(demo_engine)
    with TestClient(app) as visitor, TestClient(app) as staff:
        visitor.get(path)
        visitor.get(path)
        sign_in(staff, "facilitator")
        assert name in staff.get(path).text
        assert name in staff.get(path).text  # kept
        # The session ended in the database: the cookie is still sent, the page is the visitor's own.
        _sessions(demo_engine, "UPDATE staffsession SET ended_at = :at", at=datetime.now())
        page = staff.get(path).text
        assert name not in page and "/login" in page


def test_a_disabled_account_is_not_served_its_kept_page(app, demo_engine):
    path, name = _staff_page(demo_engine)
    with TestClient(app) as staff:
        sign_in(staff, "facilitator")
        assert name in staff.get(path).text
        assert name in staff.get(path).text
        _sessions(demo_engine, "UPDATE \"user\" SET disabled_at = :at WHERE username = 'facilitator'",
                  at=datetime.now())
        assert name not in staff.get(path).text


def test_a_kept_page_still_writes_when_the_session_was_last_seen_and_ends_it_when_idle(app, demo_engine):
    from forum import sessions

    path, name = _staff_page(demo_engine)
    with TestClient(app) as staff:
        sign_in(staff, "facilitator")
        assert name in staff.get(path).text
        long_ago = datetime.now() - sessions.TOUCH_EVERY - timedelta(seconds=5)
        _sessions(demo_engine, "UPDATE staffsession SET last_seen_at = :at", at=long_ago)
        assert name in staff.get(path).text
        with demo_engine.connect() as connection:
            seen = connection.execute(text("SELECT max(last_seen_at) FROM staffsession")).scalar()
        assert (seen if isinstance(seen, datetime) else datetime.fromisoformat(seen)) > long_ago
        idle = datetime.now() - timedelta(minutes=app.state.settings.session_idle_minutes + 1)
        _sessions(demo_engine, "UPDATE staffsession SET last_seen_at = :at", at=idle)
        assert name not in staff.get(path).text
        with demo_engine.connect() as connection:
            assert connection.execute(text("SELECT ended_why FROM staffsession WHERE ended_at IS NOT NULL")
                                      ).scalar() == "idle"


# ---------------------------------------------------------------- the key and the memory


class _Request:
    def __init__(self, method="GET", cookies=None, session=None, headers=None, path="/c/x", query=b""):
        self.method, self.cookies, self.session = method, cookies or {}, session or {}
        self.headers = headers or {}
        self.scope = {"path": path, "query_string": query, "scheme": "http"}


def test_the_key_names_everything_a_page_varies_by(monkeypatch):
    base = page_cache.key(_Request(), None, 7)
    assert base == page_cache.key(_Request(), None, 7)
    assert base != page_cache.key(_Request(), 3, 7)  # the reader
    assert base != page_cache.key(_Request(), None, 8)  # the record
    assert base != page_cache.key(_Request(query=b"status=raised"), None, 7)
    assert base != page_cache.key(_Request(headers={"hx-request": "true"}), None, 7)
    assert base != page_cache.key(_Request(headers={"host": "forum.example.org"}), None, 7)
    assert base != page_cache.key(_Request(headers={"accept-language": "en"}), None, 7)
    later = now() + timedelta(minutes=1)
    monkeypatch.setattr(page_cache, "now", lambda: later)
    assert base != page_cache.key(_Request(), None, 7)  # the minute


@pytest.mark.parametrize("request_", [
    _Request(method="POST"),
    _Request(cookies={"forum_device": "t"}),
    _Request(session={"sid": "s", "shared_tablet": {"meeting": 1}}),
    _Request(headers={"accept-language": "x" * 201}),
], ids=["post", "device cookie", "shared tablet session", "long header"])
def test_requests_that_may_change_a_page_otherwise_are_not_kept(request_):
    assert page_cache.key(request_, None, 1) is None


def _kept(n: int) -> page_cache.Kept:
    return page_cache.Kept(200, (), b"x" * n)


def test_memory_is_bounded_and_the_least_recently_used_go_first():
    cache = page_cache.PageCache(8 * 1200)
    for i in range(8):
        cache.put((i,), _kept(1000))
    assert cache.held <= cache.limit and len(cache) == 8
    assert cache.get((0,)) is not None  # now the most recently used
    cache.put((8,), _kept(1000))
    assert cache.get((1,)) is None and cache.get((0,)) is not None and cache.get((8,)) is not None
    assert cache.held <= cache.limit
    cache.put((9,), _kept(cache.limit))  # one page never takes the room of many
    assert cache.get((9,)) is None


def test_a_lower_version_means_another_database_and_forgets_every_page():
    cache = page_cache.PageCache(10_000)
    cache.seen(5)
    cache.put(("a",), _kept(10))
    cache.seen(5)
    assert cache.get(("a",)) is not None
    cache.seen(3)
    assert cache.get(("a",)) is None and cache.held == 0


def test_a_kept_answer_is_served_with_its_own_headers():
    response = Response(b'{"a": 1}', media_type="application/json",
                        headers={"Vary": "Accept-Language", "Content-Security-Policy": "default-src 'none'"})
    served = page_cache.kept_of(response).response()
    assert served.body == b'{"a": 1}'
    assert served.raw_headers == response.raw_headers

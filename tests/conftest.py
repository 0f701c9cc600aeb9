"""Fixtures: a migrated database, the app over it, clients signed in as each kind of staff."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from forum import db as database
from forum.app import create_app
from forum.models import AgendaEntry, Meeting, MeetingStatus
from forum.settings import Settings
from tests.databases import ON_POSTGRES, TEST_DATABASE_URL, PostgresDatabases, SQLiteFiles, reachable


def pytest_collection_modifyitems(config, items) -> None:
    """Browser tests run on one xdist worker, one at a time (two Chromiums on a small machine would
    turn their time limits into races), and so do the slow benchmark smoke runs, on one worker of
    their own choosing: the two groups may run beside each other."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)  # a Chromium test, whichever file it is in
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
        elif item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("slow"))


@pytest.fixture(scope="session", autouse=True)
def _every_lifespan_ends():
    """Each TestClient entered is exited: one left open keeps its app's vote closer polling a
    database the tests have dropped (and logging that it failed) until the run ends."""
    yield
    left = [t.name for t in threading.enumerate() if t.name == "forum-vote-closer" and t.is_alive()]
    assert not left, f"{len(left)} app lifespan(s) never ended: a TestClient entered and not exited"


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Where the tests' databases live: SQLite files, or PostgreSQL databases when
    FORUM_TEST_DATABASE_URL names a server (tests/databases.py); each xdist worker has its own."""
    if not ON_POSTGRES:
        yield SQLiteFiles(tmp_path_factory.mktemp("databases"))
        return
    why = reachable(TEST_DATABASE_URL)
    if why:
        pytest.exit(f"FORUM_TEST_DATABASE_URL={TEST_DATABASE_URL} is not reachable: {why}", returncode=3)
    store = PostgresDatabases(TEST_DATABASE_URL)
    yield store
    store.close()


@pytest.fixture
def database_url(databases):
    """The URL of a new, empty database of the test's own (no schema yet), removed after it."""
    url = databases.fresh()
    yield url
    databases.drop(url)


def _build(url: str, *, seed: bool) -> str:
    engine = database.make_engine(url)
    database.upgrade(engine)
    if seed:
        from forum import demo

        with Session(engine) as session:
            demo.seed(session)
            session.commit()
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def _empty_template(databases):
    """PostgreSQL: the migrated empty database, built once per worker and copied for each test."""
    return _build(databases.fresh("empty"), seed=False) if ON_POSTGRES else None


def empty_engine(databases, empty_template: str | None):
    """A migrated, empty database of its own: in memory on SQLite, a copy of the template on
    PostgreSQL (dropped by ``drop_engine``, or at the end of the session)."""
    if not ON_POSTGRES:
        engine = database.make_engine("sqlite://")
        database.upgrade(engine)
        return engine
    return database.make_engine(databases.copy(empty_template, "engine", spare=True))


def drop_engine(databases, engine) -> None:
    engine.dispose()
    if ON_POSTGRES:
        databases.drop(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def engine(databases, _empty_template):
    engine = empty_engine(databases, _empty_template)
    yield engine
    drop_engine(databases, engine)


@pytest.fixture(scope="session")
def _demo_template(databases) -> str:
    """The URL of the demo database, built once per worker and copied for each test that wants it."""
    return _build(databases.fresh("demo"), seed=True)


@pytest.fixture
def demo_engine(databases, _demo_template):
    url = databases.copy(_demo_template, "demo", spare=True)
    engine = database.make_engine(url)
    yield engine
    engine.dispose()
    databases.drop(url)


@pytest.fixture
def run_async():
    """Run a coroutine to its end on a loop of its own, in a thread of its own: the browser tests'
    Playwright keeps an event loop running on the main thread, where asyncio.run refuses."""

    def run(coro):
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()

    return run


POSTGRES_URL = TEST_DATABASE_URL if ON_POSTGRES else "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_engine():
    """An engine on a fresh schema of its own in PostgreSQL's 'test' database, so a test neither
    sees nor harms other tables there. Skips where PostgreSQL is not running; fails in CI."""
    from sqlalchemy import create_engine, text

    try:
        import psycopg

        psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
    admin = database.make_engine(POSTGRES_URL)
    schema = f"forum_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture
def postgres_databases():
    """The tests' own databases on PostgreSQL (tests/databases.py), whichever database the suite
    runs on. Skips where PostgreSQL is not running; fails in CI."""
    why = reachable(POSTGRES_URL)
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable: {why}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {why}")
    made = PostgresDatabases(POSTGRES_URL)
    yield made
    made.close()


@pytest.fixture
def postgres_demo(postgres_engine):
    """``postgres_engine`` migrated, with the small demo in it."""
    from forum import demo

    database.upgrade(postgres_engine)
    with Session(postgres_engine) as session:
        demo.seed(session)
        session.commit()
    return postgres_engine


def _settings(url: str = "sqlite://") -> Settings:
    return Settings(database_url=url, secret_key="test-secret", language="zh-Hans")


@pytest.fixture
def app(demo_engine):
    return create_app(_settings(demo_engine.url.render_as_string(hide_password=False)), engine=demo_engine)


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


def sign_in(client: TestClient, username: str, password: str = "demo1234") -> TestClient:
    response = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def facilitator(app):
    with TestClient(app) as client:
        yield sign_in(client, "facilitator")


def upcoming_meeting(engine) -> int:
    """The planned meeting with an agenda that the demo data prepares for the live room."""
    with Session(engine) as db:
        meetings = db.exec(select(Meeting).where(Meeting.status == MeetingStatus.planned)
                           .order_by(Meeting.starts_at)).all()
        for meeting in meetings:
            if db.exec(select(AgendaEntry).where(AgendaEntry.meeting_id == meeting.id)).first():
                return meeting.id
    raise AssertionError("the demo data has no planned meeting with an agenda")


@pytest.fixture
def meeting_id(demo_engine) -> int:
    """The demo's upcoming meeting, not started."""
    return upcoming_meeting(demo_engine)


@pytest.fixture
def live_meeting(facilitator, meeting_id) -> int:
    """The demo's upcoming meeting, started by the facilitator (a TestClient's lifespan holds the hub)."""
    response = facilitator.post(f"/meetings/{meeting_id}/run/start", follow_redirects=False)
    assert response.status_code == 303
    return meeting_id


@pytest.fixture
def committee_member(app):
    with TestClient(app) as client:
        yield sign_in(client, "committee")


@pytest.fixture
def admin(app):
    with TestClient(app) as client:
        yield sign_in(client, "admin")


# ---------------------------------------------------------------- browser tests

CHROMIUM = "/usr/bin/chromium"
# Chromium as root in a closed network: no sandbox, no background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws="websockets-sansio", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_server(app):
    """The app served by uvicorn on a free loopback port, in a thread; yields its base URL."""
    with serving(app) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium; skipped where it is absent, unless FORUM_REQUIRE_BROWSER=1 (CI)."""
    import os
    from pathlib import Path

    required = os.environ.get("FORUM_REQUIRE_BROWSER") == "1"
    if not Path(CHROMIUM).exists():
        if required:
            pytest.fail(f"FORUM_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # Playwright evaluates wait_for_function's predicate with eval in the page, which forum's
        # Content-Security-Policy forbids; tests that check the policy itself pass bypass_csp=False.
        launched_context = browser.new_context

        def new_context(**options):
            options.setdefault("bypass_csp", True)
            return launched_context(**options)

        browser.new_context = new_context
        yield browser
        browser.close()


TABLET = {"width": 820, "height": 1180}


@pytest.fixture
def open_page(browser):
    """``open_page(viewport, **context_options)``: a page in a new browser context of its own
    (its own cookies: one device), watching its room socket; closed at the end of the test."""
    from tests.room_pages import WATCH_SOCKET

    contexts = []

    def open_page(viewport: dict, **options):
        context = browser.new_context(viewport=viewport, locale="zh-CN", **options)
        context.add_init_script(WATCH_SOCKET)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport=TABLET, has_touch=True, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def axe_serious(page) -> list[str]:
    """The serious and critical accessibility violations axe-core finds on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]

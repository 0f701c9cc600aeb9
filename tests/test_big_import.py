"""Large register imports: written in short transactions so the room keeps working, and still all
or nothing (a crash half-way is rolled forward on the next start)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from forum import db as database
from forum.cli import main
from forum.household_register import ImportBusy, ImportRefused, apply_plan, import_file, journal, parse, plan_import
from forum.models import (
    Area,
    AreaKind,
    Attendance,
    AuditEntry,
    Household,
    ImportJob,
    ImportStage,
    Meeting,
    Ownership,
    Person,
)
from tests.test_forms import C1, GOOD_ROWS, apply_preview, area, households_of, html
from tests.test_forms import HEADER as FORM_HEADER

HEADER = "楼栋,单元,房号,面积,业主,电话,开发商持有\n"
# Co-owners, one owner of two units, a developer-held unit without owner, owners without phones.
FIRST = HEADER + "\n".join([
    "5,2,101,89.50,张建国,13800000001,",
    "5,2,101,89.50,李秀英,13800000002,",
    "5,2,102,76.00,王芳,,",
    "5,2,201,101.25,张建国,13800000001,",
    "5,2,202,60.00,,,是",
    "6,1,101,88.00,赵明,13900000003,",
    "6,1,102,88.00,钱七,,",
]) + "\n"
# Areas change, the developer sells 5-2-202, 6-1-101 is sold to a new owner, a phone changes,
# and new units arrive.
SECOND = HEADER + "\n".join([
    "5,2,101,89.60,张建国,13800000001,",
    "5,2,102,76.00,王芳,13700000009,",
    "5,2,201,101.25,张建国,13800000001,",
    "5,2,202,60.00,孙丽,13600000004,否",
    "6,1,101,88.00,周强,13500000005,",
    "6,1,102,88.00,钱七,,",
    "7,1,101,70.00,吴一,,",
    "7,1,102,70.00,吴一,,",
    "7,1,103,70.00,郑二,13400000006,",
    "7,1,104,70.00,,,是",
]) + "\n"


def _community(engine) -> int:
    with Session(engine) as session:
        community = Area(name="较场口社区", kind=AreaKind.community, slug="jck")
        session.add(community)
        session.commit()
        return community.id


def _register(engine, community_id: int) -> tuple:
    """The register by what people see (not by ids): units with area and mark, people, owners."""
    with Session(engine) as session:
        units = sorted((h.building, h.unit, h.room, str(h.floor_area), h.developer_held)
                       for h in session.exec(select(Household).where(Household.community_id == community_id)))
        people = sorted((p.name, p.phone or "") for p in session.exec(select(Person)))
        owners = sorted((h.building, h.unit, h.room, p.name, p.phone or "")
                        for p, h in session.exec(select(Person, Household)
                                                 .join(Ownership, Ownership.person_id == Person.id)
                                                 .join(Household, Household.id == Ownership.household_id)))
        return units, people, owners


def _one_transaction(engine, community_id: int, data: str) -> None:
    """The import as it was: everything in one transaction (the reference result)."""
    with Session(engine, expire_on_commit=False) as session:
        apply_plan(session, plan_import(session, community_id, parse(data.encode())))
        session.commit()


@pytest.fixture
def file_engine(database_url):
    """A migrated database other connections can share: a file on SQLite (not one in memory)."""
    engine = database.make_engine(database_url)
    database.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def reference(tmp_path):
    """The register as one transaction leaves it after FIRST, and after FIRST then SECOND."""
    engine = database.make_engine("sqlite://")
    database.upgrade(engine)
    community_id = _community(engine)
    _one_transaction(engine, community_id, FIRST)
    before = _register(engine, community_id)
    _one_transaction(engine, community_id, SECOND)
    after = _register(engine, community_id)
    engine.dispose()
    return before, after


def _jobs(engine) -> list[tuple[str, int | None]]:
    with Session(engine) as session:
        return [(j.status, j.active) for j in session.exec(select(ImportJob).order_by(ImportJob.id))]


def _staged(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(ImportStage)).one()


@pytest.mark.parametrize("chunk", [1, 2, 3, 500])
def test_chunked_import_leaves_the_register_one_transaction_leaves(file_engine, reference, monkeypatch, chunk):
    monkeypatch.setattr(journal, "CHUNK_ROWS", chunk)
    community_id = _community(file_engine)
    import_file(file_engine, community_id, FIRST.encode())
    assert _register(file_engine, community_id) == reference[0]
    import_file(file_engine, community_id, SECOND.encode())
    assert _register(file_engine, community_id) == reference[1]
    assert _jobs(file_engine) == [("applied", None), ("applied", None)]
    assert _staged(file_engine) == 0  # the journal's steps are gone once applied


class Crash(Exception):
    pass


def _crash_after(n: int):
    def hook(chunk: int) -> None:
        if chunk == n:
            raise Crash(f"killed after chunk {n}")
    return hook


@pytest.mark.parametrize("crash_after", [1, 3, 6])
def test_an_import_killed_half_way_is_rolled_forward_on_the_next_start(file_engine, reference, monkeypatch,
                                                                       crash_after):
    monkeypatch.setattr(journal, "CHUNK_ROWS", 2)
    community_id = _community(file_engine)
    import_file(file_engine, community_id, FIRST.encode())
    with pytest.raises(Crash):
        import_file(file_engine, community_id, SECOND.encode(), after_chunk=_crash_after(crash_after))
    assert _jobs(file_engine)[-1] == ("pending", 1)
    assert _register(file_engine, community_id) not in reference  # half-written, as a crash leaves it

    # A second import meanwhile is refused and writes nothing.
    half = _register(file_engine, community_id)
    with pytest.raises(ImportBusy, match="Another register import"):
        import_file(file_engine, community_id, FIRST.encode())
    assert _register(file_engine, community_id) == half
    assert len(_jobs(file_engine)) == 2

    # The next start finishes it: the register is exactly what the whole file says.
    assert journal.resume_imports(file_engine) == 1
    assert _register(file_engine, community_id) == reference[1]
    assert _jobs(file_engine)[-1] == ("applied", None)
    assert _staged(file_engine) == 0
    assert journal.resume_imports(file_engine) == 0  # and only once


def test_the_next_import_finishes_one_a_dead_process_left(file_engine, reference, monkeypatch):
    monkeypatch.setattr(journal, "CHUNK_ROWS", 2)
    community_id = _community(file_engine)
    import_file(file_engine, community_id, FIRST.encode())
    with pytest.raises(Crash):
        import_file(file_engine, community_id, SECOND.encode(), after_chunk=_crash_after(2))
    with pytest.raises(ImportBusy):  # moving a moment ago: it may be another worker's, still running
        import_file(file_engine, community_id, SECOND.encode())
    with Session(file_engine) as session:
        job = session.exec(select(ImportJob).where(ImportJob.status == "pending")).one()
        job.progress_at -= timedelta(seconds=journal.STALE_SECONDS + 1)
        session.add(job)
        session.commit()
    # Stalled: the next import rolls it forward, and is itself refused, its plan made before that.
    with pytest.raises(ImportBusy, match="written meanwhile"):
        import_file(file_engine, community_id, SECOND.encode())
    assert _register(file_engine, community_id) == reference[1]
    # Planned again, it finds nothing left to change.
    assert import_file(file_engine, community_id, SECOND.encode()).created == 0
    assert _register(file_engine, community_id) == reference[1]
    assert _jobs(file_engine) == [("applied", None)] * 3


def test_an_import_killed_inside_a_chunk_redoes_that_whole_chunk(file_engine, reference, monkeypatch):
    """Killed after a chunk's writes but before its commit: that chunk and its progress mark are
    undone together, and the next start writes it again (not skipped, not written twice)."""
    monkeypatch.setattr(journal, "CHUNK_ROWS", 2)
    community_id = _community(file_engine)
    import_file(file_engine, community_id, FIRST.encode())
    real_apply = journal._apply_chunk
    calls = []

    def apply_then_die(conn, steps, refs):
        real_apply(conn, steps, refs)
        calls.append(len(steps))
        if len(calls) == 4:
            raise Crash("killed before the commit")

    monkeypatch.setattr(journal, "_apply_chunk", apply_then_die)
    with pytest.raises(Crash):
        import_file(file_engine, community_id, SECOND.encode())
    monkeypatch.setattr(journal, "_apply_chunk", real_apply)
    with Session(file_engine) as session:
        assert session.exec(select(ImportJob.applied).order_by(ImportJob.id.desc())).first() == 6  # 3 chunks
    assert journal.resume_imports(file_engine) == 1
    assert _register(file_engine, community_id) == reference[1]


def test_forum_db_upgrade_finishes_an_interrupted_import(database_url, reference, monkeypatch):
    url = database_url
    engine = database.make_engine(url)
    database.upgrade(engine)
    monkeypatch.setattr(journal, "CHUNK_ROWS", 2)
    community_id = _community(engine)
    import_file(engine, community_id, FIRST.encode())
    with pytest.raises(Crash):
        import_file(engine, community_id, SECOND.encode(), after_chunk=_crash_after(2))
    monkeypatch.setenv("FORUM_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 0 and "finished 1 interrupted household import" in result.output
    assert _register(engine, community_id) == reference[1]
    engine.dispose()


def test_a_crash_while_staging_leaves_the_register_untouched(file_engine, reference, monkeypatch):
    community_id = _community(file_engine)
    import_file(file_engine, community_id, FIRST.encode())
    real_stage = journal._stage

    def stage_then_die(engine, job_id, steps):
        real_stage(engine, job_id, steps[: len(steps) // 2])
        raise Crash("killed while staging")

    monkeypatch.setattr(journal, "_stage", stage_then_die)
    with pytest.raises(Crash):
        import_file(file_engine, community_id, SECOND.encode())
    assert _register(file_engine, community_id) == reference[0]
    assert _jobs(file_engine) == [("applied", None)] and _staged(file_engine) == 0
    # The next import is not refused by the one that died.
    monkeypatch.setattr(journal, "_stage", real_stage)
    import_file(file_engine, community_id, SECOND.encode())
    assert _register(file_engine, community_id) == reference[1]


def test_a_bad_file_is_refused_with_line_errors_and_nothing_is_staged(file_engine):
    community_id = _community(file_engine)
    bad = HEADER + "5,2,101,89.50,张建国,,\n5,2,102,abc,王芳,,\n" + "".join(
        f"9,1,{i},70,某{i},,\n" for i in range(1000))
    with pytest.raises(ImportRefused) as refused:
        import_file(file_engine, community_id, bad.encode())
    assert [(e.line, e.field) for e in refused.value.errors] == [(3, "floor_area")]
    assert _jobs(file_engine) == [] and _staged(file_engine) == 0
    assert _register(file_engine, community_id) == ([], [], [])


def _big_register(n: int) -> bytes:
    lines = [HEADER]
    for i in range(n):
        building, rest = divmod(i, 1000)
        unit, room = divmod(rest, 100)
        owner = f"业主{i}" if i % 50 else ""  # every 50th unit still the developer's
        phone = f"13{i:09d}" if owner and i % 3 else ""
        lines.append(f"{building + 1},{unit + 1},{room + 101},{60 + i % 90}.50,{owner},{phone},"
                     f"{'' if owner else '是'}\n")
    return "".join(lines).encode()


def test_100k_rows_import_while_check_ins_keep_being_written(file_engine):
    community_id = _community(file_engine)
    with Session(file_engine) as session:
        meeting = Meeting(community_id=community_id, title="周会", cadence="weekly",
                          starts_at=datetime(2026, 12, 1, 19), place="活动室")
        session.add(meeting)
        session.commit()
        meeting_id = meeting.id
    data = _big_register(100_000)

    # Another worker's check-ins, on connections of their own, every few milliseconds. They wait at
    # most 5 s for the writer lock (the app waits 30): a one-transaction import holds it far longer.
    writer = database.make_engine(file_engine.url.render_as_string(hide_password=False))
    if writer.dialect.name == "sqlite":

        @event.listens_for(writer, "connect")
        def _short_wait(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA busy_timeout=5000")

    stop = threading.Event()
    written: list[float] = []
    failed: list[str] = []

    def check_ins() -> None:
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                with Session(writer) as session:
                    session.add(Attendance(meeting_id=meeting_id, name=f"来宾{i}"))
                    session.commit()
                written.append(time.perf_counter() - started)
            except OperationalError as exc:
                failed.append(str(exc))
            i += 1
            time.sleep(0.005)

    # How long each of the import's transactions lasts (from BEGIN to COMMIT: an upper bound on
    # how long it holds the writer lock).
    commits: list[float] = []
    opened: dict[int, float] = {}

    @event.listens_for(file_engine, "begin")
    def _begin(conn) -> None:
        opened[id(conn)] = time.perf_counter()

    @event.listens_for(file_engine, "commit")
    def _commit(conn) -> None:
        if id(conn) in opened:
            commits.append(time.perf_counter() - opened.pop(id(conn)))

    thread = threading.Thread(target=check_ins)
    thread.start()
    started = time.perf_counter()
    try:
        result = import_file(file_engine, community_id, data)
    finally:
        stop.set()
        thread.join()
        writer.dispose()
    took = time.perf_counter() - started
    print(f"\n100k rows: {took:.1f} s, {len(commits)} transactions, longest {max(commits) * 1000:.0f} ms; "
          f"check-ins {len(written)} written (slowest {max(written) * 1000:.0f} ms), {len(failed)} failed")

    assert failed == []
    assert max(commits) < 5  # the lock is held for a chunk at a time, never for the whole file
    assert len(written) >= 20  # they really ran alongside the import
    assert result.created == 100_000
    with Session(file_engine) as session:
        assert session.exec(select(func.count()).select_from(Household)).one() == 100_000
        assert session.exec(select(func.count()).select_from(Ownership)).one() == 98_000
        assert session.exec(select(func.count()).select_from(Attendance)).one() == len(written)
    assert _jobs(file_engine) == [("applied", None)] and _staged(file_engine) == 0


# ---------------------------------------------------------------- through the upload page


@pytest.fixture
def web_db(demo_engine):
    with Session(demo_engine) as session:
        yield session


def test_applying_an_upload_while_another_import_is_written_is_refused(admin, web_db):
    before = households_of(web_db)
    preview = admin.post("/admin/households", data={"community": str(area(web_db, C1).id)},
                                  files={"file": ("register.csv", (FORM_HEADER + GOOD_ROWS).encode(), "text/csv")})
    assert preview.status_code == 200
    # Another import (another worker's, say) is being written now.
    busy = ImportJob(community_id=area(web_db, C1).id, digest="x", status="pending", total=10)
    web_db.add(busy)
    web_db.commit()
    response = apply_preview(admin, preview)
    assert response.status_code == 409
    assert "另一份户籍名册正在导入" in html(response).get_text()
    assert households_of(web_db) == before
    web_db.expire_all()
    assert web_db.exec(select(func.count()).select_from(AuditEntry)
                       .where(AuditEntry.action == "household_import")).one() == 0
    assert web_db.exec(select(func.count()).select_from(ImportJob)).one() == 1
    # Once it is done, the same preview applies, and is audited once.
    busy.status, busy.active = "applied", None
    web_db.add(busy)
    web_db.commit()
    assert apply_preview(admin, preview).status_code == 200
    assert households_of(web_db) == before + 3
    web_db.expire_all()
    assert web_db.exec(select(func.count()).select_from(AuditEntry)
                       .where(AuditEntry.action == "household_import")).one() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("crash_after", [None, 2])
def test_on_postgres_the_same_register_and_the_same_roll_forward(postgres_engine, reference, monkeypatch,
                                                                    crash_after):
    database.upgrade(postgres_engine)
    monkeypatch.setattr(journal, "CHUNK_ROWS", 2)
    community_id = _community(postgres_engine)
    import_file(postgres_engine, community_id, FIRST.encode())
    assert _register(postgres_engine, community_id) == reference[0]
    if crash_after is None:
        import_file(postgres_engine, community_id, SECOND.encode())
    else:
        with pytest.raises(Crash):
            import_file(postgres_engine, community_id, SECOND.encode(), after_chunk=_crash_after(crash_after))
        assert journal.resume_imports(postgres_engine) == 1
    assert _register(postgres_engine, community_id) == reference[1]


def test_an_owners_vote_does_not_open_on_a_register_half_written(facilitator, web_db):
    """Its electorate would be fixed from whatever part of an import had been written so far."""
    from forum.models import Vote, VoteElector
    from tests.test_votes import lift_issue

    issue = lift_issue(web_db)
    data = {"question": "加装电梯方案是否通过？", "kind": "for_against", "scope": "unit", "scope_building": "5",
            "scope_unit": "2", "counting_unit": "household", "weighting": "both", "rule": "owners_major",
            "closing": "facilitator"}
    vote_id = int(facilitator.post(f"/issues/{issue.id}/votes", data=data,
                                   follow_redirects=False).headers["location"].rsplit("/", 1)[1])
    busy = ImportJob(community_id=issue.community_id, digest="x", status="pending", total=10)
    web_db.add(busy)
    web_db.commit()
    refused = facilitator.post(f"/votes/{vote_id}/open", follow_redirects=False)
    assert refused.status_code == 422 and "正在导入更新" in html(refused).get_text()
    web_db.expire_all()
    assert web_db.get(Vote, vote_id).status == "draft"
    assert web_db.exec(select(func.count()).select_from(VoteElector).where(VoteElector.vote_id == vote_id)).one() == 0
    busy.status, busy.active = "applied", None
    web_db.add(busy)
    web_db.commit()
    assert facilitator.post(f"/votes/{vote_id}/open", follow_redirects=False).status_code == 303

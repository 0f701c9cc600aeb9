"""Large imports of the household register: journaled, written in chunks, rolled forward.

A 100k-line register written in one transaction held SQLite's only writer lock for a minute, and
every ballot and check-in made meanwhile failed with "database is locked". ``apply_journaled``
writes the same changes as ``apply_plan`` in transactions of CHUNK_ROWS steps each, with bulk
statements, so other writes wait milliseconds for the lock instead of failing.

All or nothing is kept by a journal, rolled FORWARD:
1. an ``ImportJob`` is recorded (status ``staging``; only one may be active at a time, enforced by
   a unique column, so a second import is refused with ``ImportBusy``);
2. the whole plan is copied into ``ImportStage`` in chunks, the register untouched; then the job
   becomes ``pending``. A crash before that leaves the register as it was: ``resume_imports``
   discards the half-staged job.
3. the staged steps are applied in ``seq`` order, CHUNK_ROWS per transaction, each transaction also
   moving the job's ``applied`` mark, so a chunk is written exactly once. A crash (or an error)
   half-way leaves the job ``pending``; ``resume_imports`` (run by ``forum serve`` and
   ``forum db upgrade`` on start) applies the rest, ending with the register as the whole file
   says; so does the next import once the job's progress has stood still for STALE_SECONDS.
   The last chunk marks the job ``applied`` and writes its audit entry in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.requests import HTTPConnection

from forum.db import session_scope
from forum.household_register.file import parse
from forum.household_register.plan import ImportResult, Plan, plan_import
from forum.i18n import N_
from forum.models import Household, ImportJob, ImportStage, Ownership, Person, now

CHUNK_ROWS = 500  # staged steps per transaction: each commit holds the writer lock for milliseconds
# An active import whose progress mark has not moved for this long was left by a process that died;
# the next import finishes it first. (A live one moves it every chunk, well under a second.)
STALE_SECONDS = 120

_ORDER = ("person_new", "person_phone", "household_new", "household_update", "owner_add", "owner_remove")


class ImportBusy(Exception):
    """Another register import is still being written; this one was not started."""


def _stage_rows(plan: Plan) -> list[dict]:
    """The plan as journal steps: new people and units first, then whose owner changes."""
    steps: list[dict] = []
    person_ref: dict[int, int] = {}  # id(_FilePerson) → its ref, for people not yet written
    for ref, fp in enumerate(plan.people):
        if fp.person is None:
            person_ref[id(fp)] = ref
            steps.append({"kind": "person_new", "person_ref": ref, "name": fp.name, "phone": fp.phone})
        elif fp.phone and fp.person.phone != fp.phone:
            steps.append({"kind": "person_phone", "person_id": fp.person.id, "phone": fp.phone})
    owner_steps: list[dict] = []
    for ref, unit in enumerate(plan.units):
        household = unit.household
        if household is None:
            building, unit_no, room = unit.key
            steps.append({"kind": "household_new", "household_ref": ref, "building": building, "unit": unit_no,
                          "room": room, "floor_area": unit.floor_area, "developer_held": unit.developer_held})
            where: dict = {"household_ref": ref}
            before: set[int] = set()
        else:
            if household.floor_area != unit.floor_area or household.developer_held != unit.developer_held:
                steps.append({"kind": "household_update", "household_id": household.id,
                              "floor_area": unit.floor_area, "developer_held": unit.developer_held})
            where = {"household_id": household.id}
            before = plan.current_owners.get(household.id, set())
        after = {fp.person.id for fp in unit.owners if fp.person is not None}
        for pid in sorted(after - before):
            owner_steps.append({"kind": "owner_add", "person_id": pid} | where)
        for fp in unit.owners:
            if fp.person is None:
                owner_steps.append({"kind": "owner_add", "person_ref": person_ref[id(fp)]} | where)
        for pid in sorted(before - after):
            owner_steps.append({"kind": "owner_remove", "person_id": pid} | where)
    return steps + owner_steps


def _start_job(engine: Engine, plan: Plan, actor: str) -> int:
    for attempt in range(2):  # a second time only after a stalled import was cleared
        try:
            with session_scope(engine) as session:
                job = ImportJob(community_id=plan.community_id, digest=plan.digest(), actor=actor[:60],
                                created=plan.created, updated=plan.updated)
                session.add(job)
                session.commit()
                assert job.id is not None
                # Now the only active import: had another been applied since the plan was made, the
                # plan's creates and removals would clash with it half-way, so it is made again.
                newer = session.exec(select(func.count()).select_from(ImportJob)
                                     .where(ImportJob.id > plan.last_job, ImportJob.status == "applied")).one()
                if newer:
                    _discard(engine, job.id)
                    raise ImportBusy(N_("Another register import was written meanwhile; upload the file again."))
                return job.id
        except IntegrityError:
            if attempt or not _recover_stale(engine):
                raise ImportBusy(N_(
                    "Another register import is still being written; try again when it has finished.")) from None
    raise AssertionError("unreachable")


def _recover_stale(engine: Engine) -> bool:
    """Finish (or, if it never reached the register, forget) an active import whose progress has
    stood still for STALE_SECONDS: the process writing it died. False if it is still moving."""
    jobs = ImportJob.__table__
    with engine.connect() as conn:
        job = conn.execute(select(jobs.c.id, jobs.c.status, jobs.c.progress_at)
                           .where(jobs.c.active.is_not(None))).first()
    if job is None:
        return True
    if job.progress_at > now() - timedelta(seconds=STALE_SECONDS):
        return False
    if job.status == "staging":
        _discard(engine, job.id)
    else:
        _run(engine, job.id)
    return True


def _stage(engine: Engine, job_id: int, steps: list[dict]) -> None:
    stage = ImportStage.__table__
    columns = [c.name for c in stage.columns if c.name not in ("job_id", "seq", "result_id")]
    for start in range(0, len(steps), CHUNK_ROWS):
        chunk = [{name: None for name in columns} | step | {"job_id": job_id, "seq": start + i}
                 for i, step in enumerate(steps[start:start + CHUNK_ROWS])]
        with engine.begin() as conn:
            conn.execute(update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id)
                         .values(progress_at=now()))
            conn.execute(insert(stage), chunk)
    with engine.begin() as conn:
        conn.execute(update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id)
                     .values(status="pending", total=len(steps)))


def _apply_chunk(conn: Connection, steps: Sequence, refs: dict[tuple[str, int], int]) -> None:
    """Write one chunk of staged steps (in the caller's transaction), kind by kind."""
    stage = ImportStage.__table__
    by_kind: dict[str, list] = {kind: [] for kind in _ORDER}
    for step in steps:
        by_kind[step.kind].append(step)

    def made(kind: str, target, rows: list, values: list[dict]) -> None:
        if not rows:
            return
        if conn.dialect.name == "sqlite":
            # RETURNING in parameter order costs SQLite one statement per row. This transaction
            # already holds the only writer lock (``_run`` moves the progress mark first), so the
            # rows above the current highest id are exactly these, numbered in insertion order.
            highest = conn.execute(select(func.coalesce(func.max(target.c.id), 0))).scalar_one()
            conn.execute(insert(target), values)
            ids = conn.execute(select(target.c.id).where(target.c.id > highest).order_by(target.c.id)).scalars().all()
        else:
            ids = conn.execute(insert(target).returning(target.c.id, sort_by_parameter_order=True),
                               values).scalars().all()
        ref_name = "person_ref" if kind == "person_new" else "household_ref"
        for row, new_id in zip(rows, ids, strict=True):
            refs[(kind, getattr(row, ref_name))] = new_id
        # Kept with the step, in this transaction, so a resumed import finds the rows it made.
        conn.execute(update(stage).where(stage.c.job_id == bindparam("j"), stage.c.seq == bindparam("s"))
                     .values(result_id=bindparam("r")),
                     [{"j": row.job_id, "s": row.seq, "r": new_id} for row, new_id in zip(rows, ids, strict=True)])

    person, household, ownership = Person.__table__, Household.__table__, Ownership.__table__
    made("person_new", person, by_kind["person_new"],
         [{"name": r.name, "phone": r.phone} for r in by_kind["person_new"]])
    if by_kind["person_phone"]:
        conn.execute(update(person).where(person.c.id == bindparam("pid")).values(phone=bindparam("new_phone")),
                     [{"pid": r.person_id, "new_phone": r.phone} for r in by_kind["person_phone"]])
    news = by_kind["household_new"]
    if news:
        community = conn.execute(select(ImportJob.__table__.c.community_id)
                                 .where(ImportJob.__table__.c.id == news[0].job_id)).scalar_one()
        made("household_new", household, news,
             [{"community_id": community, "building": r.building, "unit": r.unit, "room": r.room,
               "floor_area": r.floor_area, "developer_held": r.developer_held} for r in news])
    if by_kind["household_update"]:
        conn.execute(update(household).where(household.c.id == bindparam("hid"))
                     .values(floor_area=bindparam("area"), developer_held=bindparam("held")),
                     [{"hid": r.household_id, "area": r.floor_area, "held": r.developer_held}
                      for r in by_kind["household_update"]])

    def owner(r) -> dict:
        hid = r.household_id if r.household_id is not None else refs[("household_new", r.household_ref)]
        pid = r.person_id if r.person_id is not None else refs[("person_new", r.person_ref)]
        return {"hid": hid, "pid": pid}

    if by_kind["owner_add"]:
        conn.execute(insert(ownership).values(household_id=bindparam("hid"), person_id=bindparam("pid")),
                     [owner(r) for r in by_kind["owner_add"]])
    if by_kind["owner_remove"]:
        conn.execute(delete(ownership).where(ownership.c.household_id == bindparam("hid"),
                                             ownership.c.person_id == bindparam("pid")),
                     [owner(r) for r in by_kind["owner_remove"]])


def _finish(conn: Connection, job_id: int, request: HTTPConnection | None) -> None:
    """Mark the job applied and, for one started from the web, write its audit entry: once."""
    from forum import audit

    jobs = ImportJob.__table__
    job = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
    conn.execute(update(jobs).where(jobs.c.id == job_id)
                 .values(status="applied", active=None, applied=job.total, finished_at=now()))
    if job.actor:
        with Session(bind=conn) as session:
            audit.record(session, request, "household_import", "community", job.community_id,
                         f"{job.created} new, {job.updated} updated", community_id=job.community_id,
                         actor=None if request is not None else job.actor)
            session.flush()
    conn.execute(delete(ImportStage.__table__).where(ImportStage.__table__.c.job_id == job_id))


def _run(engine: Engine, job_id: int, request: HTTPConnection | None = None,
         after_chunk: Callable[[int], None] | None = None) -> ImportResult:
    """Apply a pending job's staged steps from where it stopped, CHUNK_ROWS per transaction."""
    stage, jobs = ImportStage.__table__, ImportJob.__table__
    with engine.connect() as conn:
        job = conn.execute(select(jobs).where(jobs.c.id == job_id)).one()
        refs = {(r.kind, r.person_ref if r.kind == "person_new" else r.household_ref): r.result_id
                for r in conn.execute(select(stage.c.kind, stage.c.person_ref, stage.c.household_ref,
                                             stage.c.result_id)
                                      .where(stage.c.job_id == job_id, stage.c.result_id.is_not(None)))}
    done, chunks = job.applied, 0
    while True:
        with engine.begin() as conn:
            # The progress mark first, so the transaction takes SQLite's writer lock before it reads:
            # a read first would make its upgrade to a writer fail ("database is locked") whenever
            # a check-in committed in between, and ``made`` relies on no other writer meanwhile.
            upto = min(done + CHUNK_ROWS, job.total)
            moved = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == "pending",
                                                    jobs.c.applied == done)
                                 .values(applied=upto, progress_at=now()))
            if moved.rowcount != 1:
                break  # another process took over this job (it looked stalled): it finishes it
            steps = conn.execute(select(stage).where(stage.c.job_id == job_id, stage.c.seq >= done,
                                                     stage.c.seq < upto).order_by(stage.c.seq)).all()
            _apply_chunk(conn, steps, refs)
            done = upto
            if done >= job.total:
                _finish(conn, job_id, request)
                break
        chunks += 1
        if after_chunk is not None:
            after_chunk(chunks)  # tests stop the import here, as a crash would
    return ImportResult(created=job.created, updated=job.updated)


def journal_steps(plan: Plan) -> list[dict]:
    """The plan as the steps ``apply_journaled`` stages. Taken while the session that planned is still
    in its transaction: a rollback would expire the people and units it names, and reading them back
    one by one would cost a query per row."""
    return _stage_rows(plan)


def apply_journaled(engine: Engine, plan: Plan, *, request: HTTPConnection | None = None, actor: str = "",
                    after_chunk: Callable[[int], None] | None = None,
                    steps: list[dict] | None = None) -> ImportResult:
    """Write ``plan`` in short transactions, all or nothing by rolling forward (see the module docstring).

    ``request`` (a web import) has the audit entry written, as the signed-in user, in the
    transaction that completes the import; ``actor`` names them should the import be finished by
    ``resume_imports`` instead. ``ImportBusy`` if another import is active: nothing is written.
    """
    if request is not None and not actor:
        user = getattr(request.state, "user", None)
        actor = getattr(user, "username", None) or "—"
    if steps is None:
        steps = _stage_rows(plan)
    job_id = _start_job(engine, plan, actor)
    try:
        _stage(engine, job_id, steps)
    except BaseException:
        _discard(engine, job_id)
        raise
    return _run(engine, job_id, request, after_chunk)


def _discard(engine: Engine, job_id: int) -> None:
    """Forget a job that never reached the register (staging did not finish)."""
    with engine.begin() as conn:
        conn.execute(delete(ImportStage.__table__).where(ImportStage.__table__.c.job_id == job_id))
        conn.execute(delete(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id))


def resume_imports(engine: Engine) -> int:
    """On start: finish every import a crash left half-applied, forget half-staged ones; the number
    finished. Run only where no import can be running (``forum serve`` / ``forum db upgrade``)."""
    jobs = ImportJob.__table__
    with engine.connect() as conn:
        active = conn.execute(select(jobs.c.id, jobs.c.status).where(jobs.c.active.is_not(None))).all()
    finished = 0
    for job_id, status in active:
        if status == "staging":
            _discard(engine, job_id)
        else:
            _run(engine, job_id)
            finished += 1
    return finished


def active_import(session: Session) -> ImportJob | None:
    """The import being written now, if any."""
    return session.exec(select(ImportJob).where(ImportJob.active.is_not(None))).first()


def import_file(engine: Engine, community_id: int, data: bytes, *,
                after_chunk: Callable[[int], None] | None = None) -> ImportResult:
    """Parse a register and import it all or nothing, in short transactions (``apply_journaled``),
    or raise ``ImportRefused`` (nothing staged, nothing written)."""
    rows = parse(data)
    with session_scope(engine) as session:
        plan = plan_import(session, community_id, rows)
    # The plan only read; the writes take their own short transactions.
    return apply_journaled(engine, plan, after_chunk=after_chunk)

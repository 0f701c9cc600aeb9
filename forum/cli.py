"""The ``forum`` command, its commands grouped below by concern: serving and the database, staff
sign-ins, residents' data (the household register, a person's data), the demo and the benchmarks."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from sqlmodel import Session, select

from forum import cli_admin, cli_bench, forms
from forum import db as database
from forum.models import Area, AreaKind, Role
from forum.settings import Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as e:  # a setting the environment got wrong: say which, no traceback
        raise click.ClickException(str(e)) from None


def _engine():
    return database.make_engine(_settings().database_url)


def _hall(host: str, port: int):
    """Where tablets join (FORUM_PUBLIC_URL, else this machine's LAN address when serving every
    interface), said on the console with a warning where no tablet could reach it."""
    from forum import hall

    where = hall.address(host, port, _settings().public_url)
    if where.join and where.configured:
        click.echo(f"tablets on the hall's network join at {where.join}")
    elif where.join:
        click.echo(f"FORUM_PUBLIC_URL is not set, so tablets join at this computer's address on the hall's "
                   f"network: {where.join} (on the same Wi-Fi; set FORUM_PUBLIC_URL to choose another)")
    if where.warning:
        click.echo(f"warning: {where.warning}", err=True)
    return where


def _serve(host: str, port: int, reload: bool = False, where=None, workers: int = 1) -> None:
    import dataclasses
    import os

    import uvicorn

    where = where or _hall(host, port)
    if workers > 1:
        from forum.server import serve_workers

        if where.public_url:
            os.environ["FORUM_PUBLIC_URL"] = where.public_url  # each worker reads the environment
        serve_workers(host, port, workers)
    elif reload:
        if where.public_url:
            os.environ["FORUM_PUBLIC_URL"] = where.public_url  # the reloading worker reads the environment
        uvicorn.run("forum.app:create_app", factory=True, host=host, port=port, reload=True)
    else:
        from forum.app import create_app
        from forum.server import serve

        serve(create_app(dataclasses.replace(_settings(), public_url=where.public_url)), host, port)


@click.group()
@click.version_option(package_name="forum")
def main() -> None:
    """forum: neighbourhood deliberation, from the weekly talk to the quarterly review."""


# ---------------------------------------------------------------- serving and the database


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes serving at once on this port (more than 1 needs FORUM_BROADCAST_URL).")
def serve(host: str, port: int, reload: bool, workers: int) -> None:
    """Serve forum (upgrading the database first, and finishing any import a crash interrupted)."""
    from forum import server

    settings = _settings()
    refusal = server.workers_refusal(workers, settings.broadcast_url)
    if refusal is None and reload and workers > 1:
        refusal = "--reload runs one worker; leave out --workers"
    if refusal:
        raise click.ClickException(refusal)
    for warning in (server.workers_warning(workers, settings.database_url),
                    server.broadcast_warning(settings.broadcast_url)):
        if warning:
            click.echo(f"warning: {warning}", err=True)
    if settings.broadcast_url:
        # Said here, plainly, rather than as a traceback from inside the first worker's start.
        from forum import redis_urn

        try:
            redis_urn.make(settings.broadcast_url, settings.broadcast_channel, settings.secret_batch,
                           declared_off=settings.redis_persistence_off)
        except redis_urn.RedisPersistenceError as refusal:
            raise click.ClickException(str(refusal)) from None
    engine = _engine()
    warning = server.connections_warning(workers, settings.database_connections,
                                         server.postgres_connections_available(engine))
    if warning:
        click.echo(f"warning: {warning}", err=True)
    database.upgrade(engine)
    _resume_imports(engine)
    where = _hall(host, port)
    cli_admin.offer_init(engine, where.public_url or f"http://127.0.0.1:{port}")
    engine.dispose()
    _serve(host, port, reload, where, workers)


@main.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    engine = _engine()
    database.upgrade(engine, revision)
    if revision == "head":
        _resume_imports(engine)
    click.echo(f"database at {revision}")


def _resume_imports(engine) -> None:
    """A register import a crash left half-written is finished now (all or nothing: see
    ``forum.household_register.journal``)."""
    from sqlalchemy import inspect

    from forum import household_register

    if not inspect(engine).has_table("importjob"):
        return  # a schema short of 0008 (or not upgraded here) has no import journal
    finished = household_register.resume_imports(engine)
    if finished:
        click.echo(f"finished {finished} interrupted household import(s)")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup_command(file: Path, force: bool) -> None:
    """Write a consistent copy of the database to FILE, also while the server runs."""
    from forum import backup

    try:
        click.echo(backup.backup(_settings().database_url, file, force=force))
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore_command(file: Path, force: bool) -> None:
    """Put the backup in FILE in place of the database (stop the server first), then upgrade it."""
    from forum import backup

    try:
        click.echo(backup.restore(_settings().database_url, file, force=force))
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None


# ---------------------------------------------------------------- staff sign-ins


@main.command()
@click.argument("username")
@click.option("--name", "display_name", help="Name shown to others (default: the username).")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.facilitator, show_default=True)
@click.option("--community", help="Slug of the user's community.")
@click.option("--password", help="Read from a prompt when left out.")
def createuser(username: str, display_name: str | None, role: str, community: str | None,
               password: str | None) -> None:
    """Create a staff sign-in: facilitator, committee member, liaison or admin."""
    from forum import auth

    engine = _engine()
    database.upgrade(engine)
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Again: "):
            raise click.ClickException("the passwords differ")
    if len(password) < 8:
        raise click.ClickException("a password needs at least 8 characters")
    with Session(engine) as session:
        community_id = None
        if community:
            area = session.exec(select(Area).where(Area.slug == community, Area.kind == AreaKind.community)).first()
            if area is None:
                raise click.ClickException(f"no community {community!r}")
            community_id = area.id
        try:
            auth.create_user(session, username=username, password=password, display_name=display_name or username,
                             role=role, community_id=community_id)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        session.commit()
    click.echo(f"created {role} {username}")


@main.group("user")
def user_group() -> None:
    """Staff sign-ins."""


def _set_disabled(username: str, disabled: bool) -> None:
    from forum import audit, sessions
    from forum.models import User

    engine = _engine()
    database.upgrade(engine)
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        if disabled:
            ended = sessions.disable(session, user)
            audit.record(session, None, "account_disable", "user", user.id, f"{ended} session(s) ended",
                         community_id=user.community_id)
        else:
            sessions.enable(session, user)
            audit.record(session, None, "account_enable", "user", user.id, community_id=user.community_id)
        session.commit()
    click.echo(f"{'disabled' if disabled else 'enabled'} {username}")


@user_group.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a sign-in: it is refused from now on and its sessions end on every device."""
    _set_disabled(username, True)


@user_group.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Let a disabled sign-in in again."""
    _set_disabled(username, False)


# ---------------------------------------------------------------- residents' data: household register, personal data


@main.group("import")
def import_group() -> None:
    """Bring data in from files."""


@import_group.command("households")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", required=True, help="Slug of the community the households belong to.")
@click.option("--dry-run", is_flag=True, help="Only say what the file would change; write nothing.")
def import_households(file: Path, community: str, dry_run: bool) -> None:
    """Import the household register (units and their owners) from a CSV (UTF-8 or GBK): all rows or none."""
    from forum import household_register as register

    engine = _engine()
    database.upgrade(engine)
    with Session(engine) as session:
        area = session.exec(select(Area).where(Area.slug == community, Area.kind == AreaKind.community)).first()
        if area is None:
            raise click.ClickException(f"no community {community!r}")
        try:
            plan = register.plan_import(session, area.id, register.parse(file.read_bytes()))
        except register.ImportRefused as refused:
            session.rollback()
            for e in refused.errors:
                text = e.message % e.params if e.params else e.message
                click.echo(f"{file}:{e.line}: {e.field or '-'}: {text}", err=True)
            raise click.ClickException(f"nothing imported: {len(refused.errors)} problem(s)") from None
        click.echo(f"{len(plan.new_units)} new units, {len(plan.area_changes)} floor areas changed, "
                   f"{len(plan.developer_changes)} developer marks changed, {len(plan.owners_added)} owners added, "
                   f"{len(plan.owners_removed)} owners removed, {plan.new_people} new people, "
                   f"{len(plan.phone_changes)} phones changed")
        if dry_run:
            session.rollback()
            click.echo("dry run: nothing written")
            return
    # The plan only read: the import writes in short transactions of its own.
    try:
        result = register.apply_journaled(engine, plan)
    except register.ImportBusy as busy:
        raise click.ClickException(f"nothing imported: {busy}") from None
    click.echo(f"imported {result.created} new and {result.updated} updated households into {community}")


@main.group("person")
def person_group() -> None:
    """A resident's personal data, on their request."""


def _person_or_fail(session: Session, person_id: int):
    from forum.models import Person

    person = session.get(Person, person_id) if 0 < person_id <= forms.DB_INT_MAX else None
    if person is None:
        raise click.ClickException(f"no person {person_id}")
    return person


@person_group.command("export")
@click.argument("person_id", type=int)
def person_export(person_id: int) -> None:
    """Print everything forum holds about a person, as JSON."""
    import json

    from forum import audit, people

    engine = _engine()
    database.upgrade(engine)
    with Session(engine) as session:
        person = _person_or_fail(session, person_id)
        data = people.export(session, person)
        audit.record(session, None, "person_export", "person", person.id,
                     community_id=people.community_of(session, person))
        session.commit()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@person_group.command("erase")
@click.argument("person_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def person_erase(person_id: int, yes: bool) -> None:
    """Replace a person's name, phone and flat with a placeholder; attendance and votes stay as counts."""
    from forum import audit, people

    engine = _engine()
    database.upgrade(engine)
    with Session(engine) as session:
        person = _person_or_fail(session, person_id)
        if not yes:
            click.confirm(f"Erase the personal data of person {person_id}? This cannot be undone", abort=True)
        changed = people.erase(session, person)
        audit.record(session, None, "person_erase", "person", person.id,
                     ", ".join(f"{k} {v}" for k, v in changed.items()),
                     community_id=people.community_of(session, person))
        session.commit()
    click.echo(f"erased person {person_id}: " + ", ".join(f"{v} {k}" for k, v in changed.items()))


# ---------------------------------------------------------------- the demo (the benchmarks: forum/cli_bench.py)


def _district(engine, seed: int, scale: float) -> None:
    """The district-year (forum.demo.district) with a progress bar on stderr, stage by stage."""
    from forum.demo.district import STAGES, build_district

    with click.progressbar(length=1000, label="district demo", file=sys.stderr, show_percent=True) as bar:
        done_before = {stage: sum(list(STAGES.values())[:i]) for i, stage in enumerate(STAGES)}

        def progress(stage: str, done: int, of: int) -> None:
            bar.label = f"district demo: {stage:<8}"
            target = int(1000 * (done_before[stage] + STAGES[stage] * done / max(of, 1)))
            bar.update(max(0, target - bar.pos))

        summary = build_district(engine, seed=seed, scale=scale, progress=progress)
    if not summary.created:
        click.echo("the district demo is there already: nothing added")
        return
    # Today's notices, as the daily `forum notify` would have written them: the owners of overdue
    # work and the committees chasing it see them in their header.
    from datetime import date

    from forum import notify

    with Session(engine) as session:
        notify.sweep(session, date.today())
        session.commit()
    counts = summary.counts
    click.echo(f"district demo: {summary.streets} streets, {summary.communities_in_district} communities, "
               f"{counts['meeting']:,} meetings, {counts['attendance']:,} participations, {counts['issue']:,} issues, "
               f"{counts['action']:,} actions, {counts['rating']:,} ratings, {counts['vote']:,} votes "
               f"({counts['vote_secret']:,} secret) in {summary.seconds:.0f} s (seed {seed})")
    click.echo("  its sign-ins (password demo1234): district, street-<street> (e.g. street-jiefangbei), "
               "fac-<community> and com-<community> (e.g. fac-shibati), liaison-1 … liaison-N")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only create the demo data.")
@click.option("--size", type=click.Choice(["small", "district"]), default="small", show_default=True,
              help="small: two communities told as stories; district: a district-year (79 communities, "
                   "~4,500 issues), around them.")
@click.option("--seed", default=2026, show_default=True, type=int,
              help="The district-year's random seed: the same seed on the same day gives the same data.")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(0.01, 1.0),
              help="Build this fraction of the district-year (a quick look, or a test).")
def demo(host: str, port: int, no_serve: bool, size: str, seed: int, scale: float) -> None:
    """Create (or upgrade) a database with a realistic demo community, then serve it."""
    from forum import demo as demo_data

    settings = _settings()
    engine = database.make_engine(settings.database_url)
    database.upgrade(engine)
    with Session(engine) as session:
        summary = demo_data.seed(session)
        session.commit()
    if size == "district":
        _district(engine, seed, scale)
    where = _hall(host, port)
    base = where.public_url or f"http://{host}:{port}"
    click.echo(f"forum demo — database {settings.database_url}")
    click.echo(f"  district overview   {base}/")
    if size == "district":
        click.echo(f"  district dashboard  {base}/a/yuzhong/dashboard")
    for slug in summary.communities:
        click.echo(f"  community           {base}/c/{slug}")
    click.echo(f"  tablets join at     {base}/join  (code shown on a live meeting's console and screen)")
    click.echo("  demo sign-ins (username / password / role):")
    for username, password, role in demo_data.DEMO_LOGINS:
        click.echo(f"    {username:<12} {password:<10} {role}")
    sys.stdout.flush()
    if not no_serve:
        _serve(host, port, where=where)


@main.command("notify")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Write one text file a person (USERNAME.txt) here instead of printing.")
def notify_command(out: Path | None) -> None:
    """Daily digest (for cron): write today's due and overdue notices, then each person's unread
    notices as an email-ready text."""
    from forum import notify
    from forum.lease import Lease
    from forum.models import now

    settings = _settings()
    engine = _engine()
    database.upgrade(engine)
    local = now()
    today = local.date()
    # Under the lease a running server sweeps with: never two sweeps at once, nor one an hour after a server's.
    written = notify.sweep_held(engine, Lease(engine, notify.LEASE_NAME, notify.EVERY), local, keep=False)
    if written is None:
        click.echo("today's notices were written by a running server within the hour")
        written = 0
    with Session(engine) as session:
        found = notify.digests(session, today, (settings.public_url or "http://127.0.0.1:8000").rstrip("/"),
                               settings.language)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for digest in found:
            (out / f"{digest.username}.txt").write_text(digest.text, encoding="utf-8")
        click.echo(f"{written} new notice(s); {len(found)} digest(s) written to {out}")
        return
    for digest in found:
        click.echo(f"==> {digest.username}")
        click.echo(digest.text)
    click.echo(f"{written} new notice(s); {len(found)} digest(s)")


cli_admin.register(main, import_group, user_group)  # init, area, committee, organisation, user add, imports
main.add_command(cli_bench.bench_group)  # forum bench live | vote | meetings | pages

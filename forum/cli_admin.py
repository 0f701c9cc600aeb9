"""The administration from the command line, for scripting and bulk set-up: ``forum init``,
``forum area …``, ``forum committee …``, ``forum organisation add``, ``forum user add`` and
``forum import areas|organisations``. The same rules and audit entries as the admin pages
(forum.areas, forum.administration, forum.accounts); refusals name the field and write nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlmodel import Session, select

from forum import accounts, administration, areas, audit, install, setup_import
from forum import db as database
from forum.areas import Invalid
from forum.models import AreaKind, Committee, CommitteeKind, Organisation, OrganisationKind, Role
from forum.settings import Settings


def _engine():
    try:
        settings = Settings.from_env()
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    engine = database.make_engine(settings.database_url)
    database.upgrade(engine)
    return engine


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the upgraded database; a refusal becomes a message, with nothing written."""
    engine = _engine()
    try:
        with Session(engine, expire_on_commit=False) as db:
            try:
                yield db
            except Invalid as refused:
                db.rollback()
                raise click.ClickException(f"nothing changed: {refused.english()}") from None
    finally:
        engine.dispose()


def _area(db: Session, slug: str, kind: str | None = None):
    found = areas.by_slug(db, slug, kind)
    if found is None:
        raise click.ClickException(f"no {kind or 'area'} with the address name {slug!r} (see forum area list)")
    return found


# ---------------------------------------------------------------- first run


def _ask_password(password: str | None) -> str:
    while password is None:
        typed = click.prompt("Password for the administrator (8 characters or more)", hide_input=True,
                             confirmation_prompt="The same again")
        if len(typed) >= accounts.PASSWORD_MIN:
            password = typed
        else:
            click.echo("A password needs at least 8 characters.", err=True)
    return password


def interactive() -> bool:
    """Someone is at the keyboard to answer questions (not a service manager or a pipe)."""
    return sys.stdin.isatty()


def run_init(engine, district: str | None, slug: str, username: str | None, display_name: str | None,
             password: str | None, base: str = "") -> None:
    district = district or click.prompt("The district's name (e.g. 渝中区)")
    if not username:  # asked for: their name too; given as a flag (a script): it stands for both
        username = click.prompt("Username of the first administrator", default="admin")
        display_name = display_name or click.prompt("Their name as others see it", default=username)
    password = _ask_password(password)
    with Session(engine, expire_on_commit=False) as db:
        try:
            done = install.init(db, district=district, username=username, display_name=display_name,
                                password=password, slug=slug)
        except Invalid as refused:
            raise click.ClickException(f"nothing changed: {refused.english()}") from None
        db.commit()
    click.echo(f"Set up {done.district.name} (address name {done.district.slug}) with the administrator "
               f"{done.admin.username}.")
    click.echo(f"Next: sign in at {base or 'http://<this computer>:8000'}/login and open Administration "
               "(/admin) to add streets, communities, committees, organisations and people.")


@click.command("init")
@click.option("--district", help="The district's name, such as 渝中区 (asked when left out).")
@click.option("--slug", default="", help="The district's address name (letters, digits, hyphens); made up if empty.")
@click.option("--admin", "username", help="Username of the first administrator (asked when left out).")
@click.option("--admin-name", "display_name", help="The administrator's name as others see it.")
@click.option("--password", help="The administrator's password (asked when left out).")
def init_command(district, slug, username, display_name, password) -> None:
    """Set up an empty database: the district and its first administrator."""
    engine = _engine()
    try:
        if not install.is_empty(engine):
            raise click.ClickException("this database is set up already: sign in as an administrator, or use "
                                       "forum area add and forum user add")
        run_init(engine, district, slug, username, display_name, password)
    finally:
        engine.dispose()


def offer_init(engine, base: str) -> None:
    """``forum serve`` on an empty database: ask for the district and an administrator when someone
    is at the keyboard; otherwise say how (the site's home page says it too)."""
    if not install.is_empty(engine):
        return
    if not interactive():
        click.echo("This database is empty: run `forum init` to name the district and create the first "
                   "administrator (or `forum demo` to try forum with demo data).", err=True)
        return
    if click.confirm("This database is empty. Set up your district and its first administrator now?", default=True):
        run_init(engine, None, "", None, None, None, base)


# ---------------------------------------------------------------- areas


@click.group("area")
def area_group() -> None:
    """The tree of areas: district, streets, communities."""


@area_group.command("add")
@click.argument("name")
@click.option("--parent", help="Address name of the district (for a street) or street (for a community); "
                               "left out: a new district.")
@click.option("--slug", default="", help="Its address name (letters, digits, hyphens); made up if empty.")
def area_add(name: str, parent: str | None, slug: str) -> None:
    """Add a district, a street or a community (its kind follows from its parent)."""
    with _session() as db:
        area = areas.create(db, name=name, parent=_area(db, parent) if parent else None, slug=slug)
        audit.record(db, None, "area_create", "area", area.id, f"{area.kind} {area.name} ({area.slug})",
                     community_id=area.id if area.kind == AreaKind.community else None)
        db.commit()
        click.echo(f"added {area.kind} {area.name} ({area.slug})")


@area_group.command("list")
@click.option("--archived", is_flag=True, help="Also the archived areas.")
def area_list(archived: bool) -> None:
    """The tree, one area a line: its address name, kind and name."""
    with _session() as db:
        for area, depth in areas.tree(db, archived=archived):
            mark = " (archived)" if area.archived_at else ""
            click.echo(f"{'  ' * depth}{area.slug:<24} {area.kind:<10} {area.name}{mark}")


def _change(slug: str, action: str, change: Callable) -> None:
    with _session() as db:
        area = _area(db, slug)
        detail = change(db, area)
        audit.record(db, None, action, "area", area.id, detail or area.name,
                     community_id=area.id if area.kind == AreaKind.community else None)
        db.commit()
        click.echo(f"{action.removeprefix('area_')}d {area.name}")


@area_group.command("rename")
@click.argument("slug")
@click.argument("name")
def area_rename(slug: str, name: str) -> None:
    """Give an area a new name (its address name stays)."""
    _change(slug, "area_rename", lambda db, area: f"{areas.rename(db, area, name)} → {area.name}")


@area_group.command("move")
@click.argument("slug")
@click.option("--parent", required=True, help="Address name of its new district or street.")
def area_move(slug: str, parent: str) -> None:
    """Move a community to another street, or a street to another district."""
    def move(db: Session, area) -> str:
        new = _area(db, parent)
        old = areas.move(db, area, new)
        return f"{old.name if old else '—'} → {new.name}"

    _change(slug, "area_move", move)


@area_group.command("archive")
@click.argument("slug")
def area_archive(slug: str) -> None:
    """Archive an area: out of lists and choices, its records kept."""
    _change(slug, "area_archive", areas.archive)


@area_group.command("restore")
@click.argument("slug")
def area_restore(slug: str) -> None:
    """Bring an archived area back into use."""
    _change(slug, "area_restore", areas.restore)


# ---------------------------------------------------------------- committees and organisations


@click.group("committee")
def committee_group() -> None:
    """A community's "3+3" committees and their members."""


@committee_group.command("add")
@click.argument("community")
def committee_add(community: str) -> None:
    """Set up the "3+3" committees of COMMUNITY (address name), adding those it lacks."""
    with _session() as db:
        area = _area(db, community, AreaKind.community)
        added = administration.ensure_committees(db, area)
        if added:
            audit.record(db, None, "committee_create", "area", area.id, "、".join(c.name for c in added),
                         community_id=area.id)
        db.commit()
        click.echo(f"{len(added)} committee(s) added to {area.name}")


@committee_group.command("member")
@click.argument("community")
@click.argument("kind", type=click.Choice([k.value for k in CommitteeKind]))
@click.argument("name")
@click.option("--phone", default="")
@click.option("--chair", is_flag=True, help="They chair the committee.")
def committee_member(community: str, kind: str, name: str, phone: str, chair: bool) -> None:
    """Add NAME to the KIND committee of COMMUNITY."""
    with _session() as db:
        area = _area(db, community, AreaKind.community)
        committee = db.exec(select(Committee).where(Committee.community_id == area.id, Committee.kind == kind)).first()
        if committee is None:
            raise click.ClickException(f"{area.name} has no {kind} committee: run forum committee add {community}")
        administration.add_member(db, committee, name=name, phone=phone, chair=chair)
        audit.record(db, None, "member_add", "committee", committee.id, f"{name}{' (chair)' if chair else ''}",
                     community_id=area.id)
        db.commit()
        click.echo(f"added {name} to {committee.name}")


@click.group("organisation")
def organisation_group() -> None:
    """Departments, property companies and social organisations."""


@organisation_group.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice([k.value for k in OrganisationKind]))
@click.option("--phone", default="")
@click.option("--community", "communities", multiple=True, help="Address name of a community it serves (repeat).")
@click.option("--liaison", "liaisons", multiple=True, help="A liaison's name (repeat).")
def organisation_add(name: str, kind: str, phone: str, communities: tuple[str, ...], liaisons: tuple[str, ...]) -> None:
    """Add an organisation, the communities it serves and its liaisons."""
    with _session() as db:
        served = [_area(db, slug, AreaKind.community) for slug in communities]
        organisation = administration.create_organisation(db, name=name, kind=kind, phone=phone, communities=served)
        for liaison in liaisons:
            administration.add_liaison(db, organisation, name=liaison)
        audit.record(db, None, "organisation_create", "organisation", organisation.id, organisation.name)
        db.commit()
        click.echo(f"added {organisation.name}: serves {len(served)} communities, {len(liaisons)} liaison(s)")


# ---------------------------------------------------------------- accounts


@click.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--scope", help="Address name of the community, street or district the role is held in "
                              "(left out: the whole installation, for admins and liaisons).")
@click.option("--name", "display_name", help="Name shown to others (default: the username).")
@click.option("--committee", type=click.Choice([k.value for k in CommitteeKind]),
              help="A committee member's committee, in the --scope community.")
@click.option("--organisation", help="A liaison's organisation, by name.")
@click.option("--password", help="Left out: one is made up and printed once.")
def user_add(username, role, scope, display_name, committee, organisation, password) -> None:
    """Create a staff account with a role held in a scope."""
    with _session() as db:
        area = _area(db, scope) if scope else None
        found_committee = db.exec(select(Committee).where(Committee.community_id == area.id, Committee.kind ==
                                                          committee)).first() if committee and area else None
        if committee and found_committee is None:
            raise click.ClickException(f"no {committee} committee in {scope or 'that scope'}")
        found_organisation = db.exec(select(Organisation).where(Organisation.name == organisation)).first() \
            if organisation else None
        if organisation and found_organisation is None:
            raise click.ClickException(f"no organisation {organisation!r}")
        user, made = accounts.create(db, username=username, display_name=display_name or username, password=password
                                     or "", grant=accounts.Grant(role, area, found_committee, found_organisation))
        audit.record(db, None, "account_create", "user", user.id, accounts.describe(db, user),
                     community_id=user.community_id)
        db.commit()
        click.echo(f"created {role} {username} in {area.name if area else 'the whole installation'}")
        if not password:
            click.echo(f"password (shown once): {made}")


# ---------------------------------------------------------------- imports


def _import(file: Path, dry_run: bool, load: Callable, action: str) -> None:
    with _session() as db:
        try:
            result = load(db, file.read_bytes())
        except setup_import.Refused as refused:
            db.rollback()
            for e in refused.errors:
                click.echo(f"{file}:{e.line}: {e.field or '-'}: {e.english()}", err=True)
            raise click.ClickException(f"nothing imported: {len(refused.errors)} problem(s)") from None
        summary = (f"{len(result.created)} areas added, {result.existing} there already"
                   if isinstance(result, setup_import.AreasResult) else
                   f"{len(result.created)} organisations added, {len(result.updated)} updated, "
                   f"{result.liaisons} liaisons added")
        if dry_run:
            db.rollback()
            click.echo(f"{summary}\ndry run: nothing written")
            return
        audit.record(db, None, action, "", None, f"{file.name}: {summary}")
        db.commit()
        click.echo(summary)


@click.command("areas")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the file and say what it would add.")
def import_areas(file: Path, dry_run: bool) -> None:
    """Import the area tree from a CSV (columns 区,街道,社区,地址名; UTF-8 or GBK): all lines or none."""
    _import(file, dry_run, setup_import.import_areas, "areas_import")


@click.command("organisations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the file and say what it would change.")
def import_organisations(file: Path, dry_run: bool) -> None:
    """Import organisations from a CSV (名称,类型,电话,服务社区,联络人,联络人电话; UTF-8 or GBK): all or none."""
    _import(file, dry_run, setup_import.import_organisations, "organisations_import")


def register(main: click.Group, import_group: click.Group, user_group: click.Group) -> None:
    """Adds these commands to ``forum``."""
    for command in (init_command, area_group, committee_group, organisation_group):
        main.add_command(command)
    user_group.add_command(user_add)
    import_group.add_command(import_areas)
    import_group.add_command(import_organisations)

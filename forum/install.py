"""The first run: an empty database gets its district and its first administrator.

``forum init`` (or ``forum serve`` on an empty database, when someone is at the keyboard) asks for
both, or takes them from flags; the administrator then signs in and sets up streets, communities,
committees, organisations and people in the browser (/admin). The first administrator holds the
whole installation, so a second district can be added later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from forum import accounts, areas, audit
from forum.areas import Invalid
from forum.i18n import N_
from forum.models import Area, Role, User


@dataclass(frozen=True)
class Installed:
    district: Area
    admin: User
    password: str


def is_empty(engine: Engine) -> bool:
    """No area and no account yet (a database not upgraded yet is empty too)."""
    if not inspect(engine).has_table("area"):
        return True
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(Area)).one() == 0 and \
            db.exec(select(func.count()).select_from(User)).one() == 0


def suggest_slug(name: str) -> str:
    """An address name from the letters of a name written in Latin letters ("Yuzhong District" →
    "yuzhong-district"); "" for a Chinese name, which then gets one made up from its id."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[: areas.SLUG_MAX]
    return slug if areas.SLUG_RE.fullmatch(slug) else ""


def init(db: Session, *, district: str, username: str, display_name: str, password: str = "",
         slug: str = "") -> Installed:
    """The district and its first administrator, in the caller's transaction; refused (by field)
    once the database holds any area or account."""
    if db.exec(select(func.count()).select_from(Area)).one() or db.exec(select(func.count()).select_from(User)).one():
        raise Invalid({"database": (N_("This database is set up already: sign in as an administrator and "
                                       "continue in the browser, or use forum area add and forum user add."), {})})
    problems = Invalid()
    try:
        area = areas.create(db, name=district, parent=None, slug=slug or suggest_slug(district))
    except Invalid as refused:
        problems.problems |= {("district" if k == "name" else k): v for k, v in refused.problems.items()}
        area = None
    try:
        admin, password = accounts.create(db, username=username, display_name=display_name or username,
                                          grant=accounts.Grant(role=Role.admin), password=password)
    except Invalid as refused:
        problems.problems |= refused.problems
    problems.raise_if_any()
    assert area is not None
    audit.record(db, None, "install_init", "area", area.id, f"{area.name}; {admin.username}", actor=admin)
    return Installed(area, admin, password)

"""Staff accounts: create one, give it a role with a scope, disable it, reset its password.

A role is held in an area (forum.scopes): a facilitator of a community, or of a whole street; a
committee member of their committee's community; a liaison of their organisation, anywhere or in
an area; an admin of a district, a street or a community, or of the whole installation. Who may
do this to whom is forum.auth's question; this module checks that what is asked makes sense, and
writes nothing when it does not (``Invalid``, by field). The caller records and commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlmodel import Session, func, select

from forum import auth, scopes, sessions
from forum.areas import Invalid, one_line
from forum.i18n import N_
from forum.models import Area, AreaKind, Committee, Organisation, Role, User

USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,59}")
DISPLAY_MAX = 60
PASSWORD_MIN = 8
# No 0/O, 1/l/I: a password read out over the phone or copied from paper comes through.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

# The kinds of area each role may be held in (None: the whole installation).
SCOPE_KINDS: dict[Role, tuple[str | None, ...]] = {
    Role.facilitator: (AreaKind.community, AreaKind.street, AreaKind.district),
    Role.committee: (AreaKind.community,),
    Role.liaison: (None, AreaKind.community, AreaKind.street, AreaKind.district),
    Role.admin: (None, AreaKind.community, AreaKind.street, AreaKind.district),
}


def new_password() -> str:
    """A password to hand over once (“k7dm-x3qa-pt9w”); its holder changes it after signing in."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


@dataclass(frozen=True)
class Grant:
    """A role as asked for, before it is checked."""

    role: str
    scope: Area | None = None
    committee: Committee | None = None
    organisation: Organisation | None = None


def check_grant(db: Session, grant: Grant, problems: Invalid) -> None:
    """The role exists, its scope is an area in use of a kind it may be held in, and it has what it
    needs: a committee member their committee (in the scope's community), a liaison their
    organisation."""
    if grant.role not in Role.__members__:
        problems.add("role", N_("Choose a role from the list."))
        return
    role = Role(grant.role)
    scope_kind = grant.scope.kind if grant.scope is not None else None
    if grant.scope is not None and grant.scope.archived_at is not None:
        problems.add("scope", N_("That area is archived; choose one in use."))
    elif scope_kind not in SCOPE_KINDS[role]:
        problems.add("scope", {
            Role.facilitator: N_("A facilitator works in a community, a street or a district: choose one."),
            Role.committee: N_("A committee member belongs to a community: choose it."),
        }.get(role, N_("Choose where the role is held.")))
    if role == Role.committee:
        if grant.committee is None:
            problems.add("committee", N_("Choose the committee they sit on."))
        elif grant.scope is not None and grant.committee.community_id != grant.scope.id:
            problems.add("committee", N_("Choose a committee of that community."))
    if role == Role.liaison and grant.organisation is None:
        problems.add("organisation", N_("Choose the organisation they speak for."))


def _apply(user: User, grant: Grant) -> None:
    role = Role(grant.role)
    scope = grant.scope
    user.role = role
    user.scope_id = scope.id if scope is not None else None
    # Pages that know only a user's community keep working: it is the scope when that is one.
    user.community_id = scope.id if scope is not None and scope.kind == AreaKind.community else None
    user.committee_id = grant.committee.id if role == Role.committee and grant.committee else None
    user.organisation_id = grant.organisation.id if role == Role.liaison and grant.organisation else None


def check_username(db: Session, problems: Invalid, username: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        problems.add("username", N_("A username has 2 to 60 letters a–z, digits, dots, hyphens or underscores, "
                                    "like wang.li or facilitator2."))
    elif db.exec(select(User.id).where(func.lower(User.username) == username.lower())).first() is not None:
        problems.add("username", N_("The username %(username)s is taken."), username=username)


def create(db: Session, *, username: str, display_name: str, grant: Grant, password: str = "") -> tuple[User, str]:
    """A new account; returns it with its password (the one given, or a new one to hand over)."""
    problems = Invalid()
    username = username.strip()
    display_name = one_line(display_name, DISPLAY_MAX)
    check_username(db, problems, username)
    if not display_name:
        problems.add("display_name", N_("Give the name others will see, like 王丽 or 陈书记."))
    elif len(display_name) > DISPLAY_MAX:
        problems.add("display_name", N_("A name has at most %(n)d characters."), n=DISPLAY_MAX)
    if password and len(password) < PASSWORD_MIN:
        problems.add("password", N_("A password needs at least %(n)d characters."), n=PASSWORD_MIN)
    check_grant(db, grant, problems)
    problems.raise_if_any()
    password = password or new_password()
    user = User(username=username, password_hash=auth.hash_password(password), display_name=display_name,
                role=Role(grant.role))
    _apply(user, grant)
    db.add(user)
    db.flush()
    return user, password


def change_role(db: Session, user: User, grant: Grant, *, by: User | None = None) -> str:
    """Gives the account another role or scope; returns what it held, for the audit log. Nobody
    changes their own (an admin could lock themselves out): another admin does."""
    problems = Invalid()
    if by is not None and by.id == user.id:
        problems.add("role", N_("You cannot change your own role; ask another administrator."))
    check_grant(db, grant, problems)
    problems.raise_if_any()
    before = describe(db, user)
    _apply(user, grant)
    db.add(user)
    db.flush()
    return before


def disable(db: Session, user: User, *, by: User | None = None) -> int:
    """Signs in no more; every session ends. Returns how many ended."""
    if by is not None and by.id == user.id:
        raise Invalid({"disable": (N_("You cannot disable your own account; ask another administrator."), {})})
    return sessions.disable(db, user)


def reset_password(db: Session, user: User) -> tuple[str, int]:
    """A new password to hand over; every session of the account ends. Returns it and how many ended."""
    password = new_password()
    user.password_hash = auth.hash_password(password)
    db.add(user)
    return password, sessions.end_all(db, user.id, "password")


def describe(db: Session, user: User) -> str:
    """“facilitator @ 解放碑街道”: a role and where it is held, for the audit log."""
    scope = scopes.scope_of(user)
    area = db.get(Area, scope) if scope is not None else None
    return f"{user.role} @ {area.name if area else '*'}"


def in_scope(db: Session, scope_id: int | None) -> list[User]:
    """The accounts whose role is held inside the scope (``None``: all), by name."""
    users = list(db.exec(select(User).order_by(User.display_name, User.id)))
    if scope_id is None:
        return users
    held = {u.id: scopes.scope_of(u) for u in users}
    return [u for u in users if held[u.id] is not None and scopes.within(scope_id, auth.area_chain(db, held[u.id]))]

"""Staff sign-in: enough to tell a facilitator or committee member from a resident.

Passwords are hashed with argon2. The signed session cookie carries only the user's id;
residents never sign in (they join meetings by code).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from forum.models import Role, User

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not a password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def create_user(session: Session, *, username: str, password: str, display_name: str, role: Role | str,
                community_id: int | None = None, committee_id: int | None = None,
                organisation_id: int | None = None) -> User:
    if session.exec(select(User).where(User.username == username)).first():
        raise ValueError(f"user {username!r} exists already")
    user = User(username=username, password_hash=hash_password(password), display_name=display_name,
                role=Role(role), community_id=community_id, committee_id=committee_id,
                organisation_id=organisation_id)
    session.add(user)
    return user


def can_run_meetings(user: User | None) -> bool:
    return user is not None and user.role in (Role.facilitator, Role.admin)


def can_triage(user: User | None) -> bool:
    return user is not None and user.role in (Role.facilitator, Role.committee, Role.admin)


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == Role.admin


def runs_meetings_in(user: User | None, community_id: int | None) -> bool:
    """Runs that community's meetings and votes: its facilitators, and admins."""
    return can_run_meetings(user) and acts_for(user, community_id)


def triages_in(user: User | None, community_id: int | None) -> bool:
    """Moves that community's issues: its facilitators and committee members, and admins."""
    return can_triage(user) and acts_for(user, community_id)


def acts_for(user: User | None, community_id: int | None) -> bool:
    """Staff act in their own community; admins, and staff not tied to one community, in any."""
    if user is None:
        return False
    return is_admin(user) or user.community_id is None or user.community_id == community_id

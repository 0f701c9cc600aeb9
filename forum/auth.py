"""Staff sign-in: enough to tell a facilitator or committee member from a resident.

Passwords are hashed with argon2. The signed session cookie carries a session token checked
against the database on every request (forum.sessions); residents never sign in (they join
meetings by code). Sign-in is throttled by forum.views.account before any hashing here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from forum import scopes
from forum.models import Area, Attendance, Meeting, MeetingStatus, Role, User

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not a password")
# Each argon2 hash takes 64 MiB while it runs: forty sign-ins at once took the server from 200 MB
# to over 1.1 GB. At most this many hash at a time; the others wait their turn in the threadpool.
HASHING_AT_ONCE = 2
_hashing = threading.BoundedSemaphore(HASHING_AT_ONCE)
# And at most this many wait for their turn: each waits on a threadpool thread, and a flood of
# sign-ins must not take the threads every other page needs. Beyond it, sign-in says "busy".
SIGNIN_QUEUE = 8
_queue = threading.BoundedSemaphore(SIGNIN_QUEUE)


class Busy(Exception):
    """Too many sign-ins at once; the caller asks the person to try again in a moment."""


def hash_password(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def check_password(session: Session, username: str, password: str) -> User | None:
    """The user whose password this is (disabled or not), else None. Raises ``Busy`` when too many
    sign-ins are waiting to be hashed already."""
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if not _queue.acquire(blocking=False):
        raise Busy
    try:
        with _hashing:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    finally:
        _queue.release()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user, if the password is theirs and the account is not disabled."""
    user = check_password(session, username, password)
    return user if user is not None and user.disabled_at is None else None


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


def sees_personal_data(user: User | None, community_id: int | None) -> bool:
    """Reads that community's personal data: residents' names and flats, and the name of a person
    who owns a follow-up action (forum.owner_privacy). The community's staff (its facilitators and
    committee members) and admins. A liaison speaks for an outside organisation and is tied to no
    community, which ``acts_for`` alone would take for every one."""
    return community_id is not None and can_triage(user) and acts_for(user, community_id)


def acts_for(user: User | None, community_id: int | None) -> bool:
    """Staff act in the communities of their role's scope (forum.scopes): their community, or every
    community of their street or district; admins, and staff of no community, held over the whole
    installation, in any."""
    if user is None:
        return False
    scope = scopes.scope_of(user)
    if scope is None or scope == community_id:
        return True
    return community_id is not None and scopes.within(scope, chain_of(user, community_id))


def administers(user: User | None, area_id: int | None) -> bool:
    """An admin whose scope holds that area (``None``: the whole installation's admin only)."""
    if not is_admin(user):
        return False
    scope = scopes.scope_of(user)
    return scope is None or (area_id is not None and scopes.within(scope, chain_of(user, area_id)))


def changes_area(user: User | None, area_id: int) -> bool:
    """Renames, moves or archives that area: an admin whose scope lies above it (a street's
    admin changes its communities; the street itself is the district's admin's)."""
    return is_admin(user) and scopes.may_change(scopes.scope_of(user), chain_of(user, area_id))


def manages(user: User | None, other: User) -> bool:
    """Changes another account (role, scope, disabling, password): an admin whose scope holds the
    scope that account's role is held in."""
    held = scopes.scope_of(other)
    return is_admin(user) and scopes.may_manage(scopes.scope_of(user), None if held is None else chain_of(user, held))


def area_chain(db: Session, area_id: int) -> tuple[int, ...]:
    """The area and its ancestors, nearest first (empty for no such area; cut at a cycle)."""
    chain: list[int] = []
    area = db.get(Area, area_id)
    while area is not None and area.id not in chain and len(chain) <= scopes.MAX_DEPTH:
        chain.append(area.id)
        area = db.get(Area, area.parent_id) if area.parent_id is not None else None
    return tuple(chain)


def chain_of(user: User, area_id: int) -> tuple[int, ...]:
    """``area_chain`` through the session the user was loaded in (every request loads its user in
    its own), so permission checks keep their one-argument shape; the session's identity map
    makes repeated checks free. A user in no session reaches only their own scope's area."""
    db = object_session(user)
    return area_chain(db, area_id) if isinstance(db, Session) else (area_id,)



def can_run(user: User | None, meeting: Meeting) -> bool:
    """Facilitators run their own community's meetings (one without a community, any); admins, all."""
    return runs_meetings_in(user, meeting.community_id)


# ---------------------------------------------------------------- devices in the hall
# Residents never sign in: a tablet is known by a random token in a cookie, matched against
# Attendance.device_token, and the meeting's shared tablet by a mark staff put in its session.

DEVICE_COOKIE = "forum_device"
# What forum hands out (secrets.token_urlsafe(24)); anything else in the cookie is nobody.
_DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,64}")
# The session key that makes a device a meeting's shared tablet: {"meeting": id, "by": name}.
# Only staff set it, and setting it signs them out on that device.
SHARED_TABLET_SESSION = "kiosk"  # its first name, kept: shared tablets stay signed in across an upgrade


def device_token(cookies: Mapping[str, str]) -> str | None:
    """The device's token from its cookie, if it has the shape forum gives."""
    token = cookies.get(DEVICE_COOKIE)
    return token if token and _DEVICE_TOKEN.fullmatch(token) else None


def device_attendance(db: Session, cookies: Mapping[str, str], meeting_id: int | None) -> Attendance | None:
    """Who this device speaks for: its check-in at that meeting; with no meeting named, its latest
    check-in at a meeting that has not ended. The one way from a device to a person (the tablet,
    its ballot page, the vote page's named ballots, a slip's link)."""
    token = device_token(cookies)
    if token is None:
        return None
    query = select(Attendance).where(Attendance.device_token == token)
    if meeting_id is not None:
        return db.exec(query.where(Attendance.meeting_id == meeting_id)).first()
    return db.exec(query.join(Meeting, Attendance.meeting_id == Meeting.id)
                   .where(Meeting.status != MeetingStatus.ended).order_by(Attendance.id.desc())).first()


def is_shared_tablet_of(session: Mapping, meeting_id: int | None) -> bool:
    """This device is the shared tablet of that meeting."""
    mark = session.get(SHARED_TABLET_SESSION)
    return isinstance(mark, dict) and meeting_id is not None and mark.get("meeting") == meeting_id


def sees_dashboard(user: User | None, area_id: int | None) -> bool:
    """The dashboards count the public record (issues, meetings, attendance): anyone may see them,
    as they may see the lists behind every number. Figures that are not public (follow-up work by
    person, issue #12) belong behind a check of their own here, such as ``acts_for``."""
    return True

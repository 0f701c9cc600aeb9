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
from sqlmodel import Session, select

from forum.models import Attendance, Meeting, MeetingStatus, Role, User

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


def acts_for(user: User | None, community_id: int | None) -> bool:
    """Staff act in their own community; admins, and staff not tied to one community, in any."""
    if user is None:
        return False
    return is_admin(user) or user.community_id is None or user.community_id == community_id


def can_run(user: User | None, meeting: Meeting) -> bool:
    """Facilitators run their own community's meetings (one without a community, any); admins, all."""
    return runs_meetings_in(user, meeting.community_id)


# ---------------------------------------------------------------- devices in the hall
# Residents never sign in: a tablet is known by a random token in a cookie, matched against
# Attendance.device_token, and the meeting's shared tablet by a mark staff put in its session.

DEVICE_COOKIE = "forum_device"
# What forum hands out (secrets.token_urlsafe(24)); anything else in the cookie is nobody.
_DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,64}")
# The session key that makes a device a meeting's shared tablet (kiosk): {"meeting": id, "by": name}.
# Only staff set it, and setting it signs them out on that device.
KIOSK_SESSION = "kiosk"


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


def is_kiosk_of(session: Mapping, meeting_id: int | None) -> bool:
    """This device is the shared tablet of that meeting."""
    kiosk = session.get(KIOSK_SESSION)
    return isinstance(kiosk, dict) and meeting_id is not None and kiosk.get("meeting") == meeting_id

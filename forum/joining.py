"""How a device enters a meeting: the join code on the wall, and the pass it gives a device.

A device checks in to a meeting only with that meeting's current join code, and only while the
meeting is open for joining (planned or in session, with a code). The code is ten digits: a
tablet's number pad types it, and 10¹⁰ codes against a few guesses a minute per address and per
meeting leaves a guesser no chance within a meeting's life. Typing (or scanning) the code at
/join gives the device a pass in its signed session cookie: the meeting, the code it was given
for, and until when. Checking in reads the pass and compares its code with the meeting's code
*now*, so a code the facilitator has replaced stops working at once, even on devices that were
given it a minute ago.

Guesses are counted with :mod:`forum.throttle` per address (``join:addr:…``) and, where the
meeting is named (its tablet page), per meeting (``join:meeting:…``). A code typed at /join names
no meeting, so a wrong one there counts against the address only; the codes are long enough for
that (see README, "Who may vote").
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request

from forum import throttle
from forum.i18n import gettext
from forum.models import Meeting, MeetingStatus, now

CODE_DIGITS = 10
CODE_RE = re.compile(rf"^\d{{{CODE_DIGITS}}}$")
# What people put between digits when they copy a code: spaces, dashes, dots.
_SEPARATORS = re.compile(r"[\s\-.·]+")
# Failed codes before an address, or everyone at one meeting, waits for the window to end.
BY_ADDRESS = throttle.Limit(attempts=10, seconds=10 * 60)
BY_MEETING = throttle.Limit(attempts=60, seconds=10 * 60)
# Check-ins a meeting's devices make themselves: a hall of 2,000 joins over some minutes, a script
# with the code makes thousands in seconds (and every push re-renders every attendee). Past this
# rate further self check-ins wait, and the console says how many were refused.
SELF_CHECKINS = throttle.Limit(attempts=300, seconds=60)
# How long a device may take from typing the code to checking in with its name.
PASS_MINUTES = 30
PASS_SESSION = "join_pass"


def normalise(raw: str) -> str:
    return _SEPARATORS.sub("", str(raw or ""))[:40]


def grouped(code: str | None) -> str:
    """"4829130275" as the hall reads it: "482 913 0275"."""
    code = code or ""
    return " ".join(p for p in (code[:3], code[3:6], code[6:]) if p)


def new_join_code(db: Session) -> str:
    """Ten digits no other meeting holds (the column is unique, so ended meetings count too)."""
    for _attempt in range(50):
        code = f"{secrets.randbelow(9 * 10 ** (CODE_DIGITS - 1)) + 10 ** (CODE_DIGITS - 1)}"
        if db.exec(select(Meeting.id).where(Meeting.join_code == code)).first() is None:
            return code
    raise RuntimeError("no free join code")  # pragma: no cover - 9·10⁹ codes


def open_for_joining(meeting: Meeting) -> bool:
    return bool(meeting.join_code) and meeting.status in (MeetingStatus.planned, MeetingStatus.live)


def matches(meeting: Meeting, code: str) -> bool:
    return open_for_joining(meeting) and bool(code) and hmac.compare_digest(code.encode(), meeting.join_code.encode())


def find_by_code(db: Session, code: str) -> Meeting | None:
    if not CODE_RE.match(code):
        return None
    meeting = db.exec(select(Meeting).where(Meeting.join_code == code)).first()
    return meeting if meeting is not None and open_for_joining(meeting) else None


def keys(request: Request, meeting: Meeting | None = None) -> list[str]:
    out = [f"join:addr:{throttle.address_of(request)}"]
    if meeting is not None:
        out.append(f"join:meeting:{meeting.id}")
    return out


def wait_seconds(db: Session, request: Request, meeting: Meeting | None, at: datetime | None = None) -> int:
    """Seconds until this address (and this meeting's joiners) may try a code again."""
    address, *by_meeting = keys(request, meeting)
    wait = throttle.retry_after(db, [address], BY_ADDRESS, at)
    if by_meeting:
        wait = max(wait, throttle.retry_after(db, by_meeting, BY_MEETING, at))
    return wait


def record_failure(db: Session, request: Request, meeting: Meeting | None, at: datetime | None = None) -> None:
    address, *by_meeting = keys(request, meeting)
    throttle.failed(db, [address], BY_ADDRESS, at)
    if by_meeting:
        throttle.failed(db, by_meeting, BY_MEETING, at)


def _checkin_keys(meeting: Meeting) -> tuple[str, str]:
    return f"checkin:meeting:{meeting.id}", f"checkin-refused:meeting:{meeting.id}"


def admit_self_check_in(db: Session, meeting: Meeting, at: datetime | None = None) -> bool:
    """Count one self check-in at ``meeting``; False (and counted as refused) past the rate. The
    caller commits."""
    taken, refused = _checkin_keys(meeting)
    if throttle.retry_after(db, [taken], SELF_CHECKINS, at):
        throttle.failed(db, [refused], SELF_CHECKINS, at)
        return False
    throttle.failed(db, [taken], SELF_CHECKINS, at)
    return True


def refused_check_ins(db: Session, meeting: Meeting, at: datetime | None = None) -> int:
    """Self check-ins refused in the current window: what the facilitator is told of a flood."""
    from forum.models import ThrottleCount

    row = db.get(ThrottleCount, _checkin_keys(meeting)[1])
    at = at or now()
    if row is None or row.window_start <= at - timedelta(seconds=SELF_CHECKINS.seconds):
        return 0
    return row.failures


def wait_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return gettext("Too many wrong codes from here. Please wait %(n)d minutes and try again, or ask the "
                   "facilitator.") % {"n": minutes}


# ---------------------------------------------------------------- the pass a device carries


def give_pass(session: Any, meeting: Meeting, at: datetime | None = None) -> None:
    until = (at or now()) + timedelta(minutes=PASS_MINUTES)
    session[PASS_SESSION] = {"meeting": meeting.id, "code": meeting.join_code, "until": until.isoformat()}


def pass_code(session: Any, meeting: Meeting, at: datetime | None = None) -> str:
    """The code this device was given for ``meeting``, if its pass has not run out ("" if none)."""
    held = session.get(PASS_SESSION)
    if not isinstance(held, dict) or held.get("meeting") != meeting.id:
        return ""
    try:
        until = datetime.fromisoformat(str(held.get("until")))
    except ValueError:
        return ""
    return str(held.get("code") or "") if (at or now()) <= until else ""


def has_pass(session: Any, meeting: Meeting, at: datetime | None = None) -> bool:
    return matches(meeting, pass_code(session, meeting, at))


def check_entry(db: Session, request: Request, meeting: Meeting, typed: str, at: datetime | None = None
                ) -> tuple[int, str] | None:
    """May this device check in to ``meeting`` now? None if so, else (HTTP status, what to tell it).

    The code is the one typed on the meeting's page (``typed``), else the one its pass carries.
    A wrong or missing code counts as a guess, against the address and the meeting; while either
    is over its limit even the right code is refused. The caller commits either way.
    """
    if not open_for_joining(meeting):
        return 403, gettext("This meeting is not open for joining.")
    code = normalise(typed) or pass_code(request.session, meeting, at)
    wait = wait_seconds(db, request, meeting, at)
    if wait:
        return 429, wait_message(wait)
    if not matches(meeting, code):
        record_failure(db, request, meeting, at)
        if not code:
            return 403, gettext("Enter the meeting code shown in the hall first.")
        return 403, gettext("That is not this meeting's code. Check the code shown in the hall.")
    # Failures are not forgiven on a success: whoever knows one meeting's code could otherwise
    # reset their count between guesses at another's.
    give_pass(request.session, meeting, at)
    return None


def rotate(db: Session, meeting: Meeting) -> str:
    """A new code for the meeting; the old one stops working at once. Forgets the meeting's
    failed guesses, so that a flood of wrong codes cannot keep the hall out."""
    meeting.join_code = new_join_code(db)
    db.add(meeting)
    throttle.clear(db, [f"join:meeting:{meeting.id}"])
    return meeting.join_code

"""Who a device speaks for, and who may cast a binding ballot.

A resident who checks in on a tablet types a name and, perhaps, a flat: anyone can type anyone's
flat, so a self-declared flat takes part in the meeting and in consultations but casts no binding
ballot. A resident is **verified** for a household (and, where the register names them, a person)
for one meeting's attendance in one of two ways, each recorded in a ``Verification`` row (who,
when, how, by whom; revocable):

* **a household slip**: staff print an A4 sheet of slips for a building, one per household with
  its owners named and a one-time code (and its QR). The code is 10 characters from an alphabet
  without look-alikes (29¹⁰ ≈ 2⁴⁸·⁶), stored only as a hash, single-use, expiring after
  ``SLIP_DAYS`` (setting ``FORUM_SLIP_DAYS``), and wrong codes are throttled per address;
* **the facilitator**, who checks the resident's ID at the desk against the register.

Votes of those present count an attendance only when staff checked it in, the facilitator
admitted it, it is verified, or the vote says guests count (``counts_present``).

``refusal`` is the one rule every casting path asks (the tablets' batches, the single cast, the
shared tablet, paper): a **binding** vote (an owners' rule, a household/building/unit/community
scope, or one ballot per household) accepts a ballot only from a verified resident of the
ballot's household (or person), the holder of a recorded proxy, the shared tablet opened for a
verified resident, or a paper ballot staff enter with its serial.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session, col, select
from starlette.requests import Request

from forum import throttle
from forum.counting import Rule
from forum.i18n import N_, gettext
from forum.models import (
    Attendance,
    Household,
    HouseholdSlip,
    Meeting,
    Ownership,
    Person,
    Verification,
    Vote,
    VoteElectorUnit,
    VoteStatus,
    now,
)

if TYPE_CHECKING:
    from forum.votes import TabletCast, VoteRefused

# No 0/O, 1/I/L, U/V pairs: what an elderly resident reads off paper, they type right.
SLIP_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
SLIP_LENGTH = 10
SLIP_DAYS = 90
SLIP_LIMIT = throttle.Limit(attempts=10, seconds=15 * 60)  # wrong slip codes per address
_SEPARATORS = re.compile(r"[\s\-.·]+")
SLIP_SESSION = "slip_code"  # a code scanned from a slip's QR, kept on the device until it is used

OWNERS_RULES = (Rule.OWNERS_ORDINARY, Rule.OWNERS_MAJOR)
METHODS = {"slip": N_("household slip"), "register": N_("ID checked by staff")}

UNVERIFIED = N_("This vote binds owners: only a verified owner's ballot counts, and this tablet is not verified "
                "for that household. Enter the code on your household slip on this tablet (“Verify with a "
                "household slip”), or ask the facilitator to check your ID and verify you.")
SHARED_TABLET_UNVERIFIED = N_("The shared tablet opens a binding vote's ballot only for a resident verified at this "
                      "meeting (by household slip, or by the facilitator with their ID).")


# ---------------------------------------------------------------- who counts, who may cast


def is_binding(vote: Vote) -> bool:
    """Votes limited to owners or households: what the law lets only owners decide."""
    return (vote.rule in OWNERS_RULES or vote.scope in ("community", "building", "unit")
            or vote.counting_unit == "household")


def counts_present(vote: Vote, attendance: Attendance) -> bool:
    """Whether an attendance is one of those present who vote in an attendance-scope vote."""
    return vote.guests_count or attendance.admitted or attendance.verified


def vouched(attendance: Attendance) -> bool:
    """Its household and person come from the register, not from what a device typed."""
    return attendance.verified or attendance.checked_in_by != "self"


def may_reuse(existing: Attendance, by: str, device_token: str | None) -> bool:
    """May a check-in with the same name and flat as ``existing`` become it (one person, one
    attendance)? A self check-in only where nobody vouched for it and no other device holds it,
    else typing a name would inherit someone's ballot; staff only where staff or a verification
    vouched for it, else a stranger's device would inherit staff's word; a slip always (it proves
    who they are)."""
    if by == "slip":
        return True
    if by == "self":
        return not vouched(existing) and not existing.admitted and existing.device_token in (None, device_token)
    return vouched(existing)


def keys_spoken_for(db: Session, vote: Vote, attendance: Attendance) -> set[str]:
    """The voter keys a verified attendance may cast in ``vote``: its own (the owner its household
    and person are counted under, as forum.electorate decides), never the developer's."""
    from forum import electorate

    if not attendance.verified:
        return set()
    keys = {electorate.voter_key_for(db, vote, attendance)}
    if attendance.person_id:
        keys.add(electorate.key_for_person(db, vote, attendance.person_id))
    return keys - {None, electorate.DEVELOPER_KEY}


def refusal(db: Session, vote: Vote, voter_key: str, via: str, attendance: Attendance | None = None, *,
            verified_present: bool = False, serial: str | None = None) -> VoteRefused | None:
    """The one rule of who may cast ``voter_key``'s ballot in ``vote`` by ``via``; None if allowed.

    ``attendance`` is the tablet's (tablet, proxy); ``verified_present`` says whether a verified
    attendance of this voter is at the vote's meeting (the shared tablet)."""
    from forum.votes import VoteRefused

    if not is_binding(vote):
        return None
    if via == "paper":
        return None if serial else VoteRefused("no_serial", N_("A paper ballot needs its serial number."), "serial")
    if via == "proxy":
        return None  # the proxy was recorded by staff; the casting path checked this tablet holds it
    if via == "kiosk":
        return None if verified_present else VoteRefused("unverified", SHARED_TABLET_UNVERIFIED, "voter")
    if attendance is not None and voter_key in keys_spoken_for(db, vote, attendance):
        return None
    return VoteRefused("unverified", UNVERIFIED, "voter")


def verified_keys(db: Session, vote: Vote) -> set[str]:
    """The voter keys that residents verified at the vote's meeting speak for."""
    if vote.meeting_id is None:
        return set()
    rows = db.exec(select(Attendance).where(Attendance.meeting_id == vote.meeting_id, Attendance.verified)).all()
    return set().union(*(keys_spoken_for(db, vote, a) for a in rows))


def verified_at_meeting(db: Session, vote: Vote, voter_key: str) -> bool:
    """Whether a resident verified at the vote's meeting speaks for ``voter_key``. Asked on every
    shared-tablet ballot, so it looks only at the attendances that could: those of the key's units,
    of their owners, or of the key's person — not at everyone verified in the hall."""
    if vote.meeting_id is None:
        return False
    households = set(db.exec(select(VoteElectorUnit.household_id).where(VoteElectorUnit.vote_id == vote.id,
                                                                        VoteElectorUnit.voter_key == voter_key)))
    number = int(voter_key[1:]) if voter_key[1:].isdigit() else None
    if number is not None and voter_key.startswith("h"):
        households.add(number)
    people = set(db.exec(select(Ownership.person_id).where(col(Ownership.household_id).in_(sorted(households)))))
    if number is not None and voter_key.startswith("p"):
        people.add(number)
    if not households and not people:
        return False
    candidates = db.exec(select(Attendance).where(
        Attendance.meeting_id == vote.meeting_id, Attendance.verified,
        col(Attendance.household_id).in_(sorted(households)) | col(Attendance.person_id).in_(sorted(people)))).all()
    return any(voter_key in keys_spoken_for(db, vote, a) for a in candidates)


def check_ballot(db: Session, vote: Vote, voter_key: str, *, via: str, attendance: Attendance | None = None,
                 serial: str | None = None) -> None:
    """Raise VoteRefused unless ``refusal`` allows this ballot (one query, for the shared tablet)."""
    present = via == "kiosk" and is_binding(vote) and verified_at_meeting(db, vote, voter_key)
    refused = refusal(db, vote, voter_key, via, attendance, verified_present=present, serial=serial)
    if refused is not None:
        raise refused


def check_tablets(db: Session, vote: Vote, batch: Sequence[TabletCast]) -> None:
    """``refusal`` for each ballot of a batch that is otherwise in order (a tablet's verification
    is on its attendance; which owner it speaks for is the electorate's)."""
    for t in batch:
        if t.refused is None and t._ballot is not None:
            t.refused = refusal(db, vote, t.voter_key, "proxy" if t._ballot.proxy else "tablet", t.attendance)
        elif t.refused is not None and t.refused.code == "ineligible" and is_binding(vote) \
                and not t.attendance.verified:
            # A self-declared resident finds no ballot of their own: say how to get one.
            t.refused = refusal(db, vote, t.voter_key, "tablet", t.attendance)


def shared_tablet_voters(db: Session, vote: Vote, electors: Sequence) -> list:
    """The voters the facilitator may open the shared tablet for: in a binding vote, those
    verified at its meeting (one query); else all who have not voted."""
    if not is_binding(vote) or vote.meeting_id is None:
        return list(electors)
    keys = verified_keys(db, vote)
    return [e for e in electors if e.voter_key in keys]


def late_arrival(db: Session, meeting: Meeting, attendance: Attendance) -> None:
    """Someone admitted or verified while a vote of those present is open joins its electorate
    now, so the facilitator's shared-tablet list offers them. Commits."""
    from forum import votes

    db.commit()
    for vote in db.exec(select(Vote).where(Vote.meeting_id == meeting.id, Vote.status == VoteStatus.open,
                                           Vote.scope == "attendance")).all():
        if counts_present(vote, attendance):
            votes.add_late_attendee(db, vote, attendance)


# ---------------------------------------------------------------- verifying an attendance


def verify(db: Session, attendance: Attendance, household: Household, person: Person | None, *, method: str,
           by: str, slip: HouseholdSlip | None = None, at: datetime | None = None) -> Verification:
    """Record that ``attendance`` is ``person`` of ``household``; its household and person follow.
    The caller commits."""
    attendance.household_id, attendance.person_id = household.id, person.id if person else None
    attendance.building, attendance.unit, attendance.room = household.building, household.unit, household.room
    attendance.is_guest, attendance.verified, attendance.admitted = False, True, True
    db.add(attendance)
    record = Verification(meeting_id=attendance.meeting_id, attendance_id=attendance.id, household_id=household.id,
                          person_id=person.id if person else None, method=method, slip_id=slip.id if slip else None,
                          verified_at=at or now(), verified_by=by[:60])
    db.add(record)
    return record


def revoke(db: Session, attendance: Attendance, *, by: str, at: datetime | None = None) -> int:
    """Withdraw an attendance's verifications; returns how many. The caller commits."""
    active = db.exec(select(Verification).where(Verification.attendance_id == attendance.id,
                                                col(Verification.revoked_at).is_(None))).all()
    for record in active:
        record.revoked_at, record.revoked_by = at or now(), by[:60]
        db.add(record)
    attendance.verified = False
    # Nor admitted any longer to votes of those present, unless staff checked them in.
    attendance.admitted = attendance.checked_in_by not in ("self", "slip")
    db.add(attendance)
    return len(active)


def verifications_of(db: Session, meeting: Meeting) -> dict[int, Verification]:
    """Each attendance's standing verification at a meeting (for the console)."""
    rows = db.exec(select(Verification).where(Verification.meeting_id == meeting.id,
                                              col(Verification.revoked_at).is_(None))
                   .order_by(Verification.id)).all()
    return {v.attendance_id: v for v in rows}


# ---------------------------------------------------------------- household slips


def new_slip_code() -> str:
    return "".join(secrets.choice(SLIP_ALPHABET) for _ in range(SLIP_LENGTH))


def normalise_slip(raw: str) -> str:
    return _SEPARATORS.sub("", str(raw or "")).upper()[:40]


def slip_groups(code: str) -> str:
    """"K7M3PX9QRT" as printed: "K7M3P X9QRT"."""
    return f"{code[:5]} {code[5:]}"


def hash_code(code: str) -> str:
    return hashlib.sha256(f"forum-slip:{normalise_slip(code)}".encode()).hexdigest()


@dataclass(frozen=True)
class PrintedSlip:
    household: Household
    owners: list[Person]
    code: str  # shown once, on the printed sheet; only its hash is kept
    expires_at: datetime


def issue_slips(db: Session, community_id: int, building: str, unit: str = "", *, by: str,
                days: int = SLIP_DAYS, at: datetime | None = None) -> list[PrintedSlip]:
    """A new slip for every household of a building (or one unit of it). A household's earlier
    unused slips are revoked, so only the sheet printed last works. The caller commits.

    The developer's unsold or undelivered units get none: together they are one owner (the
    developer, forum.electorate), whose ballot comes by paper or proxy, and a slip would only
    verify whoever lives there for a ballot they do not hold."""
    at = at or now()
    q = select(Household).where(Household.community_id == community_id, Household.building == building,
                                col(Household.developer_held).is_(False))
    if unit:
        q = q.where(Household.unit == unit)
    households = list(db.exec(q.order_by(Household.unit, Household.room)))
    if not households:
        return []
    ids = [h.id for h in households]
    db.execute(update(HouseholdSlip).where(col(HouseholdSlip.household_id).in_(ids),
                                           col(HouseholdSlip.used_at).is_(None),
                                           col(HouseholdSlip.revoked_at).is_(None))
               .values(revoked_at=at, revoked_by=by[:60]))
    owners: dict[int, list[Person]] = {i: [] for i in ids}
    for household_id, p in db.exec(select(Ownership.household_id, Person).join(Person, Person.id == Ownership.person_id)
                                   .where(col(Ownership.household_id).in_(ids)).order_by(Person.id)):
        owners[household_id].append(p)
    expires = at + timedelta(days=days)
    printed = []
    for h in households:
        code = new_slip_code()
        db.add(HouseholdSlip(household_id=h.id, code_hash=hash_code(code), created_at=at, created_by=by[:60],
                             expires_at=expires))
        printed.append(PrintedSlip(h, owners[h.id], code, expires))
    return printed


def revoke_slip(db: Session, slip: HouseholdSlip, *, by: str, at: datetime | None = None) -> None:
    if slip.revoked_at is None and slip.used_at is None:
        slip.revoked_at, slip.revoked_by = at or now(), by[:60]
        db.add(slip)


class SlipRefused(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def slip_keys(request: Request) -> list[str]:
    return [f"slip:addr:{throttle.address_of(request)}"]


def find_slip(db: Session, request: Request, community_id: int, raw: str, at: datetime | None = None
              ) -> HouseholdSlip:
    """The usable slip a code names; raises SlipRefused (and counts the guess) otherwise."""
    at = at or now()
    wait = throttle.retry_after(db, slip_keys(request), SLIP_LIMIT, at)
    if wait:
        raise SlipRefused(gettext("Too many wrong slip codes from here. Please wait %(n)d minutes, or ask the "
                                  "facilitator.") % {"n": max(1, -(-wait // 60))})
    code = normalise_slip(raw)
    slip = None
    if len(code) == SLIP_LENGTH and all(c in SLIP_ALPHABET for c in code):
        slip = db.exec(select(HouseholdSlip).where(HouseholdSlip.code_hash == hash_code(code))).first()
    household = db.get(Household, slip.household_id) if slip else None
    problem = None
    if slip is None or household is None or household.community_id != community_id:
        problem = gettext("This slip code is not known. A slip code has 10 letters and digits, like %(example)s; "
                          "check it, or ask the facilitator.") % {"example": "K7M3P X9QRT"}
    elif slip.revoked_at is not None:
        problem = gettext("This slip has been withdrawn. Ask the facilitator for a new one.")
    elif slip.used_at is not None:
        problem = gettext("This slip has been used already. Each slip verifies once; ask the facilitator.")
    elif slip.expires_at < at:
        problem = gettext("This slip has expired. Ask the facilitator for a new one.")
    if problem is not None:
        throttle.failed(db, slip_keys(request), SLIP_LIMIT, at)
        raise SlipRefused(problem)
    return slip


def use_slip(db: Session, slip: HouseholdSlip, at: datetime | None = None) -> None:
    """Mark the slip used, once: of two devices entering it at the same moment, one wins."""
    done = db.execute(update(HouseholdSlip).where(HouseholdSlip.id == slip.id, col(HouseholdSlip.used_at).is_(None),
                                                  col(HouseholdSlip.revoked_at).is_(None))
                      .values(used_at=at or now()))
    if done.rowcount != 1:
        raise SlipRefused(gettext("This slip has been used already. Each slip verifies once; ask the facilitator."))

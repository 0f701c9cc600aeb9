"""What staff enter on a vote's console: a show of hands, a proxy, and the shared tablet opened
for one voter at a time. (Paper ballots are cast as any ballot is, ``via="paper"``.)"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

from sqlalchemy import func, update
from sqlmodel import Session, select

from forum import forms, secrecy, verification
from forum.counting import CountingError, Kind, Rule
from forum.electorate import compute_electorate, voter_key_for
from forum.i18n import N_, gettext
from forum.models import Attendance, Vote, VoteElector, VoteProxy, VoteStatus, VoteTally, now
from forum.votes.casting import Cast, cast, has_voted
from forum.votes.choices import VoteRefused, choice_text, choices_of, needs_area
from forum.votes.lifecycle import castable
from forum.votes.results import stored_hands, tally_result
from forum.votes.trail import audit

HANDS_MAX = 100000
NOTE_MAX = 200


# ---------------------------------------------------------------- a show of hands


def hands_of_present_allowed(vote: Vote) -> bool:
    """Whether hands of people present who are not checked in may be counted: in a consultation, or
    a vote of those present by person. A binding vote of households or owners needs eligible voters."""
    return vote.rule == Rule.CONSULTATION or (vote.scope == "attendance" and vote.counting_unit == "person")


def set_hands(db: Session, vote: Vote, raw: dict[str, str], *, actor: str, present: bool = False) -> dict[str, str]:
    """Record a show-of-hands count; returns errors by field (``hands-<choice>``). Caller commits.

    ``present``: the hands are of people present who are not checked in, recorded as such (where
    :func:`hands_of_present_allowed`); otherwise they are eligible voters' without a ballot."""
    if vote.status != VoteStatus.open:
        return {"hands": gettext("Hands are counted while the vote is open.")}
    if needs_area(vote):
        return {"hands": gettext("A show of hands counts heads only; this vote weighs floor area.")}
    if vote.kind == Kind.SEVERAL_OF:
        return {"hands": gettext("A show of hands cannot be entered for a several-of vote.")}
    hands, errors = _read_hands(vote, raw)
    if errors:
        return errors
    if present and not hands_of_present_allowed(vote):
        return {"hands": gettext("Hands of people who are not checked in count only in a consultation or a vote "
                                 "of those present; this vote needs eligible voters: check them in first.")}
    problem = _hands_problem(db, vote, hands, present)
    if problem:
        return {"hands": problem}
    old = stored_hands(vote)[0] or {}
    vote.hands = json.dumps({"present": hands} if present else hands) if any(hands.values()) else ""
    db.add(vote)
    change = "，".join(f"{choice_text(vote, k)} {old.get(k, 0)} → {n}" for k, n in hands.items())
    if present:
        change = gettext("%(n)d hands of people present, not checked in: %(change)s") % {
            "n": sum(hands.values()), "change": change}
    audit(db, vote, actor, "hands", change)
    return {}


def _read_hands(vote: Vote, raw: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """The count for each choice (blank: 0), and the errors by field."""
    hands: dict[str, int] = {}
    errors: dict[str, str] = {}
    for key, _label in choices_of(vote):
        n = forms.int_param(raw.get(key, "").strip() or "0")  # None too for what the database cannot hold
        if n is None or n < 0 or n > HANDS_MAX:
            errors[f"hands-{key}"] = gettext("A whole number of hands, 0 or more.")
        else:
            hands[key] = n
    return hands, errors


def _hands_problem(db: Session, vote: Vote, hands: dict[str, int], present: bool) -> str | None:
    """Why these hands cannot be added to the vote's count, if they cannot."""
    try:
        if not present and vote.secret and sum(hands.values()) > _heads_without_ballot(db, vote):
            # Ballots received and waiting to be written are ballots: their voters raise no hand.
            raise CountingError("too_many_hands", "more hands than voters without a ballot or one waiting")
        tally_result(db, vote, hands=hands, present=present)
    except CountingError as e:
        if e.code == "too_many_hands" and hands_of_present_allowed(vote):
            return gettext("More hands than eligible voters without a ballot. If people who are not "
                           "checked in raised their hands, record them as people present.")
        if e.code == "too_many_hands":
            return gettext("More hands than eligible voters without a ballot.")
        return gettext("This count cannot be added to this vote.")
    return None


def _heads_without_ballot(db: Session, vote: Vote) -> int:
    eligible = db.exec(select(func.coalesce(func.sum(VoteElector.heads), 0))
                       .where(VoteElector.vote_id == vote.id)).one()
    counted = db.exec(select(func.coalesce(func.sum(VoteTally.heads), 0)).where(VoteTally.vote_id == vote.id)).one()
    return eligible - counted - secrecy.waiting_heads(db, vote.id)


# ---------------------------------------------------------------- proxies


def record_proxy(db: Session, vote: Vote, principal_key: str, holder: Attendance | None, *, actor: str,
                 note: str = "") -> dict[str, str]:
    errors: dict[str, str] = {}
    if vote.status == VoteStatus.closed:
        return {"principal": gettext("This vote is closed.")}
    electorate = {e.voter_key: e for e in (db.exec(select(VoteElector).where(VoteElector.vote_id == vote.id))
                                           if vote.status == VoteStatus.open else compute_electorate(db, vote))}
    principal = electorate.get(principal_key)
    if principal is None:
        errors["principal"] = gettext("Choose an eligible voter who gives the proxy.")
    elif has_voted(db, vote, principal_key):
        errors["principal"] = gettext("This voter has voted already.")
    elif db.get(VoteProxy, (vote.id, principal_key)) is not None:
        errors["principal"] = gettext("A proxy for this voter is recorded already.")
    if holder is None or holder.meeting_id != vote.meeting_id:
        errors["holder"] = gettext("Choose a person checked in at this meeting to hold the proxy.")
    elif principal is not None and voter_key_for(db, vote, holder) == principal_key:
        errors["holder"] = gettext("A voter cannot hold their own proxy.")
    if len(note) > NOTE_MAX:
        errors["note"] = gettext("At most %(n)d characters.") % {"n": NOTE_MAX}
    if errors:
        return errors
    db.add(VoteProxy(vote_id=vote.id, principal_key=principal_key, holder_attendance_id=holder.id, note=note,
                     recorded_by=actor))
    audit(db, vote, actor, "proxy", gettext("%(principal)s authorised %(holder)s to vote for them.")
          % {"principal": principal.label, "holder": holder.name})
    return {}


# ---------------------------------------------------------------- the shared tablet


def open_shared_tablet(db: Session, vote: Vote, voter_key: str, *, actor: str) -> str | None:
    """Show a ballot for one voter on the shared tablet; returns an error or None. Caller commits."""
    if not castable(vote, now()):
        return gettext("This vote is not open.")
    elector = db.get(VoteElector, (vote.id, voter_key))
    if elector is None:
        return gettext("Choose an eligible voter.")
    if has_voted(db, vote, voter_key):
        return gettext("This voter has voted already.")
    try:
        verification.check_ballot(db, vote, voter_key, via="kiosk")
    except VoteRefused as refused:
        return refused.text()
    vote.kiosk_voter, vote.kiosk_nonce = voter_key, secrets.token_urlsafe(12)
    db.add(vote)
    if not vote.secret:
        audit(db, vote, actor, "kiosk", gettext("Shared tablet opened for %(v)s.") % {"v": elector.label})
    # A secret vote's trail names nobody the shared tablet was opened for, and has no entry per
    # opening: its batches' entries count the ballots that came from the shared tablet.
    return None


def cast_at_shared_tablet(db: Session, vote: Vote, nonce: str, selection: Sequence[str], *, staff: str) -> Cast:
    if not nonce or vote.kiosk_nonce != nonce or not vote.kiosk_voter:
        raise VoteRefused("shared_tablet_moved",
                          N_("This ballot is no longer open on this tablet; ask the facilitator."))
    key = vote.kiosk_voter
    result = cast(db, vote, key, selection, via="kiosk", cast_by=staff)
    # Only clear it if nobody opened the tablet for the next voter in the meantime.
    db.execute(update(Vote).where(Vote.id == vote.id, Vote.kiosk_nonce == nonce)
                .values(kiosk_voter=None, kiosk_nonce=None))
    db.commit()
    db.refresh(vote)
    return result

"""The staff audit log: every change of state by staff, and every sign-in attempt, as one row.

Views call :func:`record` once per change, in the same transaction as the change itself, so a
change that is rolled back leaves no entry and a committed one always has its entry:

    audit.record(db, request, "issue_move", "issue", issue.id, "accepted → on_agenda",
                 community_id=issue.community_id)

Who comes from the signed-in user (or ``actor=`` where there is none yet, as for a refused
sign-in), where from is the client's address, when is the clock. Nothing here updates or deletes
an entry: the log is append-only. Votes keep their own public trail (``VoteAudit``) as well;
this log is the cross-cutting record admins read at ``/admin/audit``.

New kinds of change (role changes, verifications …) add their action name and label to
``ACTIONS`` and call ``record``; the page lists and filters them with no other change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select
from starlette.requests import HTTPConnection

from forum import forms
from forum.i18n import N_
from forum.models import AuditEntry, User, now
from forum.throttle import address_of

# The kinds of change, with what the log page calls them.
ACTIONS: dict[str, str] = {
    "signin": N_("Signed in"),
    "signin_refused": N_("Sign-in refused"),
    "signout": N_("Signed out"),
    "password": N_("Password changed"),
    "account_disable": N_("Account disabled"),
    "account_enable": N_("Account enabled"),
    "role_change": N_("Role changed"),
    "verify": N_("Resident verified"),
    "issue_raise": N_("Issue raised"),
    "issue_move": N_("Issue moved"),
    "issue_schedule": N_("Issue put on an agenda"),
    "issue_outside": N_("Issue marked as needing outside parties"),
    "agenda_draft": N_("Proposed agenda taken"),
    "issue_rate": N_("Issue rated at the review"),
    "action_create": N_("Action agreed"),
    "action_progress": N_("Progress noted"),
    "action_status": N_("Action status changed"),
    "action_reassign": N_("Action reassigned"),
    "action_due": N_("Due date moved"),
    "action_photo": N_("Photo added to an action"),
    "series_create": N_("Series created"),
    "meeting_create": N_("Meeting scheduled"),
    "agenda_add": N_("Agenda entry added"),
    "agenda_move": N_("Agenda entry moved"),
    "agenda_remove": N_("Agenda entry removed"),
    "agenda_minutes": N_("Planned minutes changed"),
    "room_start": N_("Meeting started"),
    "room_end": N_("Meeting ended"),
    "room_next": N_("Next agenda entry"),
    "room_previous": N_("Previous agenda entry"),
    "room_jump": N_("Agenda entry chosen"),
    "room_floor": N_("Floor given"),
    "room_remove": N_("Speaker removed from the queue"),
    "room_next_speaker": N_("Next speaker"),
    "room_clear": N_("Speaking queue cleared"),
    "room_decision": N_("Decision recorded"),
    "room_checkin": N_("Checked in by staff"),
    "room_rotate_code": N_("Join code replaced"),
    "room_remove_device": N_("Device removed from the meeting"),
    "room_admit": N_("Guest admitted to votes of those present"),
    "room_verify": N_("Resident verified at the desk"),
    "room_revoke": N_("Verification revoked"),
    "slips_print": N_("Household slips printed"),
    "shared_tablet": N_("Device made the shared tablet"),
    "vote_create": N_("Vote set up"),
    "vote_open": N_("Vote opened"),
    "vote_close": N_("Vote closed"),
    "vote_hands": N_("Show of hands entered"),
    "vote_paper": N_("Paper ballot entered"),
    "vote_proxy": N_("Proxy recorded"),
    # Entries are stored under these keys: the shared tablet's keeps its first name, "vote_kiosk".
    "vote_kiosk": N_("Shared tablet opened for a voter"),
    "household_import": N_("Household register imported"),
    "person_export": N_("Personal data exported"),
    "person_erase": N_("Personal data erased"),
    # administration (issue #11)
    "install_init": N_("Installation set up"),
    "area_create": N_("Area created"),
    "area_rename": N_("Area renamed"),
    "area_move": N_("Area moved"),
    "area_archive": N_("Area archived"),
    "area_restore": N_("Area restored"),
    "areas_import": N_("Areas imported"),
    "committee_create": N_("Committees set up"),
    "committee_rename": N_("Committee renamed"),
    "member_add": N_("Committee member added"),
    "member_chair": N_("Committee chair chosen"),
    "member_remove": N_("Committee member left"),
    "organisation_create": N_("Organisation created"),
    "organisation_update": N_("Organisation changed"),
    "organisations_import": N_("Organisations imported"),
    "liaison_add": N_("Liaison added"),
    "liaison_remove": N_("Liaison removed"),
    "format_add": N_("Venue format added"),
    "format_rename": N_("Venue format renamed"),
    "invitee_add": N_("Standing invitee added"),
    "invitee_remove": N_("Standing invitee removed"),
    "account_create": N_("Account created"),
    "password_reset": N_("Password reset"),
}

TARGETS: dict[str, str] = {
    "user": N_("Account"),
    "issue": N_("Issue"),
    "action": N_("Action"),
    "series": N_("Series"),
    "meeting": N_("Meeting"),
    "vote": N_("Vote"),
    "community": N_("Community"),
    "person": N_("Person"),
    "area": N_("Area"),
    "committee": N_("Committee"),
    "organisation": N_("Organisation"),
    "format": N_("Venue format"),
}

PAGE = 50
ID_MAX = forms.DB_INT_MAX


def record(db: Session, request: HTTPConnection | None, action: str, target_type: str = "",
           target_id: int | None = None, detail: str = "", *, community_id: int | None = None,
           actor: User | str | None = None, at: datetime | None = None) -> AuditEntry:
    """Add one entry to the log in the caller's transaction (the caller commits with the change).

    ``request`` None means the command line. ``actor`` defaults to the signed-in user."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to forum.audit.ACTIONS")
    if actor is None and request is not None:
        actor = getattr(request.state, "user", None)
    entry = AuditEntry(
        at=at or now(), action=action, target_type=target_type, target_id=target_id,
        community_id=community_id, detail=detail[:2000],
        actor_id=actor.id if isinstance(actor, User) else None,
        actor=(actor.username if isinstance(actor, User) else actor or "—")[:60],
        address=(address_of(request) if request is not None else "command line")[:60],
    )
    db.add(entry)
    return entry


@dataclass(frozen=True)
class Filters:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: int | None = None
    since: date | None = None
    until: date | None = None


def parse_filters(params: dict[str, str]) -> tuple[Filters, dict[str, str]]:
    """Filters from the page's query, with a message per field that could not be read."""
    errors: dict[str, str] = {}
    action = params.get("action", "")
    if action and action not in ACTIONS:
        errors["action"], action = N_("Choose a kind of change from the list."), ""
    target_type = params.get("target_type", "")
    if target_type and target_type not in TARGETS:
        errors["target_type"], target_type = N_("Choose a kind of object from the list."), ""
    target_id = None
    raw_id = params.get("target_id", "").strip()
    if raw_id:
        if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 19 and int(raw_id) <= ID_MAX:
            target_id = int(raw_id)
        else:
            errors["target_id"] = N_("An object's number is a whole number, like 12.")
    days = {}
    for name in ("since", "until"):
        raw = params.get(name, "").strip()
        days[name] = None
        if raw:
            try:
                days[name] = date.fromisoformat(raw[:10])
            except ValueError:
                days[name] = None
            if days[name] is None or not 1900 <= days[name].year <= 9000:
                errors[name], days[name] = N_("Give a date as 2026-11-30."), None
    actor = "".join(ch for ch in params.get("actor", "") if ch.isprintable()).strip()[:60]
    return Filters(actor=actor, action=action, target_type=target_type,
                   target_id=target_id, since=days["since"], until=days["until"]), errors


def entries(db: Session, filters: Filters, before: int | None = None, limit: int = PAGE, *,
            communities: list[int] | None = None, actor_id: int | None = None) -> tuple[list[AuditEntry], int | None]:
    """One page of entries, newest first, and the cursor for the next (older) page or None.
    ``communities``: only entries of those communities, and the reader's own (``actor_id``).

    Pages are by id (keyset), so any page costs one index range scan however old the log."""
    statement = select(AuditEntry)
    if communities is not None:
        statement = statement.where(col(AuditEntry.community_id).in_(communities) | (AuditEntry.actor_id == actor_id))
    if filters.actor:
        statement = statement.where(AuditEntry.actor == filters.actor)
    if filters.action:
        statement = statement.where(AuditEntry.action == filters.action)
    if filters.target_type:
        statement = statement.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id is not None:
        statement = statement.where(AuditEntry.target_id == filters.target_id)
    if filters.since:
        statement = statement.where(AuditEntry.at >= datetime.combine(filters.since, time()))
    if filters.until:
        statement = statement.where(AuditEntry.at < datetime.combine(filters.until + timedelta(days=1), time()))
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    rows = list(db.exec(statement.order_by(col(AuditEntry.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)

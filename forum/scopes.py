"""Roles held with a scope: which part of the area tree a staff member acts in.

Every role is held in a scope (domain.md, Roles): a community, a street or a district; a street's
facilitator or official sees and oversees every community of the street, an admin of a street
administers inside it and nowhere else. ``None`` is the whole installation (the first admin, and
staff of no community, as before scopes existed).

Everything here is a pure function of ids: the caller passes an area's *chain*, the area itself
followed by its ancestors (a community, its street, its district), which forum.auth looks up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# How deep the tree can be (district → street → community, with room to spare): a chain longer
# than this means a cycle in the data, and nothing is reached through it.
MAX_DEPTH = 8


class Holder(Protocol):
    role: str
    community_id: int | None
    scope_id: int | None


def scope_of(user: Holder) -> int | None:
    """The area a role is held in. An admin's is only what was granted explicitly (an admin tied
    to a community by the old ``createuser --community`` administered everything, and still does);
    others default to their community, and staff of none (liaisons) to the whole installation."""
    if user.scope_id is not None:
        return user.scope_id
    return None if user.role == "admin" else user.community_id


def within(scope: int | None, chain: Sequence[int]) -> bool:
    """The area whose chain this is lies in the scope (or is it)."""
    return scope is None or (0 < len(chain) <= MAX_DEPTH and scope in chain)


def strictly_within(scope: int | None, chain: Sequence[int]) -> bool:
    """The area lies below the scope: a street's admin changes the street's communities, but the
    street itself (its name, its place, whether it exists) is for the district's admin."""
    return scope is None or (0 < len(chain) <= MAX_DEPTH and scope in chain[1:])


def may_create_in(admin_scope: int | None, parent_chain: Sequence[int] | None) -> bool:
    """A new area under that parent (``None``: a new district, which only the whole
    installation's admin makes)."""
    if parent_chain is None:
        return admin_scope is None
    return within(admin_scope, parent_chain)


def may_change(admin_scope: int | None, chain: Sequence[int]) -> bool:
    """Rename or archive an area, or move it away from where it is."""
    return strictly_within(admin_scope, chain)


def may_move(admin_scope: int | None, chain: Sequence[int], new_parent_chain: Sequence[int]) -> bool:
    """Move an area: from inside the scope, to a parent inside it too."""
    return may_change(admin_scope, chain) and within(admin_scope, new_parent_chain)


def may_grant(admin_scope: int | None, granted_chain: Sequence[int] | None) -> bool:
    """Give someone a role in an area (``None``: the whole installation): only inside one's own
    scope, so nobody hands out more than they hold."""
    if granted_chain is None:
        return admin_scope is None
    return within(admin_scope, granted_chain)


def may_manage(admin_scope: int | None, held_chain: Sequence[int] | None) -> bool:
    """Change, disable or reset the password of an account whose role is held there (``None``:
    the whole installation): the same as granting it."""
    return may_grant(admin_scope, held_chain)

"""Roles held with a scope (forum.scopes, forum.auth): every scope against every area of a tree.

The tree: two districts; the first has two streets, the first street two communities, the second
one; the second district one street with one community. Expected answers come from an explicit
table of what lies inside what, not from the chains the code walks.
"""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import Session

from forum import auth, scopes
from forum import db as database
from forum.models import Area, User

D1, S1, S2, C1, C2, C3, D2, S3, C4 = range(1, 10)
PARENT = {D1: None, S1: D1, S2: D1, C1: S1, C2: S1, C3: S2, D2: None, S3: D2, C4: S3}
KIND = {D1: "district", D2: "district", S1: "street", S2: "street", S3: "street",
        C1: "community", C2: "community", C3: "community", C4: "community"}
# Written out by hand: each area and everything below it.
INSIDE = {
    D1: {D1, S1, S2, C1, C2, C3}, S1: {S1, C1, C2}, S2: {S2, C3}, C1: {C1}, C2: {C2}, C3: {C3},
    D2: {D2, S3, C4}, S3: {S3, C4}, C4: {C4},
}
AREAS = list(PARENT)
SCOPES = [None, *AREAS]


def chain(area: int) -> tuple[int, ...]:
    out = []
    current: int | None = area
    while current is not None:
        out.append(current)
        current = PARENT[current]
    return tuple(out)


def inside(scope: int | None, area: int) -> bool:
    return scope is None or area in INSIDE[scope]


@pytest.mark.parametrize(("scope", "area"), list(itertools.product(SCOPES, AREAS)))
def test_within_and_strictly_within(scope, area):
    assert scopes.within(scope, chain(area)) == inside(scope, area)
    assert scopes.strictly_within(scope, chain(area)) == (scope is None or (inside(scope, area) and area != scope))


@pytest.mark.parametrize(("scope", "area"), list(itertools.product(SCOPES, AREAS)))
def test_create_change_grant_manage(scope, area):
    # A new area goes under a parent in scope; changing an area needs the scope above it.
    assert scopes.may_create_in(scope, chain(area)) == inside(scope, area)
    assert scopes.may_change(scope, chain(area)) == (scope is None or (inside(scope, area) and area != scope))
    # Roles are handed out, and accounts changed, inside one's own scope only.
    assert scopes.may_grant(scope, chain(area)) == inside(scope, area)
    assert scopes.may_manage(scope, chain(area)) == inside(scope, area)


@pytest.mark.parametrize("scope", SCOPES)
def test_the_whole_installation_is_for_its_admins_only(scope):
    assert scopes.may_create_in(scope, None) == (scope is None)  # a new district
    assert scopes.may_grant(scope, None) == (scope is None)
    assert scopes.may_manage(scope, None) == (scope is None)


@pytest.mark.parametrize(("scope", "area", "target"), list(itertools.product(SCOPES, AREAS, AREAS)))
def test_moving_needs_both_ends_in_scope(scope, area, target):
    allowed = (scope is None or (inside(scope, area) and area != scope)) and inside(scope, target)
    assert scopes.may_move(scope, chain(area), chain(target)) == allowed


def test_a_chain_that_loops_or_is_empty_reaches_nothing():
    assert not scopes.within(S1, ())
    assert not scopes.within(S1, (C1, S1) * 10)  # longer than any tree: a cycle in the data
    assert scopes.within(None, ())


class Holder:
    def __init__(self, role: str, community_id: int | None = None, scope_id: int | None = None) -> None:
        self.role, self.community_id, self.scope_id = role, community_id, scope_id


@pytest.mark.parametrize(("role", "community", "scope", "held"), [
    ("facilitator", C1, None, C1),  # as before scopes: the community
    ("facilitator", None, S1, S1),  # a street's facilitator
    ("facilitator", C1, S1, S1),  # the scope wins over the community
    ("committee", C2, None, C2),
    ("liaison", None, None, None),  # an organisation's liaison: anywhere, as before
    ("admin", None, None, None),  # the whole installation
    ("admin", C1, None, None),  # `createuser --role admin --community X` administered everything, and still does
    ("admin", None, S2, S2),
])
def test_scope_of_defaults_from_the_community(role, community, scope, held):
    assert scopes.scope_of(Holder(role, community, scope)) == held


# ---------------------------------------------------------------- forum.auth over a real tree


@pytest.fixture(scope="module")
def tree_engine():
    engine = database.make_engine("sqlite://")
    database.upgrade(engine)
    with Session(engine) as db:
        for area in AREAS:
            db.add(Area(id=area, name=f"area {area}", kind=KIND[area], parent_id=PARENT[area], slug=f"a{area}"))
            db.flush()
        db.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def tree(tree_engine):
    """A session over the tree whose accounts are rolled back after each test."""
    with Session(tree_engine, expire_on_commit=False) as db:
        yield db
        db.rollback()


def user(db: Session, role: str, *, community: int | None = None, scope: int | None = None) -> User:
    account = User(username=f"{role}-{community}-{scope}", password_hash="x", display_name="x", role=role,
                   community_id=community, scope_id=scope)
    db.add(account)
    db.flush()
    return account


@pytest.mark.parametrize(("scope", "community"), list(itertools.product(SCOPES, [C1, C2, C3, C4])))
def test_staff_act_for_the_communities_of_their_scope(tree, scope, community):
    facilitator = user(tree, "facilitator", scope=scope)
    assert auth.acts_for(facilitator, community) == inside(scope, community)
    assert auth.runs_meetings_in(facilitator, community) == inside(scope, community)
    admin = user(tree, "admin", scope=scope)
    assert auth.acts_for(admin, community) == inside(scope, community)


@pytest.mark.parametrize(("scope", "area"), list(itertools.product(SCOPES, AREAS)))
def test_admins_administer_and_change_inside_their_scope(tree, scope, area):
    admin = user(tree, "admin", scope=scope)
    assert auth.administers(admin, area) == inside(scope, area)
    assert auth.changes_area(admin, area) == (scope is None or (inside(scope, area) and area != scope))
    # Nobody but an admin, whatever their scope.
    assert not auth.administers(user(tree, "facilitator", scope=scope or D1), area)


@pytest.mark.parametrize(("scope", "held"), list(itertools.product(SCOPES, SCOPES)))
def test_admins_manage_accounts_held_inside_their_scope(tree, scope, held):
    admin = user(tree, "admin", scope=scope)
    other = user(tree, "facilitator" if held else "liaison", scope=held)
    assert auth.manages(admin, other) == (scope is None or (held is not None and inside(scope, held)))


def test_a_street_admin_cannot_touch_another_street(tree):
    admin = user(tree, "admin", scope=S1)
    assert auth.administers(admin, C1) and auth.changes_area(admin, C2)
    for elsewhere in (S2, C3, D2, S3, C4, D1):
        assert not auth.administers(admin, elsewhere) or elsewhere == S1
        assert not auth.changes_area(admin, elsewhere)
    assert not auth.changes_area(admin, S1)  # its own street is the district admin's to change
    assert not auth.acts_for(admin, C3)


def test_a_user_in_no_session_reaches_only_their_own_scope():
    facilitator = User(username="x", password_hash="x", display_name="x", role="facilitator", scope_id=S1)
    assert auth.acts_for(facilitator, S1)
    assert not auth.acts_for(facilitator, C1)  # no tree to look in: refused, never guessed

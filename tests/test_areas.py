"""The area tree's rules (forum.areas): placement, moves without cycles, archiving, never deleting."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from forum import areas
from forum.areas import Invalid, Node
from forum.models import Area, Meeting, MeetingStatus, now

NODES = {
    1: Node(1, "district", None), 2: Node(2, "street", 1), 3: Node(3, "street", 1),
    4: Node(4, "community", 2), 5: Node(5, "community", 2), 6: Node(6, "community", 3),
    7: Node(7, "district", None), 8: Node(8, "street", 7, archived=True), 9: Node(9, "community", 8, archived=True),
}


def test_chain_walks_up_and_stops_at_a_cycle():
    assert areas.chain(NODES, 4) == (4, 2, 1)
    assert areas.chain(NODES, 1) == (1,)
    looped = {1: Node(1, "street", 2), 2: Node(2, "street", 1)}
    assert areas.chain(looped, 1) == (1, 2)
    assert areas.chain(NODES, 99) == ()


@pytest.mark.parametrize(("kind", "parent", "ok"), [
    ("district", None, True), ("street", 1, True), ("community", 2, True),
    ("district", 1, False), ("street", None, False), ("street", 2, False), ("community", 1, False),
    ("community", 4, False), ("community", None, False),
    ("community", 8, False),  # an archived street takes no new community
    ("planet", None, False),
])
def test_placement(kind, parent, ok):
    assert (areas.placement_problem(kind, NODES.get(parent)) is None) == ok


@pytest.mark.parametrize(("area", "parent", "ok"), [
    (4, 3, True),  # a community to another street
    (3, 7, True),  # a street to another district
    (4, 2, False),  # where it is already
    (2, 4, False),  # a street under its own community: a loop
    (2, 2, False),  # under itself
    (1, 7, False),  # a district sits under nothing
    (4, 7, False),  # a community under a district
    (4, 8, False),  # under an archived street
    (4, 99, False),
])
def test_moves(area, parent, ok):
    assert (areas.move_problem(NODES, area, parent) is None) == ok


def test_archiving_waits_for_what_is_in_use_below_and_for_live_meetings():
    assert areas.archive_problem(NODES, 2) is not None  # its communities are in use
    assert areas.archive_problem(NODES, 4) is None
    assert areas.archive_problem(NODES, 4, live_meetings=1) is not None
    assert areas.archive_problem(NODES, 7) is None  # only archived areas below


@pytest.fixture
def db(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


def test_create_rename_move_archive_restore(db):
    district = areas.create(db, name="渝中区", parent=None, slug="yuzhong")
    street = areas.create(db, name=" 解放碑街道 ", parent=district)
    other = areas.create(db, name="朝天门街道", parent=district, slug="chaotianmen")
    community = areas.create(db, name="较场口社区", parent=street, slug="Jiaochangkou")
    assert (district.kind, street.kind, community.kind) == ("district", "street", "community")
    assert street.name == "解放碑街道" and street.slug == f"street-{street.id}"
    assert community.slug == "jiaochangkou"
    assert areas.rename(db, community, "较场口") == "较场口社区"
    assert areas.move(db, community, other) == street and community.parent_id == other.id
    areas.archive(db, community)
    assert community.archived_at is not None
    areas.archive(db, street)  # nothing in use below it any more
    with pytest.raises(Invalid):
        areas.create(db, name="新社区", parent=street)  # an archived street takes no new community
    areas.restore(db, community)
    assert community.archived_at is None
    assert db.exec(select(func.count()).select_from(Area)).one() == 4  # nothing was ever deleted


@pytest.mark.parametrize(("name", "slug", "field"), [
    ("", "", "name"), ("x" * 101, "", "name"), ("解放碑街道", "", "name"),
    ("新街道", "Bad Slug", "slug"), ("新街道", "-x", "slug"), ("新街道", "yuzhong", "slug"),
    ("新街道", "x" * 61, "slug"),
])
def test_create_refuses_by_field_and_writes_nothing(db, name, slug, field):
    district = areas.create(db, name="渝中区", parent=None, slug="yuzhong")
    areas.create(db, name="解放碑街道", parent=district)
    before = db.exec(select(func.count()).select_from(Area)).one()
    with pytest.raises(Invalid) as refused:
        areas.create(db, name=name, parent=district, slug=slug)
    assert field in refused.value.problems
    assert db.exec(select(func.count()).select_from(Area)).one() == before


def test_a_community_in_session_is_not_archived(db):
    district = areas.create(db, name="渝中区", parent=None)
    street = areas.create(db, name="解放碑街道", parent=district)
    community = areas.create(db, name="较场口社区", parent=street)
    db.add(Meeting(community_id=community.id, title="恳谈会", cadence="weekly", starts_at=now(), place="议事厅",
                   status=MeetingStatus.live))
    db.flush()
    with pytest.raises(Invalid) as refused:
        areas.archive(db, community)
    assert "archive" in refused.value.problems and community.archived_at is None


def test_tree_and_scope_listing(db):
    district = areas.create(db, name="渝中区", parent=None)
    b = areas.create(db, name="B街道", parent=district)
    a = areas.create(db, name="A街道", parent=district)
    c = areas.create(db, name="社区", parent=b)
    assert [(x.id, depth) for x, depth in areas.tree(db)] == [(district.id, 0), (a.id, 1), (b.id, 1), (c.id, 2)]
    assert [x.id for x in areas.in_scope(db, b.id)] == [b.id, c.id]
    assert [x.id for x in areas.in_scope(db, None, ("community",))] == [c.id]
    assert areas.path_names(db, c) == "渝中区 › B街道 › 社区"

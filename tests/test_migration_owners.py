"""Migration 0006 carries the register over: every person marked as an owner owns their household."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from forum import db as database


@pytest.fixture
def sqlite_file(tmp_path):
    engine = database.make_engine(f"sqlite:///{tmp_path / 'owners.db'}")
    yield engine
    engine.dispose()


def test_on_sqlite_with_foreign_keys_on(sqlite_file):
    carry_over(sqlite_file)


@pytest.mark.postgres
def test_on_postgres(postgres_engine):
    carry_over(postgres_engine)


def carry_over(engine) -> None:
    database.upgrade(engine, "0004")
    with engine.begin() as c:
        c.execute(text("INSERT INTO area (id, name, kind, slug) VALUES (1, 'c', 'community', 'c')"))
        for hid, room in ((1, '101'), (2, '102')):
            c.execute(text("INSERT INTO household (id, community_id, building, unit, room, floor_area) "
                           "VALUES (:id, 1, '5', '2', :room, 80)"), {"id": hid, "room": room})
        people = [(1, "业主甲", 1, True), (2, "家属乙", 1, False), (3, "业主丙", 2, True), (4, "无房丁", None, True)]
        for pid, name, hid, owner in people:
            c.execute(text("INSERT INTO person (id, name, household_id, is_owner) VALUES (:p, :n, :h, :o)"),
                      {"p": pid, "n": name, "h": hid, "o": owner})
    database.upgrade(engine, "0006")
    with engine.connect() as c:
        owned = c.execute(text("SELECT household_id, person_id FROM ownership ORDER BY 1, 2")).all()
        held = c.execute(text("SELECT developer_held FROM household")).scalars().all()
    columns = {column["name"] for column in inspect(engine).get_columns("person")}
    assert owned == [(1, 1), (2, 3)]  # the owner without a household owns nothing to carry over
    assert [bool(h) for h in held] == [False, False] and "is_owner" not in columns
    command.downgrade(database.alembic_config(engine), "0004")
    with engine.connect() as c:
        marks = c.execute(text("SELECT id, is_owner FROM person ORDER BY id")).all()
    assert [(pid, bool(mark)) for pid, mark in marks] == [(1, True), (2, False), (3, True), (4, False)]

"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from forum import db as database
from forum import models  # noqa: F401  (fills SQLModel.metadata)


def _diff(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "target_metadata": SQLModel.metadata,
            "compare_type": True,
            "render_as_batch": connection.dialect.name == "sqlite",
        })
        return compare_metadata(context, SQLModel.metadata)


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_metadata_has_the_domain_tables():
    assert {"area", "committee", "issue", "issueevent", "meeting", "agendaentry", "series", "user",
            "household"} <= set(SQLModel.metadata.tables)


def test_naming_convention_is_set():
    convention = SQLModel.metadata.naming_convention
    assert {"ix", "uq", "ck", "fk", "pk"} <= set(convention)


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = database.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    yield engine
    engine.dispose()


def test_sqlite_upgrade_head_matches_the_models(sqlite_engine):
    database.upgrade(sqlite_engine)
    assert _tables(sqlite_engine) == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert _diff(sqlite_engine) == []


def test_sqlite_upgrade_is_idempotent(sqlite_engine):
    database.upgrade(sqlite_engine)
    database.upgrade(sqlite_engine)
    with sqlite_engine.connect() as connection:
        versions = connection.execute(text("select version_num from alembic_version")).scalars().all()
    assert len(versions) == 1


def test_sqlite_downgrade_base_and_up_again(sqlite_engine):
    database.upgrade(sqlite_engine)
    command.downgrade(database.alembic_config(sqlite_engine), "base")
    assert _tables(sqlite_engine) <= {"alembic_version"}
    database.upgrade(sqlite_engine)
    assert _diff(sqlite_engine) == []


def test_in_memory_upgrade(engine):
    # The conftest engine: in-memory, one connection; the schema must be complete there too.
    assert _tables(engine) == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_foreign_keys_are_enforced_on_sqlite(engine):
    from sqlalchemy.exc import IntegrityError

    with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            connection.execute(text("insert into committee (community_id, kind, name) values (999, 'x', 'x')"))


@pytest.mark.postgres
def test_postgres_upgrade_head_matches_the_models(postgres_engine):
    database.upgrade(postgres_engine)
    assert _tables(postgres_engine) == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert _diff(postgres_engine) == []


@pytest.mark.postgres
def test_postgres_downgrade_base(postgres_engine):
    database.upgrade(postgres_engine)
    command.downgrade(database.alembic_config(postgres_engine), "base")
    assert _tables(postgres_engine) <= {"alembic_version"}


def test_the_comparison_would_see_a_difference(sqlite_engine):
    # Guard: an empty diff above means something only if a real difference shows up.
    database.upgrade(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(text("drop table comment"))
        connection.execute(text("alter table area add column extra varchar(5)"))
    kinds = {d[0] if isinstance(d, tuple) else d[0][0] for d in _diff(sqlite_engine)}
    assert {"add_table", "remove_column"} <= kinds

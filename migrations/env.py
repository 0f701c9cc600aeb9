"""Alembic environment: forum passes its engine in ``config.attributes`` (see forum.db)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData
from sqlmodel import SQLModel

import forum.models  # noqa: F401  (fills SQLModel.metadata, with its naming convention)

target_metadata: MetaData = SQLModel.metadata


def run() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:
        from forum.db import make_engine
        from forum.settings import Settings

        engine = make_engine(Settings.from_env().database_url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()

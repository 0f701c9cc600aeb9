"""What every table module shares: the constraint naming convention and the clock.

Imported by each of them before it defines a table, so the convention is in place whichever
module is imported first.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import SQLModel

# Constraint names that are the same on every database, so batch migrations on SQLite can find
# and alter them. Set before any table is defined: names are given as constraints are attached.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now() -> datetime:
    return datetime.now().replace(microsecond=0)

"""lease: run-once duties (closing due votes, the day's notices) held by one worker at a time

Revision ID: 0012_lease
Revises: 0011_action_photos
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012_lease'
down_revision = '0011_action_photos'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: the first worker to need a lease writes its row.
    op.create_table('lease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_lease'))
    )


def downgrade() -> None:
    op.drop_table('lease')

"""failed attempts per key, so guessing codes and passwords is throttled across workers

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('throttlecount',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_throttlecount'))
    )
    with op.batch_alter_table('throttlecount', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttlecount_window_start'), ['window_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('throttlecount', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttlecount_window_start'))
    op.drop_table('throttlecount')

"""register imports journaled and written in chunks, so a large one does not lock the room out

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('importjob',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Integer(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('applied', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('progress_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_importjob_community_id_area')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_importjob')),
    sa.UniqueConstraint('active', name=op.f('uq_importjob_active'))
    )
    with op.batch_alter_table('importjob', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_importjob_community_id'), ['community_id'], unique=False)

    op.create_table('importstage',
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('household_ref', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('person_ref', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('building', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('room', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('floor_area', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('developer_held', sa.Boolean(), nullable=True),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['importjob.id'], name=op.f('fk_importstage_job_id_importjob')),
    sa.PrimaryKeyConstraint('job_id', 'seq', name=op.f('pk_importstage'))
    )


def downgrade() -> None:
    op.drop_table('importstage')
    with op.batch_alter_table('importjob', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_importjob_community_id'))
    op.drop_table('importjob')

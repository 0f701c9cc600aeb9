"""action photos: a follow-up note's photo evidence, re-encoded and resized, kept in the database

Revision ID: 0011_action_photos
Revises: 0010_followup
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011_action_photos'
down_revision = '0010_followup'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: an existing install keeps working unchanged.
    op.create_table('actionphoto',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('large', sa.LargeBinary(), nullable=False),
    sa.Column('thumb', sa.LargeBinary(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_actionphoto_action_id_action')),
    sa.ForeignKeyConstraint(['event_id'], ['issueevent.id'], name=op.f('fk_actionphoto_event_id_issueevent')),
    sa.ForeignKeyConstraint(['note_id'], ['actionnote.id'], name=op.f('fk_actionphoto_note_id_actionnote')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actionphoto'))
    )
    with op.batch_alter_table('actionphoto', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actionphoto_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionphoto_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actionphoto_note_id'), ['note_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('actionphoto', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actionphoto_note_id'))
        batch_op.drop_index(batch_op.f('ix_actionphoto_event_id'))
        batch_op.drop_index(batch_op.f('ix_actionphoto_action_id'))
    op.drop_table('actionphoto')

"""staff sessions that end (logout, password change, disabling), and the append-only staff audit log

Revision ID: 0007
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auditentry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('target_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_auditentry_actor_id_user')),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_auditentry_community_id_area')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auditentry'))
    )
    with op.batch_alter_table('auditentry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auditentry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditentry_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditentry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditentry_community_id'), ['community_id'], unique=False)
        batch_op.create_index('ix_auditentry_target', ['target_type', 'target_id'], unique=False)

    op.create_table('staffsession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('ended_why', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_staffsession_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staffsession')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staffsession_token_hash'))
    )
    with op.batch_alter_table('staffsession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staffsession_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')

    with op.batch_alter_table('staffsession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staffsession_user_id'))

    op.drop_table('staffsession')
    with op.batch_alter_table('auditentry', schema=None) as batch_op:
        batch_op.drop_index('ix_auditentry_target')
        batch_op.drop_index(batch_op.f('ix_auditentry_community_id'))
        batch_op.drop_index(batch_op.f('ix_auditentry_at'))
        batch_op.drop_index(batch_op.f('ix_auditentry_actor_id'))
        batch_op.drop_index(batch_op.f('ix_auditentry_action'))

    op.drop_table('auditentry')

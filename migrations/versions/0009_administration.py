"""administration: archived areas, roles with a scope, committee members, organisations' communities

Revision ID: 0009_administration
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009_administration'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns are nullable and new tables empty: an existing install keeps working unchanged
    # (a user's scope defaults from their community, no area is archived).
    op.create_table('organisationcommunity',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_organisationcommunity_community_id_area')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisationcommunity_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', 'community_id', name=op.f('pk_organisationcommunity'))
    )
    with op.batch_alter_table('organisationcommunity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisationcommunity_community_id'), ['community_id'], unique=False)

    op.create_table('committeemember',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('committee_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('chair', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('left_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], name=op.f('fk_committeemember_committee_id_committee')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_committeemember_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committeemember'))
    )
    with op.batch_alter_table('committeemember', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committeemember_committee_id'), ['committee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committeemember_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('area', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_user_scope_id_area'), 'area', ['scope_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_scope_id_area'), type_='foreignkey')
        batch_op.drop_column('scope_id')

    with op.batch_alter_table('area', schema=None) as batch_op:
        batch_op.drop_column('archived_at')

    with op.batch_alter_table('committeemember', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_committeemember_person_id'))
        batch_op.drop_index(batch_op.f('ix_committeemember_committee_id'))

    op.drop_table('committeemember')
    with op.batch_alter_table('organisationcommunity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisationcommunity_community_id'))

    op.drop_table('organisationcommunity')

"""owners as the law counts them: who owns which unit, developer-held units, and the units each elector stands for

Revision ID: 0006
Revises: 0004

Person.is_owner said "owner of the household they live in", which cannot hold an owner of two
flats, a co-owned flat, or an owner living elsewhere. Ownership replaces it; every person marked
as an owner becomes an owner of their household, so no existing register loses an owner.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ownership',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_ownership_household_id_household')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_ownership_person_id_person')),
    sa.PrimaryKeyConstraint('household_id', 'person_id', name=op.f('pk_ownership'))
    )
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ownership_person_id'), ['person_id'], unique=False)

    op.create_table('voteelectorunit',
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('voter_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                            name=op.f('fk_voteelectorunit_household_id_household')),
    sa.ForeignKeyConstraint(['vote_id'], ['vote.id'], name=op.f('fk_voteelectorunit_vote_id_vote')),
    sa.PrimaryKeyConstraint('vote_id', 'household_id', name=op.f('pk_voteelectorunit'))
    )

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('developer_held', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('voteelector', schema=None) as batch_op:
        batch_op.add_column(sa.Column('units', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('merged', sqlmodel.sql.sqltypes.AutoString(length=60), server_default='',
                                      nullable=False))

    # Carry the register over before the old mark goes.
    op.execute("INSERT INTO ownership (household_id, person_id) "
               "SELECT household_id, id FROM person WHERE is_owner AND household_id IS NOT NULL")
    # A plain DROP COLUMN (SQLite 3.35+ has it), not a batch copy of the table: copying would drop
    # the old ``person`` table, which foreign keys (now switched on) forbid once anyone refers to it.
    op.drop_column('person', 'is_owner')


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_owner', sa.Boolean(), server_default='0', nullable=False))
    # An owner of their own household is an owner again; what the old column cannot say is lost.
    op.execute("UPDATE person SET is_owner = (EXISTS (SELECT 1 FROM ownership o "
               "WHERE o.person_id = person.id AND o.household_id = person.household_id))")
    op.drop_column('voteelector', 'merged')
    op.drop_column('voteelector', 'units')
    op.drop_column('household', 'developer_held')
    op.drop_table('voteelectorunit')
    with op.batch_alter_table('ownership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ownership_person_id'))
    op.drop_table('ownership')

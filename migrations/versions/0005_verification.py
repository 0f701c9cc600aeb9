"""resident verification: household slips, verifications, admitted attendances, guests_count votes

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('householdslip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_householdslip_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_householdslip')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_householdslip_code_hash'))
    )
    with op.batch_alter_table('householdslip', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_householdslip_household_id'), ['household_id'], unique=False)

    op.create_table('verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('attendance_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('slip_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(), nullable=False),
    sa.Column('verified_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendance.id'], name=op.f('fk_verification_attendance_id_attendance')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_verification_household_id_household')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_verification_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_verification_person_id_person')),
    sa.ForeignKeyConstraint(['slip_id'], ['householdslip.id'], name=op.f('fk_verification_slip_id_householdslip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification'))
    )
    with op.batch_alter_table('verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_attendance_id'), ['attendance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_meeting_id'), ['meeting_id'], unique=False)

    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admitted', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('verified', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guests_count', sa.Boolean(), nullable=False, server_default=sa.false()))

    # Whoever staff checked in before this revision was admitted to votes of those present.
    op.execute("UPDATE attendance SET admitted = (checked_in_by != 'self')")


def downgrade() -> None:
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_column('guests_count')

    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_column('verified')
        batch_op.drop_column('admitted')

    with op.batch_alter_table('verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_verification_attendance_id'))

    op.drop_table('verification')
    with op.batch_alter_table('householdslip', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_householdslip_household_id'))

    op.drop_table('householdslip')

"""followup: actions with owners and due dates, their notes, quarterly ratings, notices

Revision ID: 0010_followup
Revises: 0009_administration
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010_followup'
down_revision = '0009_administration'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New tables, and one column with a default: an existing install keeps working unchanged.
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_outside', sa.Boolean(), server_default='0', nullable=False))
    op.create_table('action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('what', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('owner_committee_id', sa.Integer(), nullable=True),
    sa.Column('owner_organisation_id', sa.Integer(), nullable=True),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_person_id', sa.Integer(), nullable=True),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('blocked_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_action_community_id_area')),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_action_issue_id_issue')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_action_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['owner_committee_id'], ['committee.id'], name=op.f('fk_action_owner_committee_id_committee')),
    sa.ForeignKeyConstraint(['owner_organisation_id'], ['organisation.id'], name=op.f('fk_action_owner_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['user.id'], name=op.f('fk_action_owner_user_id_user')),
    sa.ForeignKeyConstraint(['owner_person_id'], ['person.id'], name=op.f('fk_action_owner_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action'))
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_due'), ['due'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_owner_committee_id'), ['owner_committee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_owner_organisation_id'), ['owner_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_status'), ['status'], unique=False)

    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('quarter', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basically', sa.Integer(), nullable=False),
    sa.Column('dissatisfied', sa.Integer(), nullable=False),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_rating_community_id_area')),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_rating_issue_id_issue')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_rating_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating'))
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_quarter'), ['quarter'], unique=False)

    op.create_table('actionnote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_actionnote_action_id_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actionnote'))
    )
    with op.batch_alter_table('actionnote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actionnote_action_id'), ['action_id'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_notice_action_id_action')),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_notice_issue_id_issue')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notice_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('issue', schema=None) as batch_op:
        batch_op.drop_column('needs_outside')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_user_id'))

    op.drop_table('notice')
    with op.batch_alter_table('actionnote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actionnote_action_id'))

    op.drop_table('actionnote')
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_quarter'))
        batch_op.drop_index(batch_op.f('ix_rating_issue_id'))
        batch_op.drop_index(batch_op.f('ix_rating_community_id'))

    op.drop_table('rating')
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_status'))
        batch_op.drop_index(batch_op.f('ix_action_owner_user_id'))
        batch_op.drop_index(batch_op.f('ix_action_owner_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_action_owner_committee_id'))
        batch_op.drop_index(batch_op.f('ix_action_issue_id'))
        batch_op.drop_index(batch_op.f('ix_action_due'))
        batch_op.drop_index(batch_op.f('ix_action_community_id'))

    op.drop_table('action')

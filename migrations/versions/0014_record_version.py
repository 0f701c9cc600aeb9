"""record version: one number the database adds to whenever a transaction changes the record (any
table but the bookkeeping below), so a page of the record rendered once can be served again until
the number moves (forum.page_cache)

Revision ID: 0014_record_version
Revises: 0013_page_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014_record_version'
down_revision = '0013_page_indexes'
branch_labels = None
depends_on = None

# Every table a page can show. Left out, and so never moving the version: the bookkeeping of the
# installation (a sign-in's "last seen" written once a minute, failed sign-ins counted, the staff
# log that a refused sign-in or a personal data export writes to, the run-once lease, the versions
# themselves), which no page kept by forum.page_cache shows (the staff log's page is not kept).
# tests/test_page_cache.py fails when a table is in neither list.
WATCHED = (
    'action', 'actionnote', 'actionphoto', 'agendaentry', 'area', 'attendance', 'ballot',
    'comment', 'committee', 'committeemember', 'forumformat', 'household', 'householdslip', 'importjob',
    'importstage', 'issue', 'issueevent', 'meeting', 'notice', 'organisation', 'organisationcommunity',
    'ownership', 'paperserial', 'person', 'rating', 'series', 'seriesinvitee', 'speakingrequest', 'user',
    'verification', 'vote', 'voteaudit', 'voteelector', 'voteelectorunit', 'voteproxy', 'votereceipt',
    'votetally',
)
NOT_WATCHED = ('alembic_version', 'auditentry', 'figuresversion', 'instancesecret', 'lease', 'recordversion',
               'staffsession', 'throttlecount')
BUMP = 'UPDATE recordversion SET version = version + 1 WHERE id = 1'
# PostgreSQL: once a transaction, at its commit (a deferred constraint trigger), so that the row is
# locked only while committing. Taken at the first write instead, it would be held through the rest
# of the transaction, and a transaction waiting for it while holding a row another one waits for
# (a ballot reading its vote FOR SHARE while a closing updates the vote) would deadlock. A setting
# local to the transaction remembers it has counted already.
PG_FUNCTION = f"""
CREATE FUNCTION record_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('forum.record_version_bumped', true) IS DISTINCT FROM txid_current()::text THEN
    {BUMP};
    PERFORM set_config('forum.record_version_bumped', txid_current()::text, true);
  END IF;
  RETURN NULL;
END $$"""


def upgrade() -> None:
    op.create_table('recordversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordversion'))
    )
    op.execute("INSERT INTO recordversion (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for table in WATCHED:
            op.execute(f'CREATE CONSTRAINT TRIGGER record_version_{table} AFTER INSERT OR UPDATE OR DELETE '
                       f'ON "{table}" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                       'EXECUTE FUNCTION record_version_bump()')
        return
    # SQLite has one writer at a time: a row's update of the version costs microseconds and locks nothing more.
    for table in WATCHED:
        for event in ('insert', 'update', 'delete'):
            op.execute(f'CREATE TRIGGER record_version_{table}_{event} AFTER {event.upper()} ON "{table}" '
                       f'BEGIN {BUMP}; END')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f'DROP TRIGGER IF EXISTS record_version_{table} ON "{table}"')
        op.execute("DROP FUNCTION IF EXISTS record_version_bump()")
    else:
        for table in WATCHED:
            for event in ('insert', 'update', 'delete'):
                op.execute(f"DROP TRIGGER IF EXISTS record_version_{table}_{event}")
    op.drop_table('recordversion')

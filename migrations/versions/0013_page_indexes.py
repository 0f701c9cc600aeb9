"""page indexes: the figures' version, counted by the database on every change to what the
dashboards count (issues, meetings, attendance), so a dashboard's figures are worked out once per
change instead of on every request

Revision ID: 0013_page_indexes
Revises: 0011_action_photos
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_page_indexes'
down_revision = '0012_lease'
branch_labels = None
depends_on = None

# The columns forum.oversight reads from each table: a change to any other (a meeting's agenda
# pointer, an issue's title) leaves the figures as they were and the version alone.
WATCHED = {
    'issue': ('community_id', 'committee_id', 'category', 'status', 'raised_at', 'resolved_at'),
    'meeting': ('community_id', 'status', 'starts_at', 'series_id'),
    'attendance': ('meeting_id',),
}
BUMP = 'UPDATE figuresversion SET version = version + 1 WHERE id = 1'


def upgrade() -> None:
    op.create_table('figuresversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_figuresversion'))
    )
    op.execute("INSERT INTO figuresversion (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == 'postgresql':
        # Once a statement, not once a row: a bulk insert bumps the version once.
        op.execute("CREATE FUNCTION figures_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {BUMP}; RETURN NULL; END $$")
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER figures_version_{table} AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION figures_version_bump()")
        return
    for table, columns in WATCHED.items():
        for event in ('INSERT', 'DELETE', f"UPDATE OF {', '.join(columns)}"):
            name = f"figures_version_{table}_{event.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS figures_version_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS figures_version_bump()")
    else:
        for table in WATCHED:
            for event in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER IF EXISTS figures_version_{table}_{event}")
    op.drop_table('figuresversion')

"""sessions.end_reason: why a session ended (its status says how)

Statuses from this revision on: completed, ended_early, safety_stop, not_started, aborted,
interrupted (and running); "stopped" stays readable in stores written before it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gmi_vr.recording.migrations.table_steps import add_columns, drop_columns


revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    add_columns('sessions', sa.Column('end_reason', sa.String(length=64), nullable=True))


def downgrade() -> None:
    drop_columns('sessions', 'end_reason')

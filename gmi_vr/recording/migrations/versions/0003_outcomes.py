"""outcomes: outcome measures entered on the desktop, with time and who"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gmi_vr.recording.migrations.table_steps import create_table, drop_table


revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    create_table(
        'outcomes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('entered_by', sa.String(length=64), nullable=False),
        sa.Column('instrument', sa.String(length=32), nullable=False),
        sa.Column('phase', sa.String(length=16), nullable=True),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id']),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['patient_id', 'session_id'],
    )


def downgrade() -> None:
    drop_table('outcomes', indexed=['patient_id', 'session_id'])

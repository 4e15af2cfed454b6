"""desensitization: graded texture exposures per patient (day, home or clinic, minutes, level)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gmi_vr.recording.migrations.table_steps import create_table, drop_table


revision = '0007'
down_revision = '0006'


def upgrade() -> None:
    create_table(
        'desensitization',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('entered_by', sa.String(length=64), nullable=False),
        sa.Column('exposed_on', sa.String(length=10), nullable=False),
        sa.Column('station', sa.String(length=16), nullable=False),
        sa.Column('minutes', sa.Float(), nullable=False),
        sa.Column('texture', sa.String(length=64), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('levels', sa.Integer(), nullable=False),
        sa.CheckConstraint("station IN ('home', 'clinic')", name='desensitization_station'),
        sa.CheckConstraint('minutes > 0', name='desensitization_minutes'),
        sa.CheckConstraint('level >= 1 AND level <= levels', name='desensitization_level'),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['patient_id'],
    )


def downgrade() -> None:
    drop_table('desensitization', indexed=['patient_id'])

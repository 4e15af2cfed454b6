"""desensitization: graded texture exposures per patient (day, home or clinic, minutes, level)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
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
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('desensitization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desensitization_patient_id'), ['patient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('desensitization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desensitization_patient_id'))
    op.drop_table('desensitization')

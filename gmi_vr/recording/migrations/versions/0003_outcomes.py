"""outcomes: outcome measures entered on the desktop, with time and who

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
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
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcomes_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outcomes_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcomes_session_id'))
        batch_op.drop_index(batch_op.f('ix_outcomes_patient_id'))
    op.drop_table('outcomes')

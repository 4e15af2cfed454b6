"""sessions.frame_timing: the displayed frames' timing, summarised when a session closes

Median and p99 of each display-timing channel (pose to display, submit to display, mirrored
limb's delay in frames); the per-frame values are motion channels (motion layout 2).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frame_timing', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('frame_timing')

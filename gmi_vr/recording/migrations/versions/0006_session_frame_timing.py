"""sessions.frame_timing: the displayed frames' timing, summarised when a session closes

Median and p99 of each display-timing channel (pose to display, submit to display, mirrored
limb's delay in frames); the per-frame values are motion channels (motion layout 2).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gmi_vr.recording.migrations.table_steps import add_columns, drop_columns


revision = '0006'
down_revision = '0005'


def upgrade() -> None:
    add_columns('sessions', sa.Column('frame_timing', sa.JSON(), nullable=True))


def downgrade() -> None:
    drop_columns('sessions', 'frame_timing')

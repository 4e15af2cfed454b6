"""sessions.uid, mode and station: a session known the same way in every store it reaches

``uid`` is a random UUID given when the session starts, so a session carried from a home
machine to the clinic (a practice bundle) is recognised when it arrives twice. ``mode`` says
how it was run ("headset" or "desktop"), ``station`` where ("clinic" or "home"). Sessions
written before this revision were all headset sessions at the clinic; each gets its own uid.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from gmi_vr.recording.migrations.table_steps import add_columns


revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    add_columns(
        'sessions',
        sa.Column('uid', sa.String(length=36), nullable=True),
        sa.Column('mode', sa.String(length=16), nullable=False, server_default='headset'),
        sa.Column('station', sa.String(length=16), nullable=False, server_default='clinic'),
    )
    conn = op.get_bind()
    sessions = sa.table('sessions', sa.column('id', sa.Integer), sa.column('uid', sa.String))
    for (session_id,) in conn.execute(sa.select(sessions.c.id)).all():
        conn.execute(sessions.update().where(sessions.c.id == session_id).values(uid=str(uuid.uuid4())))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_index('ix_sessions_uid', ['uid'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_uid')
        batch_op.drop_column('station')
        batch_op.drop_column('mode')
        batch_op.drop_column('uid')

"""users and sign_ins: one account per person, with a role and an Argon2 password hash

A store without accounts works as before (the audit trail names the logged-in user); the
first account added is an admin, and from then on commands that change records ask for one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gmi_vr.recording.migrations.table_steps import create_table, drop_table


revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    create_table(
        'sign_ins',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_name', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_name'], ['users.name']),
        sa.PrimaryKeyConstraint('token_hash'),
        indexed=['user_name'],
    )


def downgrade() -> None:
    drop_table('sign_ins', indexed=['user_name'])
    drop_table('users')

"""initial session store: patients, calibrations, programs, sessions, blocks, tasks, trials,
repetitions, pain ratings, events, audit trail, motion layouts and motion chunks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gmi_vr.recording.migrations.table_steps import create_table, drop_table


revision = '0001'
down_revision = None


def upgrade() -> None:
    create_table(
        'audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('station', sa.String(length=255), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=True),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        indexed=['at'],
    )
    create_table(
        'patients',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('birth_year', sa.Integer(), nullable=True),
        sa.Column('age_band', sa.String(length=16), nullable=True),
        sa.Column('affected_side', sa.String(length=8), nullable=False),
        sa.Column('body_part', sa.String(length=32), nullable=False),
        sa.Column('program', sa.JSON(), nullable=True),
        sa.Column('settings', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    create_table(
        'calibrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['patient_id'],
    )
    create_table(
        'programs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['patient_id'],
    )
    create_table(
        'sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('program_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('owner_pid', sa.Integer(), nullable=True),
        sa.Column('owner_host', sa.String(length=255), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('runtime_name', sa.String(length=128), nullable=True),
        sa.Column('system_name', sa.String(length=256), nullable=True),
        sa.Column('display_hz', sa.Float(), nullable=True),
        sa.Column('app_version', sa.String(length=32), nullable=True),
        sa.Column('settings', sa.JSON(), nullable=True),
        sa.Column('dropped_frames', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id']),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['patient_id', 'status'],
    )
    create_table(
        'blocks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=32), nullable=False),
        sa.Column('start_s', sa.Float(), nullable=False),
        sa.Column('end_s', sa.Float(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'seq'),
        indexed=['session_id'],
    )
    create_table(
        'events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('time_s', sa.Float(), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['session_id'],
    )
    create_table(
        'motion_layouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('layout_version', sa.Integer(), nullable=False),
        sa.Column('body_joints', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['session_id'],
    )
    create_table(
        'pain_ratings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('time_s', sa.Float(), nullable=True),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.Column('phase', sa.String(length=8), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.CheckConstraint("phase IN ('before', 'during', 'after')", name='pain_phase'),
        sa.CheckConstraint("source IN ('patient', 'therapist')", name='pain_source'),
        sa.CheckConstraint('value >= 0 AND value <= 10', name='pain_value_0_10'),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id']),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        indexed=['patient_id', 'session_id'],
    )
    create_table(
        'repetitions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('task_seq', sa.Integer(), nullable=True),
        sa.Column('onset_s', sa.Float(), nullable=False),
        sa.Column('duration_s', sa.Float(), nullable=True),
        sa.Column('measures', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'seq'),
        indexed=['session_id'],
    )
    create_table(
        'tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('block_seq', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('start_s', sa.Float(), nullable=False),
        sa.Column('end_s', sa.Float(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'seq'),
        indexed=['session_id'],
    )
    create_table(
        'trials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('task_seq', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('onset_s', sa.Float(), nullable=False),
        sa.Column('body_part', sa.String(length=32), nullable=True),
        sa.Column('side', sa.String(length=8), nullable=True),
        sa.Column('rotation_deg', sa.Float(), nullable=True),
        sa.Column('view', sa.String(length=32), nullable=True),
        sa.Column('answer', sa.String(length=16), nullable=True),
        sa.Column('correct', sa.Boolean(), nullable=True),
        sa.Column('reaction_time_s', sa.Float(), nullable=True),
        sa.Column('measures', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'seq'),
        indexed=['session_id'],
    )
    create_table(
        'motion_chunks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('layout_id', sa.Integer(), nullable=False),
        sa.Column('frame_count', sa.Integer(), nullable=False),
        sa.Column('first_index', sa.BigInteger(), nullable=False),
        sa.Column('first_time_ns', sa.BigInteger(), nullable=False),
        sa.Column('last_time_ns', sa.BigInteger(), nullable=False),
        sa.Column('codec', sa.String(length=16), nullable=False),
        sa.Column('stamps', sa.LargeBinary(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['layout_id'], ['motion_layouts.id']),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'seq'),
    )
    with op.batch_alter_table('motion_chunks', schema=None) as batch_op:
        batch_op.create_index('ix_motion_chunks_session_time', ['session_id', 'first_time_ns'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('motion_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_motion_chunks_session_time')
    op.drop_table('motion_chunks')
    drop_table('trials', indexed=['session_id'])
    drop_table('tasks', indexed=['session_id'])
    drop_table('repetitions', indexed=['session_id'])
    drop_table('pain_ratings', indexed=['patient_id', 'session_id'])
    drop_table('motion_layouts', indexed=['session_id'])
    drop_table('events', indexed=['session_id'])
    drop_table('blocks', indexed=['session_id'])
    drop_table('sessions', indexed=['patient_id', 'status'])
    drop_table('programs', indexed=['patient_id'])
    drop_table('calibrations', indexed=['patient_id'])
    drop_table('patients')
    drop_table('audit', indexed=['at'])

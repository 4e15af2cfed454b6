"""initial session store: patients, calibrations, programs, sessions, blocks, tasks, trials,
repetitions, pain ratings, events, audit trail, motion layouts and motion chunks

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('station', sa.String(length=255), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_at'), ['at'], unique=False)

    op.create_table('patients',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('affected_side', sa.String(length=8), nullable=False),
    sa.Column('body_part', sa.String(length=32), nullable=False),
    sa.Column('program', sa.JSON(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('calibrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('calibrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibrations_patient_id'), ['patient_id'], unique=False)

    op.create_table('programs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programs_patient_id'), ['patient_id'], unique=False)

    op.create_table('sessions',
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
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sessions_status'), ['status'], unique=False)

    op.create_table('blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'seq')
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocks_session_id'), ['session_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('time_s', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_session_id'), ['session_id'], unique=False)

    op.create_table('motion_layouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('layout_version', sa.Integer(), nullable=False),
    sa.Column('body_joints', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('motion_layouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_motion_layouts_session_id'), ['session_id'], unique=False)

    op.create_table('pain_ratings',
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
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pain_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pain_ratings_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pain_ratings_session_id'), ['session_id'], unique=False)

    op.create_table('repetitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('task_seq', sa.Integer(), nullable=True),
    sa.Column('onset_s', sa.Float(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('measures', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'seq')
    )
    with op.batch_alter_table('repetitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repetitions_session_id'), ['session_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('block_seq', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'seq')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_session_id'), ['session_id'], unique=False)

    op.create_table('trials',
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
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'seq')
    )
    with op.batch_alter_table('trials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trials_session_id'), ['session_id'], unique=False)

    op.create_table('motion_chunks',
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
    sa.ForeignKeyConstraint(['layout_id'], ['motion_layouts.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'seq')
    )
    with op.batch_alter_table('motion_chunks', schema=None) as batch_op:
        batch_op.create_index('ix_motion_chunks_session_time', ['session_id', 'first_time_ns'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('motion_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_motion_chunks_session_time')

    op.drop_table('motion_chunks')
    with op.batch_alter_table('trials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trials_session_id'))

    op.drop_table('trials')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_session_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('repetitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repetitions_session_id'))

    op.drop_table('repetitions')
    with op.batch_alter_table('pain_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pain_ratings_session_id'))
        batch_op.drop_index(batch_op.f('ix_pain_ratings_patient_id'))

    op.drop_table('pain_ratings')
    with op.batch_alter_table('motion_layouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_motion_layouts_session_id'))

    op.drop_table('motion_layouts')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_session_id'))

    op.drop_table('events')
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocks_session_id'))

    op.drop_table('blocks')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_sessions_patient_id'))

    op.drop_table('sessions')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programs_patient_id'))

    op.drop_table('programs')
    with op.batch_alter_table('calibrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibrations_patient_id'))

    op.drop_table('calibrations')
    op.drop_table('patients')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_at'))

    op.drop_table('audit')

"""step sandbox: isolation per step and run, the command a step executes; control tickets; step executions

Revision ID: b8c41d2e7f10
Revises: 64b3efddc3d1
Create Date: 2026-11-29 21:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import maestro.domain.types

revision: str = 'b8c41d2e7f10'
down_revision: str | None = '64b3efddc3d1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'step_execution',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.String(length=32), nullable=False),
        sa.Column('step_key', sa.String(length=200), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('execution', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('isolation', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('started_at', maestro.domain.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('seen_at', maestro.domain.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', maestro.domain.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('exit_code', sa.Integer(), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=True),
        sa.Column('log_lines', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'step_key', 'attempt', 'execution'),
    )
    with op.batch_alter_table('step_execution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_execution_run_id'), ['run_id'], unique=False)
    op.create_table(
        'control_ticket',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('workflow_id', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('issued_at', maestro.domain.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', maestro.domain.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', maestro.domain.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('jti'),
    )
    with op.batch_alter_table('control_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_control_ticket_workflow_id'), ['workflow_id'], unique=False)
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('isolation', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('command', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('isolation', sa.String(length=16), nullable=False, server_default=''))


def downgrade() -> None:
    op.drop_table('step_execution')
    op.drop_table('control_ticket')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('isolation')
    with op.batch_alter_table('step_run', schema=None) as batch_op:
        batch_op.drop_column('command')
        batch_op.drop_column('isolation')

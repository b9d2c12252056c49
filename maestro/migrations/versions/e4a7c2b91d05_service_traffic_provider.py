"""service traffic provider: the provider that carries a service's traffic and its settings; the
rollout's last applied projection (a retried projection is applied once)

Revision ID: e4a7c2b91d05
Revises: c3d9a1f0b2e4
Create Date: 2026-11-30 06:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e4a7c2b91d05'
down_revision: str | None = 'c3d9a1f0b2e4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sa.String(length=32), nullable=False, server_default='edge'))
        batch_op.add_column(sa.Column('provider_config', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('rollout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('projected_seq', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('rollout', schema=None) as batch_op:
        batch_op.drop_column('projected_seq')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('provider_config')
        batch_op.drop_column('provider')

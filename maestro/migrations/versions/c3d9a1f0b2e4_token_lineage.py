"""token lineage: the token that minted a token (a child never outlives nor survives its parent)

Revision ID: c3d9a1f0b2e4
Revises: b8c41d2e7f10
Create Date: 2026-11-30 00:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c3d9a1f0b2e4'
down_revision: str | None = 'b8c41d2e7f10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_token_parent_id'), ['parent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_parent_id'))
        batch_op.drop_column('parent_id')

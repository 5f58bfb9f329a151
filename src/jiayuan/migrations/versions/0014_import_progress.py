"""registry imports in the worker: an import's state (queued, running, done, failed), its progress and failure,
and the key of the queued file

Revision ID: 0014
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        # Every import made before ran whole in its request: done.
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('stage', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('rows_done', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rows_total', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('failure', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('file_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('registry_imports', schema=None) as batch_op:
        for column in ('finished_at', 'started_at', 'file_key', 'failure', 'rows_total', 'rows_done', 'stage',
                       'status'):
            batch_op.drop_column(column)

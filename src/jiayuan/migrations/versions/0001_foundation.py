"""foundation: units, grid members, users, audit log

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_district_code_action', ['district_code', 'action'], unique=False)
        batch_op.create_index('ix_audit_log_district_code_at', ['district_code', 'at'], unique=False)

    op.create_table('cache_versions',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('token', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_versions'))
    )
    op.create_table('units',
    sa.Column('code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('parent_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=True),
    sa.Column('geometry', sa.JSON(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(level = 'district' AND length(code) = 6) OR (level = 'street' AND length(code) = 9) OR (level = 'community' AND length(code) = 12) OR (level = 'grid' AND length(code) = 15)", name=op.f('ck_units_code_length')),
    sa.CheckConstraint("level IN ('district', 'street', 'community', 'grid')", name=op.f('ck_units_level')),
    sa.CheckConstraint('substr(code, 1, 6) = district_code', name=op.f('ck_units_code_in_district')),
    sa.ForeignKeyConstraint(['district_code', 'parent_code'], ['units.district_code', 'units.code'], name=op.f('fk_units_district_code_parent_code_units')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_units')),
    sa.UniqueConstraint('district_code', 'code', name=op.f('uq_units_district_code_code'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index('ix_units_district_code_parent_code', ['district_code', 'parent_code'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('scope_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_scope_code', ['scope_code'], unique=False)

    op.create_table('grid_members',
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'grid_code'], ['units.district_code', 'units.code'], name=op.f('fk_grid_members_district_code_grid_code_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grid_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_grid_members')),
    sa.UniqueConstraint('district_code', 'grid_code', 'user_id', name=op.f('uq_grid_members_district_code_grid_code_user_id'))
    )
    with op.batch_alter_table('grid_members', schema=None) as batch_op:
        batch_op.create_index('ix_grid_members_user_id', ['user_id'], unique=False)
        batch_op.create_index('uq_grid_members_one_lead', ['district_code', 'grid_code'], unique=True, sqlite_where=sa.text('is_lead'), postgresql_where=sa.text('is_lead'))



def downgrade() -> None:
    with op.batch_alter_table('grid_members', schema=None) as batch_op:
        batch_op.drop_index('uq_grid_members_one_lead', sqlite_where=sa.text('is_lead'), postgresql_where=sa.text('is_lead'))
        batch_op.drop_index('ix_grid_members_user_id')

    op.drop_table('grid_members')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_scope_code')

    op.drop_table('users')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index('ix_units_district_code_parent_code')

    op.drop_table('units')
    op.drop_table('cache_versions')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_district_code_at')
        batch_op.drop_index('ix_audit_log_district_code_action')

    op.drop_table('audit_log')

"""cases: categories, working calendar, cases, events, photos, Open311 clients, outbox

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_categories',
    sa.Column('code', sa.String(length=4), nullable=False),
    sa.Column('parent_code', sa.String(length=4), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('handling_level', sa.String(length=12), nullable=False),
    sa.Column('time_limit_hours', sa.Integer(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_case_categories'))
    )
    op.create_table('open311_clients',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_clients')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_open311_clients_key_hash'))
    )
    op.create_table('outbox',
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('ref', sa.String(length=60), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_district_code_user_id', ['district_code', 'user_id'], unique=False)
        batch_op.create_index('ix_outbox_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('work_calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_work_calendar_days'))
    )
    op.create_table('work_calendar_years',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_work_calendar_years'))
    )
    op.create_table('cases',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('category_code', sa.String(length=4), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('origin_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('unit_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=True),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('reporter_id', sa.Uuid(), nullable=True),
    sa.Column('reporter_name', sa.String(length=60), nullable=True),
    sa.Column('reporter_phone', sa.String(length=200), nullable=True),
    sa.Column('reporter_phone_index', sa.String(length=64), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('supervision', sa.String(length=8), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stage_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stage_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_on_time', sa.Boolean(), nullable=True),
    sa.Column('closed_on_time', sa.Boolean(), nullable=True),
    sa.Column('rework_count', sa.Integer(), nullable=False),
    sa.Column('response_hours', sa.Float(), nullable=True),
    sa.Column('handling_hours', sa.Float(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('extension_requested_hours', sa.Integer(), nullable=True),
    sa.Column('suspension_requested', sa.Boolean(), nullable=False),
    sa.Column('status_before_suspension', sa.String(length=12), nullable=True),
    sa.Column('rating', sa.String(length=20), nullable=True),
    sa.Column('rating_comment', sa.String(length=500), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_into_id', sa.Uuid(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=120), nullable=True),
    sa.Column('open311_client_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_code'], ['case_categories.code'], name=op.f('fk_cases_category_code_case_categories')),
    sa.ForeignKeyConstraint(['district_code', 'merged_into_id'], ['cases.district_code', 'cases.id'], name=op.f('fk_cases_district_code_merged_into_id_cases')),
    sa.ForeignKeyConstraint(['open311_client_id'], ['open311_clients.id'], name=op.f('fk_cases_open311_client_id_open311_clients')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_cases')),
    sa.UniqueConstraint('district_code', 'idempotency_key', name=op.f('uq_cases_district_code_idempotency_key')),
    sa.UniqueConstraint('district_code', 'number', name=op.f('uq_cases_district_code_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_district_code_assignee_id_status', ['district_code', 'assignee_id', 'status'], unique=False)
        batch_op.create_index('ix_cases_district_code_category_code_reported_at', ['district_code', 'category_code', 'reported_at'], unique=False)
        batch_op.create_index('ix_cases_district_code_origin_code_reported_at', ['district_code', 'origin_code', 'reported_at'], unique=False)
        batch_op.create_index('ix_cases_district_code_reported_at', ['district_code', 'reported_at'], unique=False)
        batch_op.create_index('ix_cases_district_code_status_stage_due_at', ['district_code', 'status', 'stage_due_at'], unique=False)
        batch_op.create_index('ix_cases_district_code_unit_code_status', ['district_code', 'unit_code', 'status'], unique=False)
        batch_op.create_index('ix_cases_number', ['number'], unique=False)
        batch_op.create_index('ix_cases_reporter_id', ['reporter_id'], unique=False)
        batch_op.create_index('ix_cases_district_code_reporter_phone_index', ['district_code', 'reporter_phone_index'], unique=False)

    op.create_table('case_events',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'case_id'], ['cases.district_code', 'cases.id'], name=op.f('fk_case_events_district_code_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_district_code_case_id_at', ['district_code', 'case_id', 'at'], unique=False)

    op.create_table('case_photos',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('thumb_key', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'case_id'], ['cases.district_code', 'cases.id'], name=op.f('fk_case_photos_district_code_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['district_code', 'event_id'], ['case_events.district_code', 'case_events.id'], name=op.f('fk_case_photos_district_code_event_id_case_events')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_case_photos'))
    )
    with op.batch_alter_table('case_photos', schema=None) as batch_op:
        batch_op.create_index('ix_case_photos_district_code_case_id', ['district_code', 'case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_case_photos_district_code_case_id')

    op.drop_table('case_photos')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_district_code_case_id_at')

    op.drop_table('case_events')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_district_code_reporter_phone_index')
        batch_op.drop_index('ix_cases_reporter_id')
        batch_op.drop_index('ix_cases_number')
        batch_op.drop_index('ix_cases_district_code_unit_code_status')
        batch_op.drop_index('ix_cases_district_code_status_stage_due_at')
        batch_op.drop_index('ix_cases_district_code_reported_at')
        batch_op.drop_index('ix_cases_district_code_origin_code_reported_at')
        batch_op.drop_index('ix_cases_district_code_category_code_reported_at')
        batch_op.drop_index('ix_cases_district_code_assignee_id_status')

    op.drop_table('cases')
    op.drop_table('work_calendar_years')
    op.drop_table('work_calendar_days')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_created_at')
        batch_op.drop_index('ix_outbox_district_code_user_id')

    op.drop_table('outbox')
    op.drop_table('open311_clients')
    op.drop_table('case_categories')

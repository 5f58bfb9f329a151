"""hours only for confirmed work: visits record their approval by staff and when their minutes were credited;
visits credited when they were logged and never confirmed are marked (credited_unconfirmed), their hours left alone

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN on both databases (SQLite's batch mode would copy the table, and dropping the
    # old one with foreign keys on would take the visits' photos with it).
    op.add_column('care_visits', sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('care_visits', sa.Column('approved_by', sa.Uuid(), nullable=True))
    op.add_column('care_visits', sa.Column('credited_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('care_visits', sa.Column('credited_unconfirmed', sa.Boolean(), server_default=sa.false(),
                                           nullable=False))
    op.create_index('ix_care_visits_district_code_volunteer_id_visited_at', 'care_visits',
                    ['district_code', 'volunteer_id', 'visited_at'], unique=False)

    # Until now every visit credited its minutes when it was logged. Those credits stay as they are (the hours
    # ledger is append-only, and the hours may have become points or honours); each visit records when it was
    # credited, and those never confirmed are marked, for the district to review.
    visits = sa.table('care_visits', sa.column('district_code', sa.String), sa.column('id', sa.Uuid),
                      sa.column('confirmed_at', sa.DateTime(timezone=True)),
                      sa.column('credited_at', sa.DateTime(timezone=True)),
                      sa.column('credited_unconfirmed', sa.Boolean))
    hours = sa.table('volunteer_hours', sa.column('district_code', sa.String), sa.column('volunteer_id', sa.Uuid),
                     sa.column('at', sa.DateTime(timezone=True)), sa.column('minutes', sa.Integer),
                     sa.column('source_type', sa.String), sa.column('source_id', sa.Uuid))
    credit = (sa.select(sa.func.min(hours.c.at))
              .where(hours.c.district_code == visits.c.district_code, hours.c.source_type == 'visit',
                     hours.c.source_id == visits.c.id, hours.c.minutes > 0)
              .scalar_subquery())
    op.execute(visits.update().where(visits.c.credited_at.is_(None)).values(credited_at=credit))
    op.execute(visits.update().where(visits.c.credited_at.is_not(None), visits.c.confirmed_at.is_(None))
               .values(credited_unconfirmed=sa.true()))


def downgrade() -> None:
    op.drop_index('ix_care_visits_district_code_volunteer_id_visited_at', table_name='care_visits')
    op.drop_column('care_visits', 'credited_unconfirmed')
    op.drop_column('care_visits', 'credited_at')
    op.drop_column('care_visits', 'approved_by')
    op.drop_column('care_visits', 'approved_at')

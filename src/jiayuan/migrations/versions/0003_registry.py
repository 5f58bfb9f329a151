"""registry: compounds, buildings, rooms, households, people, tags, moves, things, organizations

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('compounds',
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('property_company', sa.String(length=100), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('geometry', sa.JSON(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_compounds')),
    sa.UniqueConstraint('district_code', 'grid_code', 'name', name=op.f('uq_compounds_district_code_grid_code_name'))
    )
    op.create_table('organizations',
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('contact_name', sa.String(length=60), nullable=True),
    sa.Column('contact_phone', sa.String(length=200), nullable=True),
    sa.Column('staff_count', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('district_code', 'credit_code', name=op.f('uq_organizations_district_code_credit_code'))
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index('ix_organizations_district_code_grid_code_kind', ['district_code', 'grid_code', 'kind'], unique=False)

    op.create_table('things',
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('maintainer', sa.String(length=100), nullable=True),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_things')),
    sa.UniqueConstraint('district_code', 'code', name=op.f('uq_things_district_code_code'))
    )
    with op.batch_alter_table('things', schema=None) as batch_op:
        batch_op.create_index('ix_things_district_code_grid_code_kind', ['district_code', 'grid_code', 'kind'], unique=False)

    op.create_table('buildings',
    sa.Column('compound_id', sa.Uuid(), nullable=True),
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('floors', sa.Integer(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'compound_id'], ['compounds.district_code', 'compounds.id'], name=op.f('fk_buildings_district_code_compound_id_compounds')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_buildings')),
    sa.UniqueConstraint('district_code', 'compound_id', 'name', name=op.f('uq_buildings_district_code_compound_id_name'))
    )
    with op.batch_alter_table('buildings', schema=None) as batch_op:
        batch_op.create_index('ix_buildings_district_code_grid_code', ['district_code', 'grid_code'], unique=False)

    op.create_table('rooms',
    sa.Column('building_id', sa.Uuid(), nullable=False),
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('entrance', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('use', sa.String(length=16), nullable=False),
    sa.Column('area', sa.Float(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'building_id'], ['buildings.district_code', 'buildings.id'], name=op.f('fk_rooms_district_code_building_id_buildings')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_rooms')),
    sa.UniqueConstraint('district_code', 'building_id', 'entrance', 'number', name=op.f('uq_rooms_district_code_building_id_entrance_number'))
    )
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.create_index('ix_rooms_district_code_grid_code', ['district_code', 'grid_code'], unique=False)

    op.create_table('households',
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=True),
    sa.Column('room_id', sa.Uuid(), nullable=True),
    sa.Column('head_id', sa.Uuid(), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'room_id'], ['rooms.district_code', 'rooms.id'], name=op.f('fk_households_district_code_room_id_rooms')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_households'))
    )
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.create_index('ix_households_district_code_grid_code', ['district_code', 'grid_code'], unique=False)

    op.create_table('people',
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('name_initials', sa.String(length=30), nullable=True),
    sa.Column('id_number', sa.String(length=200), nullable=True),
    sa.Column('id_number_index', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=200), nullable=True),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=6), nullable=True),
    sa.Column('residence_type', sa.String(length=12), nullable=False),
    sa.Column('floating_expires_on', sa.Date(), nullable=True),
    sa.Column('household_id', sa.Uuid(), nullable=True),
    sa.Column('relation', sa.String(length=20), nullable=True),
    sa.Column('room_id', sa.Uuid(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('anonymized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'household_id'], ['households.district_code', 'households.id'], name=op.f('fk_people_district_code_household_id_households')),
    sa.ForeignKeyConstraint(['district_code', 'room_id'], ['rooms.district_code', 'rooms.id'], name=op.f('fk_people_district_code_room_id_rooms')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_people')),
    sa.UniqueConstraint('district_code', 'id_number_index', name=op.f('uq_people_district_code_id_number_index'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index('ix_people_district_code_grid_code', ['district_code', 'grid_code'], unique=False)
        batch_op.create_index('ix_people_district_code_name', ['district_code', 'name'], unique=False)
        batch_op.create_index('ix_people_district_code_name_initials', ['district_code', 'name_initials'], unique=False)
        batch_op.create_index('ix_people_district_code_phone_index', ['district_code', 'phone_index'], unique=False)

    op.create_table('person_moves',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_grid', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=True),
    sa.Column('to_grid', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('from_room_id', sa.Uuid(), nullable=True),
    sa.Column('to_room_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'person_id'], ['people.district_code', 'people.id'], name=op.f('fk_person_moves_district_code_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_person_moves'))
    )
    with op.batch_alter_table('person_moves', schema=None) as batch_op:
        batch_op.create_index('ix_person_moves_district_code_person_id', ['district_code', 'person_id'], unique=False)

    op.create_table('person_tags',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('grid_code', sa.String(length=15).with_variant(sa.String(length=15, collation='C'), 'postgresql'), nullable=False),
    sa.Column('tag', sa.String(length=20), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('district_code', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'person_id'], ['people.district_code', 'people.id'], name=op.f('fk_person_tags_district_code_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_person_tags'))
    )
    with op.batch_alter_table('person_tags', schema=None) as batch_op:
        batch_op.create_index('ix_person_tags_district_code_person_id', ['district_code', 'person_id'], unique=False)
        batch_op.create_index('ix_person_tags_district_code_tag_grid_code', ['district_code', 'tag', 'grid_code'], unique=False)

    # A case may be about a facility or component (部件) of the registry.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thing_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cases_district_code_thing_id_things'), 'things', ['district_code', 'thing_id'], ['district_code', 'id'])


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_district_code_thing_id_things'), type_='foreignkey')
        batch_op.drop_column('thing_id')

    with op.batch_alter_table('person_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_person_tags_district_code_tag_grid_code')
        batch_op.drop_index('ix_person_tags_district_code_person_id')

    op.drop_table('person_tags')
    with op.batch_alter_table('person_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_person_moves_district_code_person_id')

    op.drop_table('person_moves')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index('ix_people_district_code_phone_index')
        batch_op.drop_index('ix_people_district_code_name_initials')
        batch_op.drop_index('ix_people_district_code_name')
        batch_op.drop_index('ix_people_district_code_grid_code')

    op.drop_table('people')
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index('ix_households_district_code_grid_code')

    op.drop_table('households')
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_index('ix_rooms_district_code_grid_code')

    op.drop_table('rooms')
    with op.batch_alter_table('buildings', schema=None) as batch_op:
        batch_op.drop_index('ix_buildings_district_code_grid_code')

    op.drop_table('buildings')
    with op.batch_alter_table('things', schema=None) as batch_op:
        batch_op.drop_index('ix_things_district_code_grid_code_kind')

    op.drop_table('things')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index('ix_organizations_district_code_grid_code_kind')

    op.drop_table('organizations')
    op.drop_table('compounds')

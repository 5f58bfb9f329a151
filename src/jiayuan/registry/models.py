"""Tables of the registry. Personal data (ID numbers, phones) is stored encrypted, with a blind index for
exact look-ups; every row carries the grid it belongs to, which scopes who may see it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, UtcDateTime, tenant_fk

# Fixed vocabularies (the pages translate them).
ROOM_USES = ("self_occupied", "rented", "vacant", "commercial")
RESIDENCE_TYPES = ("registered", "floating", "foreign", "unsettled")  # 户籍, 流动, 境外, 未落户
TAGS = ("aged_60", "aged_80", "living_alone", "empty_nest", "disabled", "allowance", "left_behind_child",
        "entitled", "attention")
THING_KINDS = ("street_lamp", "manhole_cover", "well", "septic_tank", "hydrant", "camera", "anti_theft_door",
               "pocket_park", "fitness_equipment", "other")
THING_STATUSES = ("ok", "damaged", "missing", "removed")
ORGANIZATION_KINDS = ("enterprise", "social_welfare", "social_charity", "social_service", "social_rights",
                      "property_company", "homeowners_committee")


class Compound(Tenant, Timestamped, Base):
    """小区: a residential estate; no property company means 无物业小区."""

    __tablename__ = "compounds"
    __scope_column__ = "grid_code"

    grid_code: Mapped[str] = mapped_column(CodeString)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    property_company: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("district_code", "grid_code", "name"),)


class Building(Tenant, Timestamped, Base):
    """楼栋 of a compound (or standing alone)."""

    __tablename__ = "buildings"
    __scope_column__ = "grid_code"

    compound_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)
    name: Mapped[str] = mapped_column(String(60))  # e.g. 3栋
    floors: Mapped[int | None] = mapped_column(Integer)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        tenant_fk(["compound_id"], "compounds"),
        UniqueConstraint("district_code", "compound_id", "name"),
        Index("ix_buildings_district_code_grid_code", "district_code", "grid_code"),
    )


class Room(Tenant, Timestamped, Base):
    """房屋: a dwelling or shop in a building, by entrance (单元) and number."""

    __tablename__ = "rooms"
    __scope_column__ = "grid_code"

    building_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)
    entrance: Mapped[str] = mapped_column(String(20), default="")  # 单元, e.g. 2单元; "" when none
    number: Mapped[str] = mapped_column(String(20))  # e.g. 502
    use: Mapped[str] = mapped_column(String(16))
    area: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        tenant_fk(["building_id"], "buildings"),
        UniqueConstraint("district_code", "building_id", "entrance", "number"),
        Index("ix_rooms_district_code_grid_code", "district_code", "grid_code"),
    )


class Household(Tenant, Timestamped, Base):
    """户: the people who live together, with a head."""

    __tablename__ = "households"
    __scope_column__ = "grid_code"

    grid_code: Mapped[str] = mapped_column(CodeString)
    number: Mapped[str | None] = mapped_column(String(30))  # 户号 on the household register
    room_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    head_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["room_id"], "rooms"),
        Index("ix_households_district_code_grid_code", "district_code", "grid_code"),
    )


class Person(Tenant, Timestamped, Base):
    """人: a resident. The ID number and phone are ciphertext; look-ups go through their blind indexes."""

    __tablename__ = "people"
    __scope_column__ = "grid_code"

    grid_code: Mapped[str] = mapped_column(CodeString)
    name: Mapped[str] = mapped_column(String(60))
    name_initials: Mapped[str | None] = mapped_column(String(30))  # pinyin initials, for search (e.g. ZSF)
    id_number: Mapped[str | None] = mapped_column(Encrypted("people.id_number", 200))
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(Encrypted("people.phone", 200))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(6))
    residence_type: Mapped[str] = mapped_column(String(12), default="registered")
    floating_expires_on: Mapped[date | None] = mapped_column(Date)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    relation: Mapped[str | None] = mapped_column(String(20))  # to the head: 户主, 配偶, 子女 …
    room_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    notes: Mapped[str | None] = mapped_column(Text)
    anonymized_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        tenant_fk(["household_id"], "households"),
        tenant_fk(["room_id"], "rooms"),
        # One person per ID number in a district (NULLs — people without one — do not collide).
        UniqueConstraint("district_code", "id_number_index"),
        Index("ix_people_district_code_grid_code", "district_code", "grid_code"),
        Index("ix_people_district_code_phone_index", "district_code", "phone_index"),
        # Name search (registry/people/service.py _name_clause): each arm of its OR has an index, so that PostgreSQL
        # combines them instead of reading the district's people. Pattern operator classes let LIKE 'q%' use
        # them whatever the database's collation.
        Index("ix_people_district_code_name", "district_code", "name",
              postgresql_ops={"name": "varchar_pattern_ops"}),
        Index("ix_people_district_code_name_initials", "district_code", "name_initials",
              postgresql_ops={"name_initials": "varchar_pattern_ops"}),
        Index("ix_people_district_code_room_id", "district_code", "room_id"),
    )


def name_from(position: int) -> Any:
    """The name from its `position`-th character: where a given name starts after a surname of one or two."""
    return func.substr(Person.name, literal_column(str(position)), type_=String)


# A query matches a name where it starts at its 1st, 2nd or 3rd character (every place it can start in a name of
# up to three), and anywhere in the few longer names (compound surnames, names of minorities and foreigners).
LONG_NAME = 3
Index("ix_people_name_from_2", Person.district_code, name_from(2).label("name_from_2"),
      postgresql_ops={"name_from_2": "text_pattern_ops"})
Index("ix_people_name_from_3", Person.district_code, name_from(3).label("name_from_3"),
      postgresql_ops={"name_from_3": "text_pattern_ops"})
Index("ix_people_long_names", Person.district_code, Person.name,
      sqlite_where=func.length(Person.name) > literal_column(str(LONG_NAME)),
      postgresql_where=func.length(Person.name) > literal_column(str(LONG_NAME)))


class PersonTag(Tenant, Base):
    """A group a person belongs to for a time: aged 80+, living alone, on the allowance, disabled …"""

    __tablename__ = "person_tags"
    __scope_column__ = "grid_code"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)  # copied from the person, moved with them
    tag: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(10))  # disability grade
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        tenant_fk(["person_id"], "people", ondelete="CASCADE"),
        Index("ix_person_tags_district_code_person_id", "district_code", "person_id"),
        Index("ix_person_tags_district_code_tag_grid_code", "district_code", "tag", "grid_code"),
    )


class PersonMove(Tenant, Base):
    """One move of a person to another room or grid: the history a move keeps."""

    __tablename__ = "person_moves"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    moved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    from_grid: Mapped[str | None] = mapped_column(CodeString)
    to_grid: Mapped[str] = mapped_column(CodeString)
    from_room_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    to_room_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        tenant_fk(["person_id"], "people", ondelete="CASCADE"),
        Index("ix_person_moves_district_code_person_id", "district_code", "person_id"),
    )


class Thing(Tenant, Timestamped, Base):
    """物: a facility or urban component (部件) — a street lamp, a manhole cover, a camera …"""

    __tablename__ = "things"
    __scope_column__ = "grid_code"

    grid_code: Mapped[str] = mapped_column(CodeString)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(40))  # the component's own number, if it has one
    name: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="ok")
    owner: Mapped[str | None] = mapped_column(String(100))  # owning department
    maintainer: Mapped[str | None] = mapped_column(String(100))
    installed_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("district_code", "code"),
        Index("ix_things_district_code_grid_code_kind", "district_code", "grid_code", "kind"),
    )


class Organization(Tenant, Timestamped, Base):
    """组织: an enterprise, social organization, property company or homeowners' committee."""

    __tablename__ = "organizations"
    __scope_column__ = "grid_code"

    grid_code: Mapped[str] = mapped_column(CodeString)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    address: Mapped[str | None] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(Encrypted("organizations.contact_phone", 200))
    staff_count: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("district_code", "credit_code"),
        Index("ix_organizations_district_code_grid_code_kind", "district_code", "grid_code", "kind"),
    )


class RegistryImport(Tenant, Timestamped, Base):
    """One import of a spreadsheet from a page or the API: who, what, how it went, and its row errors (which
    name a row, a column and a reason, never a value), so that the importer can download the report later."""

    __tablename__ = "registry_imports"
    __scope_column__ = "scope_code"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    scope_code: Mapped[str] = mapped_column(CodeString)  # the importer's unit
    kind: Mapped[str] = mapped_column(String(16))  # people, houses, facilities, organizations
    file_name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))  # all_or_nothing, valid_only
    total: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[bool] = mapped_column(Boolean, default=False)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Where it stands: "queued" for the worker (a large file), "running", "done" (the counts and errors above),
    # "failed" (the file could not be read, or the work stopped: `failure` says why). Imports made before had none.
    status: Mapped[str] = mapped_column(String(10), default="done", server_default="done")
    stage: Mapped[str | None] = mapped_column(String(10))  # "check" while rows are read and checked, then "write"
    rows_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_total: Mapped[int | None] = mapped_column(Integer)  # as far as the file tells before it is read
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the error: field, reason, message, details
    file_key: Mapped[str | None] = mapped_column(String(200))  # the queued file in storage, sealed; removed once run
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_registry_imports_district_code_user_id_created_at", "district_code", "user_id", "created_at"),
    )

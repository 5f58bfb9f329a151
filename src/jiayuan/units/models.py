"""Tables of the unit hierarchy and the grid workers answerable for each grid."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped

LEVELS = ("district", "street", "community", "grid")
CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 15}
LEVEL_OF_LENGTH = {n: level for level, n in CODE_LENGTH.items()}


class Unit(Tenant, Timestamped, Base):
    """One unit of any level (区 / 街道 / 社区 / 网格); its code is the key every other row points by."""

    __tablename__ = "units"
    __scope_column__ = "code"

    code: Mapped[str] = mapped_column(CodeString)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(CodeString)
    # A GeoJSON geometry (Polygon or MultiPolygon), WGS-84 lon/lat.
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("district_code", "code"),
        # The parent is found through the same district: composite, as every tenant foreign key.
        ForeignKeyConstraint(["district_code", "parent_code"], ["units.district_code", "units.code"]),
        Index("ix_units_district_code_parent_code", "district_code", "parent_code"),
        CheckConstraint("level IN ('district', 'street', 'community', 'grid')", name="level"),
        CheckConstraint(
            "(level = 'district' AND length(code) = 6) OR (level = 'street' AND length(code) = 9)"
            " OR (level = 'community' AND length(code) = 12) OR (level = 'grid' AND length(code) = 15)",
            name="code_length",
        ),
        CheckConstraint("substr(code, 1, 6) = district_code", name="code_in_district"),
    )


class GridMember(Tenant, Timestamped, Base):
    """A grid worker answerable for a grid (网格员); exactly one per grid is its lead (网格长)."""

    __tablename__ = "grid_members"
    __scope_column__ = "grid_code"

    grid_code: Mapped[str] = mapped_column(CodeString)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("district_code", "grid_code", "user_id"),
        Index(
            "uq_grid_members_one_lead",
            "district_code",
            "grid_code",
            unique=True,
            sqlite_where=text("is_lead"),
            postgresql_where=text("is_lead"),
        ),
        ForeignKeyConstraint(
            ["district_code", "grid_code"], ["units.district_code", "units.code"], ondelete="CASCADE"
        ),
        Index("ix_grid_members_user_id", "user_id"),
    )

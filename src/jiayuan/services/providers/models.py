"""Tables of member providers (加盟企业): the providers, the areas they serve, their items, staff and events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, UtcDateTime, tenant_fk, utcnow

# Fixed vocabularies (the pages translate them).
PROVIDER_STATUSES = ("applied", "approved", "active", "suspended", "withdrawn")


class Provider(Tenant, Timestamped, Base):
    """A member enterprise (加盟企业) of the 12343 hotline, from application to withdrawal."""

    __tablename__ = "providers"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the unit that admitted it (the district)
    name: Mapped[str] = mapped_column(String(120))
    credit_code: Mapped[str] = mapped_column(String(18))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the registry's record of it, if any
    status: Mapped[str] = mapped_column(String(12), default="applied")
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(Encrypted("providers.contact_phone", 200))
    service_phone: Mapped[str | None] = mapped_column(String(30))  # the public line residents may call
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    round_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    weekly_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    # Set when its mean rating falls under the threshold: the district decides whether to suspend.
    flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("district_code", "credit_code"),
        tenant_fk(["organization_id"], "organizations"),
        Index("ix_providers_district_code_status", "district_code", "status"),
    )


class ProviderArea(Tenant, Base):
    """A unit a provider serves: a grid, community, street or the whole district."""

    __tablename__ = "provider_areas"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    unit_code: Mapped[str] = mapped_column(CodeString)

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        UniqueConstraint("district_code", "provider_id", "unit_code"),
        Index("ix_provider_areas_district_code_unit_code", "district_code", "unit_code"),
    )


class ProviderItem(Tenant, Base):
    """An item of the catalogue a provider offers, at its own price."""

    __tablename__ = "provider_items"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_code: Mapped[str] = mapped_column(String(4), ForeignKey("service_items.code"))
    price_fen: Mapped[int | None] = mapped_column(Integer)  # None: quoted on site
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        UniqueConstraint("district_code", "provider_id", "item_code"),
        Index("ix_provider_items_district_code_item_code", "district_code", "item_code"),
    )


class ProviderStaff(Tenant, Base):
    """A staff account (role provider) of a provider: sees and answers its orders."""

    __tablename__ = "provider_staff"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        UniqueConstraint("district_code", "user_id"),
    )


class ProviderEvent(Tenant, Base):
    """One step of a provider's status, by district staff with a reason."""

    __tablename__ = "provider_events"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_name: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        Index("ix_provider_events_district_code_provider_id_at", "district_code", "provider_id", "at"),
    )

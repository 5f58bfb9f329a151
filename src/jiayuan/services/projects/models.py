"""Tables of special service projects, their beneficiaries and activities, and produce points."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, tenant_fk


class ServiceProject(Tenant, Timestamped, Base):
    """A special service project (特色服务项目) run by an organization for a target group."""

    __tablename__ = "service_projects"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # where it runs: district, street or community
    name: Mapped[str] = mapped_column(String(120))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the registry organization running it
    description: Mapped[str | None] = mapped_column(Text)
    target_tags: Mapped[list[str] | None] = mapped_column(JSON)  # registry tags of the people it serves
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        tenant_fk(["organization_id"], "organizations"),
        UniqueConstraint("district_code", "unit_code", "name"),
    )


class ProjectBeneficiary(Tenant, Base):
    """A registry person a project serves."""

    __tablename__ = "service_project_beneficiaries"

    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    enrolled_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        tenant_fk(["project_id"], "service_projects", ondelete="CASCADE"),
        tenant_fk(["person_id"], "people"),
        UniqueConstraint("district_code", "project_id", "person_id"),
    )


class ProjectActivity(Tenant, Base):
    """Something a project did: a home visit, a class, a trip home for someone who was lost."""

    __tablename__ = "service_project_activities"

    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(120))
    participants: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["project_id"], "service_projects", ondelete="CASCADE"),
        Index("ix_service_project_activities_district_code_project_id_held_on", "district_code", "project_id",
              "held_on"),
    )


class ProducePoint(Tenant, Timestamped, Base):
    """A farm-to-community produce point (农超对接): where and when farmers sell in the community."""

    __tablename__ = "produce_points"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the community (or grid) it stands in
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    supplier: Mapped[str | None] = mapped_column(String(120))
    weekly_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("district_code", "unit_code", "name"),)

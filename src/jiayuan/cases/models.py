"""Tables of cases: categories, the working calendar, cases with their timeline and photos, Open311 clients."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted, blind_index
from jiayuan.kit.db import (
    Base,
    CodeString,
    Reference,
    Tenant,
    Timestamped,
    UtcDateTime,
    tenant_fk,
    utcnow,
    uuid7,
)

PHONE_CONTEXT = "cases.reporter_phone"


def phone_key(phone: str) -> str:
    """The blind index of a normalised reporter phone (`reporter_phone_index`): how a case is found by phone
    without decrypting."""
    return blind_index(phone, context=PHONE_CONTEXT)


class Category(Reference, Timestamped, Base):
    """A case category (2-digit group, 4-digit item): who handles it by default, and how fast."""

    __tablename__ = "case_categories"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(12))  # component | event | social
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(100))
    # grid | community | street | district | department
    handling_level: Mapped[str] = mapped_column(String(12), default="grid")
    # Handling time limit in working hours (calendar hours for urgent categories).
    time_limit_hours: Mapped[int] = mapped_column(Integer, default=40)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The department account cases of this category are transferred to (level "department").
    department: Mapped[str | None] = mapped_column(String(64))
    # Open311 clients see this as the service's "keywords" and "group".
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    # Extra questions asked at intake (Open311 service-definition attributes), as a list of dicts.
    attributes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class WorkCalendarDay(Reference, Base):
    """A day that differs from the Monday–Friday rule: a public holiday, or a make-up workday (调休)."""

    __tablename__ = "work_calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(60))


class WorkCalendarYear(Reference, Base):
    """A year whose official schedule is known (seeded from chinese-calendar, or entered by the admin)."""

    __tablename__ = "work_calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# Every column the case metrics read besides the index keys (cases/metrics/service.py: the cohort, the groups, the counts).
METRICS_COLUMNS = ("origin_code", "status", "registered_at", "handled_at", "due_at", "handled_on_time",
                   "closed_on_time", "rework_count", "rating", "response_hours", "handling_hours", "department",
                   "assignee_id")


class Case(Tenant, Timestamped, Base):
    """One reported problem or request (事件), from report to rating."""

    __tablename__ = "cases"
    # Visibility follows where the case arose: an escalated case stays in the grid's and community's view.
    __scope_column__ = "origin_code"

    number: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str] = mapped_column(String(4), ForeignKey("case_categories.code"))
    channel: Mapped[str] = mapped_column(String(12))  # resident | hotline | patrol | api | open311
    status: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Where the case arose (its grid, else the unit it was reported to); never changes.
    origin_code: Mapped[str] = mapped_column(CodeString)
    # The unit answerable now: the grid, or the community / street / district it was escalated to.
    unit_code: Mapped[str] = mapped_column(CodeString)
    grid_code: Mapped[str | None] = mapped_column(CodeString)
    level: Mapped[str] = mapped_column(String(12))  # grid | community | street | district | department
    department: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reporter_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reporter_name: Mapped[str | None] = mapped_column(String(60))
    # Encrypted at rest; found through its blind index (tracking, a caller's earlier cases).
    reporter_phone: Mapped[str | None] = mapped_column(Encrypted(PHONE_CONTEXT, 200))
    reporter_phone_index: Mapped[str | None] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    # The reporter's phone gets no SMS about this case: the report came past the day's limit of texts to phones
    # not proven reachable (notify/limits.py). Tracking by number and phone still works.
    sms_withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    supervision: Mapped[str | None] = mapped_column(String(8))  # normal | yellow | red
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Who reported it handled, the last time: they may not check or close it themselves (separation of duties).
    handled_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The current stage's start and due time, and the handling deadline of the case.
    stage_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stage_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handled_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    # Working hours from report to acceptance, and from dispatch to handling (for the metrics).
    response_hours: Mapped[float | None] = mapped_column(Float)
    handling_hours: Mapped[float | None] = mapped_column(Float)
    # Answers to the category's extra questions (Open311 attributes).
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extension_requested_hours: Mapped[int | None] = mapped_column(Integer)
    suspension_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    status_before_suspension: Mapped[str | None] = mapped_column(String(12))
    rating: Mapped[str | None] = mapped_column(String(20))  # satisfied | fairly_satisfied | dissatisfied
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    # A digest of the request made under the idempotency key: the same key with another request is refused.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    open311_client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("open311_clients.id"))
    # The facility or component (部件) the case is about, from the registry of things.
    thing_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Optimistic concurrency: an UPDATE that finds another version changed the case first (409).
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("district_code", "number"),
        UniqueConstraint("district_code", "idempotency_key"),
        tenant_fk(["merged_into_id"], "cases"),
        tenant_fk(["thing_id"], "things"),
        Index("ix_cases_district_code_unit_code_status", "district_code", "unit_code", "status"),
        Index("ix_cases_district_code_origin_code_reported_at", "district_code", "origin_code", "reported_at"),
        Index("ix_cases_district_code_status_stage_due_at", "district_code", "status", "stage_due_at"),
        # The metrics' cohort (a district's cases of a period) read from the index alone on PostgreSQL: a city's
        # cases lie interleaved on disk, so without the figures' columns here a district's 100,000 rows cost a
        # visit to nearly every page of the table (bench/dashboard.py, docs/performance.md).
        Index("ix_cases_district_code_reported_at", "district_code", "reported_at",
              postgresql_include=list(METRICS_COLUMNS)),
        Index("ix_cases_district_code_category_code_reported_at", "district_code", "category_code", "reported_at"),
        Index("ix_cases_district_code_assignee_id_status", "district_code", "assignee_id", "status"),
        Index("ix_cases_reporter_id", "reporter_id"),
        Index("ix_cases_district_code_reporter_phone_index", "district_code", "reporter_phone_index"),
        # Tracking numbers are looked up without knowing the district (a resident tracking a case).
        Index("ix_cases_number", "number"),
    )


class CaseEvent(Tenant, Base):
    """One step of a case's timeline: who did what, when, from which state to which, and why."""

    __tablename__ = "case_events"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        tenant_fk(["case_id"], "cases", ondelete="CASCADE"),
        Index("ix_case_events_district_code_case_id_at", "district_code", "case_id", "at"),
    )


class CasePhoto(Tenant, Base):
    """A photo of a case (at intake or with a step), stripped of EXIF, with a thumbnail."""

    __tablename__ = "case_photos"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    key: Mapped[str] = mapped_column(String(200))
    thumb_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        tenant_fk(["case_id"], "cases", ondelete="CASCADE"),
        tenant_fk(["event_id"], "case_events"),
        Index("ix_case_photos_district_code_case_id", "district_code", "case_id"),
    )


class Open311Client(Reference, Base):
    """An outside application allowed to post service requests; its key is stored only as a hash."""

    __tablename__ = "open311_clients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

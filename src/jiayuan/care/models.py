"""Tables of neighbourhood care (新风尚): people in care, volunteer pairings (结对) and visits (三送), alerts for people
not visited in time, and the home-care and day-care centres with enrolment and daily attendance.

Care rows carry the grid of the person they concern, kept in step with registry moves (care/service.py registers
a hook with the registry), so that scope works as everywhere else: the new grid's worker sees them, the old one not.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, UtcDateTime, tenant_fk, utcnow

CARE_LEVELS = ("low", "medium", "high")
NEEDS = ("housekeeping", "meals", "health", "companionship", "errands")
VISIT_KINDS = ("housekeeping", "meals", "health", "companionship", "other")  # 送家政 送餐饮 送保健 陪伴 其他
CONFIRM_METHODS = ("code", "qr")
# Where a visit stands: logged and waiting (pending, 待确认), confirmed by the person (confirmed, 已确认: their code or
# card), or approved by the grid's worker or the community's staff (approved, 已审核). Only the last two count:
# they credit the volunteer's hours and clear a not-visited alert.
VISIT_STATES = ("pending", "confirmed", "approved")
CARE_CENTRE_KINDS = ("home_care", "day_care")  # 居家养老中心, 日间照料中心


class CareProfile(Tenant, Timestamped, Base):
    """A person in care: drawn from the registry's tags, with a level, needs and notes."""

    __tablename__ = "care_profiles"
    __scope_column__ = "grid_code"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)
    level: Mapped[str] = mapped_column(String(8), default="medium")
    needs: Mapped[list[str] | None] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    # Days without a visit after which an alert is raised; None: the district's setting (default 7).
    visit_interval_days: Mapped[int | None] = mapped_column(Integer)
    # The person's confirmation card: a QR code printed with this token (a secret of theirs, not an ID number).
    card_token: Mapped[str] = mapped_column(String(40))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        tenant_fk(["person_id"], "people"),
        UniqueConstraint("district_code", "person_id"),
        UniqueConstraint("district_code", "card_token"),
        Index("ix_care_profiles_district_code_grid_code", "district_code", "grid_code"),
    )


class EmergencyContact(Tenant, Base):
    """Someone to call about a person in care: a child living elsewhere, a neighbour."""

    __tablename__ = "care_contacts"

    profile_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(60))
    relation: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(Encrypted("care_contacts.phone", 200))

    __table_args__ = (tenant_fk(["profile_id"], "care_profiles", ondelete="CASCADE"),)


class Pairing(Tenant, Timestamped, Base):
    """结对: a volunteer paired with a person in care. One active pairing per volunteer and person."""

    __tablename__ = "care_pairings"
    __scope_column__ = "grid_code"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    volunteer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        tenant_fk(["person_id"], "people"),
        tenant_fk(["volunteer_id"], "volunteers"),
        # The database, not only the code, refuses a second active pairing of the same two (both engines).
        Index("uq_care_pairings_active", "district_code", "volunteer_id", "person_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
        Index("ix_care_pairings_district_code_person_id", "district_code", "person_id"),
    )


class Visit(Tenant, Base):
    """A visit by a paired volunteer. It counts (hours credited, alert cleared) once the person confirms it (a code
    read out, or their QR card) or staff of its grid or community approve it; logged, it only waits."""

    __tablename__ = "care_visits"
    __scope_column__ = "grid_code"

    pairing_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    volunteer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)
    kind: Mapped[str] = mapped_column(String(16))
    visited_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # A short code sent to the person's phone (SMS or voice) that they read out; kept as a hash only.
    confirm_code_hash: Mapped[str | None] = mapped_column(String(64))
    # Tries at the code so far: the fifth wrong one locks it (a 4-digit code would otherwise be guessed).
    confirm_attempts: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    confirm_method: Mapped[str | None] = mapped_column(String(4))
    # Approved by staff (the grid's worker or the community's staff) when the person could not confirm.
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # When its minutes were credited to the volunteer's hours (at confirmation or approval).
    credited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Credited when it was logged, before visits had to be confirmed (migration 0011), and never confirmed then.
    credited_unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    logged_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        tenant_fk(["pairing_id"], "care_pairings"),
        # A volunteer's visits by time: the overlap and day checks when a visit is logged.
        Index("ix_care_visits_district_code_volunteer_id_visited_at", "district_code", "volunteer_id", "visited_at"),
        Index("ix_care_visits_district_code_person_id_visited_at", "district_code", "person_id", "visited_at"),
        Index("ix_care_visits_district_code_grid_code_visited_at", "district_code", "grid_code", "visited_at"),
    )


class VisitPhoto(Tenant, Base):
    """A photo of a visit, stored like case photos (EXIF stripped, thumbnail)."""

    __tablename__ = "care_visit_photos"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    key: Mapped[str] = mapped_column(String(200))
    thumb_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (tenant_fk(["visit_id"], "care_visits", ondelete="CASCADE"),)


class CareAlert(Tenant, Base):
    """Someone in care not visited for their interval: on the workbenches until a visit resolves it."""

    __tablename__ = "care_alerts"
    __scope_column__ = "grid_code"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)
    raised_on: Mapped[date] = mapped_column(Date)
    last_visit_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    days_without_visit: Mapped[int] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    open: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        tenant_fk(["person_id"], "people"),
        # One open alert per person: the daily sweep may run twice, or on two workers.
        Index("uq_care_alerts_open", "district_code", "person_id", unique=True,
              sqlite_where=text("open"), postgresql_where=text("open")),
        Index("ix_care_alerts_district_code_grid_code_open", "district_code", "grid_code", "open"),
    )


class CareCentre(Tenant, Timestamped, Base):
    """A home-care centre (居家养老中心) or a day-care centre (日间照料中心)."""

    __tablename__ = "care_centres"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the community (or street) it serves
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int | None] = mapped_column(Integer)
    serves_meals: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("district_code", "unit_code", "name"),)


class Enrolment(Tenant, Base):
    """A person enrolled at a care centre, from one day to another."""

    __tablename__ = "care_enrolments"

    centre_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    enrolled_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        tenant_fk(["centre_id"], "care_centres"),
        tenant_fk(["person_id"], "people"),
        Index("uq_care_enrolments_active", "district_code", "centre_id", "person_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )


class Attendance(Tenant, Base):
    """A day at a care centre: check-in, check-out and the meals served."""

    __tablename__ = "care_attendance"

    centre_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    day: Mapped[date] = mapped_column(Date)
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    meals: Mapped[int] = mapped_column(Integer, default=0)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["centre_id"], "care_centres"),
        tenant_fk(["person_id"], "people"),
        UniqueConstraint("district_code", "centre_id", "person_id", "day"),
        Index("ix_care_attendance_district_code_centre_id_day", "district_code", "centre_id", "day"),
    )

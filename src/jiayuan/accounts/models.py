"""Tables of user accounts, their signed-in browsers (sessions) and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, CodeString, Local, Reference, Tenant, Timestamped, UtcDateTime, utcnow, uuid7


class User(Reference, Timestamped, Base):
    """A staff or resident account: one role, one scope (a unit code)."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    scope_code: Mapped[str | None] = mapped_column(CodeString)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to revoke every token and session of the account (password change, disabling).
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Two-factor sign-in (TOTP, RFC 6238): the shared secret, encrypted; set up when enabled_at is set. The last
    # time step used is kept so that a code seen over someone's shoulder cannot be used a second time.
    totp_secret: Mapped[str | None] = mapped_column(Encrypted("users.totp_secret", 200))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_users_scope_code", "scope_code"),)


class UserSession(Local, Base):
    """A signed-in browser. Its cookie carries a random id; this table keeps only the id's SHA-256, so that a copy
    of the table (a backup) signs no one in. Signing out deletes the row; a password change, a reset of two-factor
    sign-in or disabling the account deletes every row of the account — and a session whose token version is no
    longer the account's is refused anyway — so a copied cookie stops working at once.

    A local table (DESIGN.md §6): written at every sign-in and touched while in use (`seen_at`, at most once a
    minute), it is the coordinator's own bookkeeping, like the throttle counters; a reference table would be
    copied to every node on each of those writes. Hence no foreign key to `users` either (Citus allows none from a
    local table to a reference one here): rows of an account are deleted by its id."""

    __tablename__ = "user_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    token_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),
                      Index("ix_user_sessions_seen_at", "seen_at"))


# Audit rows of accounts that have no district (an unknown user name) go to this bucket.
NO_DISTRICT = "000000"


class AuditEntry(Tenant, Base):
    """Who did what to whom, when and from where: sign-ins, refused access, unmasked views."""

    __tablename__ = "audit_log"

    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_audit_log_district_code_at", "district_code", "at"),
        Index("ix_audit_log_district_code_action", "district_code", "action"),
        # Sign-in throttling reads an account's recent attempts.
        Index("ix_audit_log_district_code_actor_at", "district_code", "actor", "at"),
    )

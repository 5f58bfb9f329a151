"""The outbox: messages written in the transaction that caused them, sent afterwards by the worker."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, Tenant, UtcDateTime, utcnow


class OutboxMessage(Tenant, Base):
    __tablename__ = "outbox"

    channel: Mapped[str] = mapped_column(String(10))  # sms | email | inapp
    # Phone, e-mail address, or user id for in-app; encrypted at rest like every contact detail.
    recipient: Mapped[str] = mapped_column(Encrypted("outbox.recipient", 400))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    subject: Mapped[str | None] = mapped_column(String(200))
    # A message carrying a secret (a confirmation code) holds it here, encrypted, and only `SECRET_MARK` in its
    # body: the text is put together when it is sent, and the secret dropped once it is (notify/tasks.py), so that
    # neither the table nor a backup of it holds a code in clear.
    body: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Encrypted("outbox.secret", 200))
    ref: Mapped[str | None] = mapped_column(String(60))  # what it is about, e.g. a case number
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_outbox_status_created_at", "status", "created_at"),
        Index("ix_outbox_district_code_user_id", "district_code", "user_id"),
    )

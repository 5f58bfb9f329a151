"""Notify use cases: queue a message in the caller's transaction, read a user's in-app inbox."""

from __future__ import annotations

import re
import uuid
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.errors import Invalid
from jiayuan.kit.redact import redact
from jiayuan.notify.models import OutboxMessage

Channel = Literal["sms", "email", "inapp"]
CHANNELS: tuple[str, ...] = get_args(Channel)

# Column widths of the outbox table: checked here so both databases refuse the same input with a named field
# (SQLite would store an over-long value silently, PostgreSQL would fail the whole flush).
_MAX = {"recipient": 200, "subject": 200, "ref": 60}
_DISTRICT = re.compile(r"\d{6}")
# Loose on purpose: the carrier or mail server is the real judge; this only catches a field mix-up.
_PHONE = re.compile(r"\+?\d{5,20}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
INBOX_MAX = 200
# Where a message's secret goes in its body when it is sent (see OutboxMessage.secret).
SECRET_MARK = "{code}"
SECRET_MAX = 64


def queue_message(
    session: Session,
    *,
    district_code: str,
    channel: Channel,
    recipient: str,
    body: str,
    subject: str | None = None,
    user_id: uuid.UUID | None = None,
    ref: str | None = None,
    secret: str | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction: it is sent only if that transaction commits.

    The worker (`jiayuan.notify.tasks.deliver_pending`) sends it afterwards. For "inapp", `user_id` is the
    addressee whose inbox shows it; `recipient` is kept as given (usually the same id as text).

    A confirmation code or any other secret goes in `secret`, and `body` holds SECRET_MARK where it belongs: the
    outbox keeps the secret encrypted and only until the message is sent, never in the body.
    """
    if not isinstance(district_code, str) or not _DISTRICT.fullmatch(district_code):
        raise Invalid("must be a 6-digit district code", field="district_code")
    if channel not in CHANNELS:
        raise Invalid(f"must be one of {', '.join(CHANNELS)}", field="channel")
    recipient = (recipient or "").strip()
    if not recipient:
        raise Invalid("must not be empty", field="recipient")
    if channel == "sms":
        recipient = re.sub(r"[\s-]", "", recipient)
        if not _PHONE.fullmatch(recipient):
            raise Invalid("must be a phone number", field="recipient")
    elif channel == "email" and not _EMAIL.fullmatch(recipient):
        raise Invalid("must be an e-mail address", field="recipient")
    elif channel == "inapp" and user_id is None:
        raise Invalid("is required for in-app messages", field="user_id")
    if not body or not body.strip():
        raise Invalid("must not be empty", field="body")
    if secret is not None and (not secret or len(secret) > SECRET_MAX or body.count(SECRET_MARK) != 1):
        raise Invalid(f"a secret needs a body with {SECRET_MARK} once, and at most {SECRET_MAX} characters",
                      field="secret")
    if secret is None and SECRET_MARK in body:
        raise Invalid(f"{SECRET_MARK} in a body without a secret", field="body")
    for field, value in (("recipient", recipient), ("subject", subject), ("ref", ref)):
        if value is not None and len(value) > _MAX[field]:
            raise Invalid(f"must be at most {_MAX[field]} characters", field=field)

    # The id and time are set here rather than at the flush: callers may read it at once, and the row waits for the
    # caller's next flush, so that a request queueing several messages writes them in one INSERT.
    message = OutboxMessage(
        id=uuid7(), district_code=district_code, channel=channel, recipient=recipient, user_id=user_id,
        subject=subject, body=body, secret=secret, ref=ref, status="pending", attempts=0, created_at=utcnow(),
    )
    session.add(message)
    return message


def rendered(message: OutboxMessage) -> str:
    """The text as the recipient reads it: the body with its secret put in (only ever done to send it)."""
    if message.secret is None:
        return message.body
    return message.body.replace(SECRET_MARK, message.secret)


def inbox(session: Session, user_id: uuid.UUID, district_code: str, limit: int = 50) -> list[OutboxMessage]:
    """A user's in-app messages in one district, newest first.

    Every status is shown: an in-app message is readable as soon as its transaction commits; the worker only
    records that it was delivered.
    """
    limit = max(1, min(limit, INBOX_MAX))
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.district_code == district_code, OutboxMessage.user_id == user_id,
               OutboxMessage.channel == "inapp")
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(rows)


ERASED_RECIPIENT = "erased"


def forget_recipient(session: Session, district_code: str, phone: str, names: tuple[str, ...] = ()) -> int:
    """An erased person's SMS: the number gone from every message sent or waiting for it (a waiting one is not
    sent), their name, phones and ID numbers masked in the text. Recipients are encrypted without an index, so the
    district's SMS are read through once: erasure is rare, and the outbox keeps what was sent, not who to."""
    wanted = re.sub(r"\D", "", phone)[-11:]
    found = [row.id for row in session.execute(  # the erased number's own messages, however it was typed
        select(OutboxMessage.id, OutboxMessage.recipient).where(
            OutboxMessage.district_code == district_code, OutboxMessage.channel == "sms")
        .execution_options(yield_per=1000))
        if re.sub(r"\D", "", row.recipient or "")[-11:] == wanted]
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.district_code == district_code,
                                                               OutboxMessage.id.in_(found))) if found else ():
        message.recipient = ERASED_RECIPIENT
        message.body = redact(message.body, names) or ""
        message.subject = redact(message.subject, names)
        message.secret = None
        if message.status in ("pending", "sending"):
            message.status, message.last_error = "failed", "the recipient was erased"
    session.flush()
    return len(found)

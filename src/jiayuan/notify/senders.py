"""Senders: how an outbox message leaves the system, one per channel, chosen in settings; masking helpers."""

from __future__ import annotations

import importlib
import logging
import re
from typing import Protocol, runtime_checkable

from jiayuan.config import Settings, get_settings
from jiayuan.kit.identity import mask_email, mask_phone
from jiayuan.notify.models import OutboxMessage

logger = logging.getLogger("jiayuan.notify")


@runtime_checkable
class Sender(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver one message; raise to signal failure (the worker retries with back-off)."""


def mask_recipient(channel: str, recipient: str) -> str:
    if channel == "sms":
        return mask_phone(recipient)
    if channel == "email":
        return mask_email(recipient)
    return recipient  # in-app: a user id, not contact data


_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits (spaces and hyphens allowed inside): phones, ID numbers, bank cards.
_NUMBER_IN_TEXT = re.compile(r"\+?\d(?:[\d\s-]{5,}\d)[\dXx]?")


def scrub(text: str, message: OutboxMessage | None = None) -> str:
    """Text safe for logs and `last_error`: the message's recipient and body removed, contact data masked.

    An SMS gateway's error often echoes what it was given; it must not carry the phone into the database.
    """
    if message is not None:
        if message.body:
            text = text.replace(message.body, f"<body {len(message.body)} chars>")
        if message.secret:  # a gateway may echo the code alone
            text = text.replace(message.secret, "<secret>")
        if message.subject:
            text = text.replace(message.subject, "<subject>")
        if message.recipient:
            text = text.replace(message.recipient, mask_recipient(message.channel, message.recipient))
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group()), text)
    return _NUMBER_IN_TEXT.sub(lambda m: mask_phone(m.group()), text)


class LogSender:
    """Writes one line per message to the `jiayuan.notify` log: the default until a gateway is configured."""

    def send(self, message: OutboxMessage) -> None:
        logger.info(
            "notify %s to %s: %d characters, ref %s, message %s",
            message.channel, mask_recipient(message.channel, message.recipient), len(message.body),
            message.ref or "-", message.id,
        )


class InAppSender:
    """In-app messages are already where they are read (the outbox row); delivering only marks them sent."""

    def send(self, message: OutboxMessage) -> None:
        if message.user_id is None:
            raise ValueError("in-app message without user_id")


def load_sender(spec: str, *, setting: str = "sender") -> Sender:
    """Import "module:attr"; a class is instantiated without arguments, anything else is used as it is."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{setting}: expected 'module:attr', got {spec!r}")
    try:
        target: object = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"{setting}: cannot import {spec!r}: {exc}") from exc
    sender = target() if isinstance(target, type) else target
    if not isinstance(sender, Sender):
        raise ValueError(f"{setting}: {spec!r} has no send(message) method")  # noqa: TRY004 - bad setting
    return sender


def configured_senders(settings: Settings | None = None, channels: tuple[str, ...] | None = None
                       ) -> dict[str, Sender]:
    """The sender of each channel (or of the given ones) from settings (JIAYUAN_SMS_SENDER, …_EMAIL_SENDER)."""
    settings = settings or get_settings()
    makers = {
        "sms": lambda: load_sender(settings.sms_sender, setting="JIAYUAN_SMS_SENDER"),
        "email": lambda: load_sender(settings.email_sender, setting="JIAYUAN_EMAIL_SENDER"),
        "inapp": InAppSender,
    }
    return {channel: make() for channel, make in makers.items() if channels is None or channel in channels}

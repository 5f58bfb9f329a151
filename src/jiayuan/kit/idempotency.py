"""Idempotency keys: a retry under the same key with the same request gets the first record back; the same key with
another request is refused (422, reason `idempotency_key_reused`), never answered with a record the caller did not
ask for. The request is remembered as a digest of what the use case was given, stored beside the key."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from jiayuan.kit.errors import Invalid

REUSED = "idempotency_key_reused"
FIELD = "Idempotency-Key"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def request_hash(*parts: Any) -> str:
    """A SHA-256 of the request's parts (dataclasses, dicts, lists, scalars), the same for the same request."""
    text = json.dumps(_plain(list(parts)), sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_same_request(stored: str | None, digest: str, field: str = FIELD) -> None:
    """Refuse a replay whose request differs from the one that made the record. A record made before digests
    were kept (None) cannot be compared and is returned as before."""
    if stored is not None and stored != digest:
        raise Invalid("this Idempotency-Key was already used for another request; use a new key for a new request",
                      field=field, reason=REUSED)

"""Where uploaded files live: a directory on disk by default, or an S3-compatible bucket."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import event

from jiayuan.kit.errors import Invalid, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jiayuan.config import Settings

log = logging.getLogger(__name__)

# One path segment: starts with a letter or digit (so never "." or ".." or a hidden temp file of ours),
# then letters, digits, '.', '_' or '-'. Keys look like "cases/360802/2026/11/<uuid>.thumb.jpg".
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_KEY_LENGTH = 200  # CasePhoto.key is a String(200)


def check_key(key: str) -> str:
    """Return `key` if it is a relative, '/'-separated path that cannot leave the storage root; else Invalid."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"storage key must be 1–{MAX_KEY_LENGTH} characters", field="key")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise Invalid(f"storage key {key!r} must be a relative path with '/' separators", field="key")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise Invalid(f"storage key {key!r}: segment {segment!r} is not allowed", field="key")
    return key


class Storage(Protocol):
    """A flat store of bytes by key; keys are checked with `check_key`."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes:
        """The stored bytes; NotFound when there is nothing under `key`."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing key is not an error."""
        ...


class LocalStorage:
    """Files under a directory (var/uploads by default); the content type is not kept, the key's suffix says it."""

    def __init__(self, root: Path = Path("var/uploads")) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # Belt and braces: the key check already forbids "..", but a symlinked directory inside the root
        # must not lead out of it either.
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise Invalid(f"storage key {key!r} leads outside the storage root", field="key")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written to a temporary file in the same directory, then renamed over the key: a reader never sees
        # half a file, and a crash leaves at most a dot-file that no key can name.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # mkstemp makes the file 0600; a web server in front may serve these files directly.
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no stored file {key!r}", field="key") from None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in an S3 bucket, or any S3-compatible store (MinIO, Aliyun OSS, Tencent COS) via endpoint_url."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        *,
        addressing_style: str = "auto",
    ) -> None:
        self.bucket = bucket
        # "uploads" and "uploads/" mean the same folder.
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        import boto3  # imported here: a deployment on local disk never pays for loading boto3
        from botocore.config import Config

        config = Config(
            s3={"addressing_style": addressing_style},
            # Bounded waits: a stalled store should fail the upload, not hang a request worker.
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    def _object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        # A single PUT is atomic in S3: the object appears whole or not at all.
        self.client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise NotFound(f"no stored file {key!r}", field="key") from None
            raise
        body = response["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def delete(self, key: str) -> None:
        # S3 answers 204 for a missing key too, so this is idempotent as it stands.
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))


def delete_quietly(storage: Storage, keys: list[str]) -> None:
    """Delete `keys`, logging (not raising) what cannot be: clean-up must not hide the error that made it necessary."""
    for key in keys:
        try:
            storage.delete(key)
        except Exception:
            log.exception("could not delete stored file %s", key)


def remove_if_rolled_back(session: Session, storage: Storage, keys: list[str]) -> None:
    """Delete `keys` again should the transaction they were stored for not commit: the savepoint open now (or the
    session's transaction), rolled back itself or with any transaction around it. Once the session's outermost
    transaction commits, they stay. A savepoint begun after this and rolled back alone does not concern them."""
    if not keys:
        return
    stored_in = session.get_nested_transaction() or session.get_transaction()
    settled = False

    def rolled_back(_session: Session, previous: Any) -> None:
        nonlocal settled
        transaction = stored_in
        while transaction is not None and transaction is not previous:
            transaction = transaction.parent
        if transaction is None or settled:
            return
        settled = True
        delete_quietly(storage, keys)

    def committed(_session: Session) -> None:
        nonlocal settled
        if not session.in_nested_transaction():  # a savepoint released is not yet the rows kept
            settled = True

    event.listen(session, "after_soft_rollback", rolled_back)
    event.listen(session, "after_commit", committed)


def storage_from_settings(settings: Settings) -> Storage:
    """The S3 bucket when `s3_bucket` is set, else the directory var_dir/uploads."""
    if settings.s3_bucket:
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            addressing_style=settings.s3_addressing_style,
        )
    return LocalStorage(settings.var_dir / "uploads")

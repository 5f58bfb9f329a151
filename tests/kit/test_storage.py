"""Uploaded-file storage: local directory (keys cannot escape it, writes are atomic) and S3 under moto."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from jiayuan.config import Settings
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.storage import LocalStorage, S3Storage, check_key, storage_from_settings

KEY = "cases/360802/2026/11/0b9f6f1e-2c4e-4d3a-9a57-0d6c1f1b2e3a.jpg"
BAD_KEYS = [
    "",
    "../outside.jpg",
    "cases/../../outside.jpg",
    "cases/..",
    "/etc/passwd",
    "cases\\360802\\a.jpg",
    "..\\outside.jpg",
    "cases//a.jpg",
    "./a.jpg",
    "cases/.hidden",
    "cases/a.jpg/",
    "cases/a\x00.jpg",
    "cases/空格 name.jpg",
    "c" * 201,
]


def test_local_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "uploads")
    storage.put(KEY, b"photo bytes", "image/jpeg")
    assert (tmp_path / "uploads" / KEY).read_bytes() == b"photo bytes"
    assert storage.get(KEY) == b"photo bytes"
    storage.put(KEY, b"replaced", "image/jpeg")
    assert storage.get(KEY) == b"replaced"
    storage.delete(KEY)
    with pytest.raises(NotFound):
        storage.get(KEY)
    storage.delete(KEY)  # idempotent
    storage.delete("cases/never/was.jpg")


def test_local_get_of_a_folder_is_not_found(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put(KEY, b"x", "image/jpeg")
    with pytest.raises(NotFound):
        storage.get("cases/360802")
    with pytest.raises(NotFound):
        storage.get(KEY + "/below")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_could_escape_the_root_are_refused(tmp_path: Path, key: str) -> None:
    root = tmp_path / "uploads"
    storage = LocalStorage(root)
    for call in (lambda: storage.put(key, b"x", "image/jpeg"), lambda: storage.get(key),
                 lambda: storage.delete(key)):
        with pytest.raises(Invalid) as err:
            call()
        assert err.value.field == "key"
    assert list(tmp_path.rglob("*")) == []  # not even the root was created


def test_good_keys_pass() -> None:
    assert check_key(KEY) == KEY
    assert check_key(KEY.replace(".jpg", ".thumb.jpg"))


def test_a_symlink_inside_the_root_does_not_lead_out(tmp_path: Path) -> None:
    root, outside = tmp_path / "uploads", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "cases").symlink_to(outside)
    with pytest.raises(Invalid):
        LocalStorage(root).put("cases/a.jpg", b"x", "image/jpeg")
    assert list(outside.iterdir()) == []


def test_local_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path)
    storage.put(KEY, b"old", "image/jpeg")
    folder = (tmp_path / KEY).parent

    # The file is written under a temporary name in the same folder, then renamed over the key.
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        renames.append((str(src), str(dst)))
        assert Path(src).read_bytes() == b"new" and Path(dst).read_bytes() == b"old"
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    storage.put(KEY, b"new", "image/jpeg")
    assert len(renames) == 1 and Path(renames[0][0]).parent == folder and renames[0][1] == str(tmp_path / KEY)
    assert storage.get(KEY) == b"new"

    # A failure before the rename leaves the old file whole and no temporary file behind.
    def crash(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        storage.put(KEY, b"half written", "image/jpeg")
    assert storage.get(KEY) == b"new"
    assert [p.name for p in folder.iterdir()] == [Path(KEY).name]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="jiayuan-photos")
        yield boto3.client("s3", region_name="us-east-1")


def test_s3_round_trip(s3: Any) -> None:
    storage = S3Storage("jiayuan-photos", region="us-east-1", access_key="test", secret_key="test",
                        prefix="uploads/")
    storage.put(KEY, b"photo bytes", "image/jpeg")
    head = s3.head_object(Bucket="jiayuan-photos", Key=f"uploads/{KEY}")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == len(b"photo bytes")
    assert storage.get(KEY) == b"photo bytes"
    storage.delete(KEY)
    with pytest.raises(NotFound):
        storage.get(KEY)
    storage.delete(KEY)  # idempotent
    with pytest.raises(Invalid):
        storage.put("../other-prefix/x.jpg", b"x", "image/jpeg")


def test_s3_without_prefix(s3: Any) -> None:
    storage = S3Storage("jiayuan-photos", region="us-east-1")
    storage.put(KEY, b"x", "image/png")
    assert s3.get_object(Bucket="jiayuan-photos", Key=KEY)["Body"].read() == b"x"


def test_storage_from_settings_picks_s3_when_a_bucket_is_set(s3: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BUCKET", "ENDPOINT_URL", "REGION", "ACCESS_KEY", "SECRET_KEY", "ADDRESSING_STYLE"):
        monkeypatch.delenv(f"JIAYUAN_S3_{name}", raising=False)
    local = storage_from_settings(Settings(var_dir=tmp_path))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "uploads"

    remote = storage_from_settings(Settings(var_dir=tmp_path, s3_bucket="jiayuan-photos", s3_region="us-east-1",
                                            s3_addressing_style="virtual"))
    assert isinstance(remote, S3Storage) and remote.bucket == "jiayuan-photos"
    assert remote.client.meta.config.s3["addressing_style"] == "virtual"
    remote.put(KEY, b"x", "image/jpeg")
    assert remote.get(KEY) == b"x"
    assert not (tmp_path / "uploads").exists()

    monkeypatch.setenv("JIAYUAN_S3_BUCKET", "from-env")
    monkeypatch.setenv("JIAYUAN_S3_ENDPOINT_URL", "http://minio.local:9000")
    from_env = storage_from_settings(Settings())
    assert isinstance(from_env, S3Storage) and from_env.bucket == "from-env"
    assert from_env.client.meta.endpoint_url == "http://minio.local:9000"


def test_files_stored_for_a_transaction_go_again_when_it_does_not_commit(db: Any, tmp_path: Path) -> None:
    """remove_if_rolled_back: a savepoint rolled back (a page's refused attempt) or the whole transaction rolled back
    takes its files with it; a savepoint begun later and rolled back alone does not; a commit keeps them."""
    from sqlalchemy import text

    from jiayuan.kit.storage import remove_if_rolled_back

    storage = LocalStorage(tmp_path)

    def store(session: Any, name: str) -> str:
        key = f"cases/360802/{name}.jpg"
        storage.put(key, b"x", "image/jpeg")
        remove_if_rolled_back(session, storage, [key])
        return key

    with db.sessions() as session:
        session.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError), session.begin_nested():
            refused = store(session, "refused")
            raise RuntimeError("a later step of the same attempt failed")
        assert not (tmp_path / refused).exists()
        with session.begin_nested():
            kept_then_undone = store(session, "kept-then-undone")
        with pytest.raises(RuntimeError), session.begin_nested():
            raise RuntimeError("another attempt, after the photos were stored")
        assert (tmp_path / kept_then_undone).exists()
        session.rollback()
        assert not (tmp_path / kept_then_undone).exists()
        session.execute(text("SELECT 1"))
        with session.begin_nested():
            kept = store(session, "kept")
        session.commit()
        session.execute(text("SELECT 1"))
        session.rollback()  # a later transaction of the same session: not the one the file was stored for
        assert (tmp_path / kept).exists()

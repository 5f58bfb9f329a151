"""Personal-data encryption: tokens, contexts, tampering, rotation, blind indexes, the column type."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text

from jiayuan.config import Settings
from jiayuan.kit.crypto import Cipher, DecryptionError, Encrypted, blind_index, use_cipher

ID_NUMBER = "36080219900101123X"
NAME = "张三丰，住在井冈山市红星街道"
CONTEXT = "people.id_number"


def _key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def cipher() -> Cipher:
    return Cipher([("k1", _key())], _key())


def test_round_trip_with_chinese_text(cipher: Cipher) -> None:
    token = cipher.encrypt(NAME, context="people.name")
    assert cipher.decrypt(token, context="people.name") == NAME


def test_token_is_compact_and_never_contains_the_plaintext(cipher: Cipher) -> None:
    token = cipher.encrypt(ID_NUMBER, context=CONTEXT)
    version, key_id, body = token.split(".")
    assert (version, key_id) == ("v1", "k1")
    assert ID_NUMBER not in token and "123X" not in token and "3608" not in token
    assert len(base64.urlsafe_b64decode(body + "==")) == 12 + len(ID_NUMBER) + 16  # nonce|ciphertext|tag


def test_two_encryptions_of_one_value_differ(cipher: Cipher) -> None:
    assert cipher.encrypt(ID_NUMBER, context=CONTEXT) != cipher.encrypt(ID_NUMBER, context=CONTEXT)


def test_a_token_does_not_open_in_another_column(cipher: Cipher) -> None:
    token = cipher.encrypt(ID_NUMBER, context=CONTEXT)
    with pytest.raises(DecryptionError) as caught:
        cipher.decrypt(token, context="people.phone")
    assert ID_NUMBER not in str(caught.value) and token not in str(caught.value)


@pytest.mark.parametrize("position", [0, 12, -1])  # nonce, ciphertext, tag
def test_a_flipped_byte_fails(cipher: Cipher, position: int) -> None:
    version, key_id, body = cipher.encrypt(ID_NUMBER, context=CONTEXT).split(".")
    blob = bytearray(base64.urlsafe_b64decode(body + "=="))
    blob[position] ^= 0x01
    forged = f"{version}.{key_id}.{base64.urlsafe_b64encode(bytes(blob)).rstrip(b'=').decode()}"
    with pytest.raises(DecryptionError) as caught:
        cipher.decrypt(forged, context=CONTEXT)
    assert ID_NUMBER not in str(caught.value)


@pytest.mark.parametrize("token", ["", "plain text", "v2.k1.AAAA", "v1.k1.", "v1.k1.AAAA", "v1.k.1.x"])
def test_malformed_tokens_fail_cleanly(cipher: Cipher, token: str) -> None:
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context=CONTEXT)


def test_rotation_keeps_old_tokens_readable_and_rewrites_them_under_the_current_key() -> None:
    old_key, new_key, index_key = _key(), _key(), _key()
    before = Cipher([("k1", old_key)], index_key)
    old_token = before.encrypt(ID_NUMBER, context=CONTEXT)

    after = Cipher([("k2", new_key), ("k1", old_key)], index_key)
    assert after.decrypt(old_token, context=CONTEXT) == ID_NUMBER
    assert after.needs_rotation(old_token)
    new_token = after.rotate(old_token, context=CONTEXT)
    assert new_token.startswith("v1.k2.") and not after.needs_rotation(new_token)
    assert after.decrypt(new_token, context=CONTEXT) == ID_NUMBER
    assert after.rotate(new_token, context=CONTEXT) == new_token
    # Once the old key is dropped, only rotated tokens still open.
    dropped = Cipher([("k2", new_key)], index_key)
    assert dropped.decrypt(new_token, context=CONTEXT) == ID_NUMBER
    with pytest.raises(DecryptionError, match="k1"):
        dropped.decrypt(old_token, context=CONTEXT)
    # The blind index is keyed separately: rotating data keys leaves look-ups working.
    assert before.blind_index(ID_NUMBER, context=CONTEXT) == dropped.blind_index(ID_NUMBER, context=CONTEXT)


def test_blind_index_is_stable_context_separated_and_keyed(cipher: Cipher) -> None:
    digest = cipher.blind_index(ID_NUMBER, context=CONTEXT)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == cipher.blind_index(ID_NUMBER, context=CONTEXT)
    assert digest != cipher.blind_index("36080219900101124X", context=CONTEXT)
    assert digest != cipher.blind_index(ID_NUMBER, context="organizations.legal_person_id")
    assert digest != hashlib.sha256(ID_NUMBER.encode()).hexdigest()
    # Without the index key nobody can recompute it from a guessed ID number.
    assert digest != Cipher([("k1", _key())], _key()).blind_index(ID_NUMBER, context=CONTEXT)


def test_keys_come_from_settings() -> None:
    data_key, index_key = _key(), _key()
    settings = Settings(
        data_keys=f"new:{base64.b64encode(_key()).decode()}, old:{base64.urlsafe_b64encode(data_key).decode()}",
        index_key=base64.b64encode(index_key).decode(),
    )
    configured = Cipher.from_settings(settings)
    token = Cipher([("old", data_key)], index_key).encrypt(ID_NUMBER, context=CONTEXT)
    assert configured.current_key_id == "new" and configured.decrypt(token, context=CONTEXT) == ID_NUMBER
    with pytest.raises(ValueError, match="JIAYUAN_DATA_KEYS") as caught:
        Cipher.from_settings(Settings(data_keys="k1:" + base64.b64encode(b"short").decode()))
    assert "c2hvcnQ" not in str(caught.value)  # the key material is never echoed


def test_development_derives_stable_keys_from_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(secret_key="a-development-secret", data_keys=None, index_key=None)
    first, second = Cipher.from_settings(settings), Cipher.from_settings(settings)
    assert first.current_key_id == "dev"
    assert second.decrypt(first.encrypt(ID_NUMBER, context=CONTEXT), context=CONTEXT) == ID_NUMBER
    assert first.blind_index(ID_NUMBER, context=CONTEXT) == second.blind_index(ID_NUMBER, context=CONTEXT)
    other = Cipher.from_settings(Settings(secret_key="another-secret", data_keys=None, index_key=None))
    assert other.blind_index(ID_NUMBER, context=CONTEXT) != first.blind_index(ID_NUMBER, context=CONTEXT)
    assert "a-development-secret" not in caplog.text


def test_production_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JIAYUAN_DATA_KEYS", "JIAYUAN_INDEX_KEY"):
        monkeypatch.delenv(name, raising=False)
    secret = "s" * 40
    with pytest.raises(ValidationError, match="JIAYUAN_DATA_KEYS"):
        Settings(production=True, secret_key=secret)
    data_keys = "k1:" + base64.b64encode(_key()).decode()
    with pytest.raises(ValidationError, match="JIAYUAN_INDEX_KEY"):
        Settings(production=True, secret_key=secret, data_keys=data_keys)
    assert Settings(production=True, secret_key=secret, data_keys=data_keys,
                    index_key=base64.b64encode(_key()).decode()).production


@pytest.fixture
def installed(cipher: Cipher) -> Iterator[Cipher]:
    previous = use_cipher(cipher)
    yield cipher
    use_cipher(previous)


def test_encrypted_column_round_trips_and_stores_only_the_token(installed: Cipher) -> None:
    metadata = MetaData()
    people = Table("throwaway_people", metadata, Column("id", Integer, primary_key=True),
                   Column("id_number", Encrypted(CONTEXT)), Column("id_number_index", String(64)))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(people), [
            {"id": 1, "id_number": ID_NUMBER, "id_number_index": blind_index(ID_NUMBER, context=CONTEXT)},
            {"id": 2, "id_number": None, "id_number_index": None},
        ])
        assert conn.execute(select(people.c.id_number).order_by(people.c.id)).scalars().all() == [ID_NUMBER, None]
        stored = conn.execute(text("SELECT id_number FROM throwaway_people WHERE id = 1")).scalar_one()
        assert stored.startswith("v1.k1.") and ID_NUMBER not in stored
        assert installed.decrypt(stored, context=CONTEXT) == ID_NUMBER
        # Exact look-up goes through the blind index, never through the ciphertext.
        found = conn.execute(select(people.c.id).where(
            people.c.id_number_index == blind_index(ID_NUMBER, context=CONTEXT))).scalar_one()
        assert found == 1
    engine.dispose()

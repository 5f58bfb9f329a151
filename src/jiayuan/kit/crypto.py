"""Personal data at rest: AES-256-GCM tokens with key rotation, HMAC blind indexes, an encrypted column type."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Dialect, String, TypeDecorator

from jiayuan.config import Settings, get_settings

log = logging.getLogger(__name__)

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12  # 96 bits: the size GCM is specified for; random per value, so never reused in practice
TAG_BYTES = 16
DEV_KEY_ID = "dev"
# Key ids travel in every token and are split on "."; keep them short and unambiguous.
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


class DecryptionError(ValueError):
    """A token that cannot be opened: malformed, unknown key, wrong context or tampered.

    The message never carries the token or any plaintext, so it is safe to log.
    """


def generate_key() -> str:
    """A fresh random 32-byte key, base64, as JIAYUAN_DATA_KEYS ("id:" + this) and JIAYUAN_INDEX_KEY expect."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _decode_key(text: str, variable: str) -> bytes:
    text = text.strip()
    try:
        # Accept the standard and the URL-safe alphabet: keys get pasted from either kind of tool.
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{variable}: a key is not valid base64") from None  # never echo key material
    if len(key) != KEY_BYTES:
        raise ValueError(f"{variable}: a key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def parse_data_keys(text: str) -> list[tuple[str, bytes]]:
    """Parse "id:base64key,id:base64key": the first is the current key, the others only decrypt."""
    keys: list[tuple[str, bytes]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        key_id, sep, material = part.strip().partition(":")
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise ValueError("JIAYUAN_DATA_KEYS: each entry is id:base64key, the id 1-16 of A-Z a-z 0-9 _ -")
        if any(key_id == known for known, _ in keys):
            raise ValueError(f"JIAYUAN_DATA_KEYS: key id {key_id!r} appears twice")
        keys.append((key_id, _decode_key(material, "JIAYUAN_DATA_KEYS")))
    if not keys:
        raise ValueError("JIAYUAN_DATA_KEYS: no key given")
    return keys


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(secret.encode())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cipher:
    """Encrypts short strings into `v1.<keyid>.<base64url(nonce|ciphertext|tag)>` tokens.

    `context` (e.g. "people.id_number") is GCM associated data: a token copied into another column
    does not decrypt there. Tokens name their key, so old keys keep decrypting after rotation.
    """

    def __init__(self, data_keys: list[tuple[str, bytes]], index_key: bytes) -> None:
        if not data_keys:
            raise ValueError("at least one data key is needed")
        for key_id, key in data_keys:
            if not _KEY_ID.fullmatch(key_id) or len(key) != KEY_BYTES:
                raise ValueError(f"bad data key {key_id!r}: id 1-16 of A-Z a-z 0-9 _ -, {KEY_BYTES} bytes")
        if len(index_key) != KEY_BYTES:
            raise ValueError(f"the index key must be {KEY_BYTES} bytes")
        self.current_key_id = data_keys[0][0]
        self._aeads = {key_id: AESGCM(key) for key_id, key in data_keys}
        self._index_key = index_key
        self._subkeys: dict[str, bytes] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Cipher:
        """Keys from JIAYUAN_DATA_KEYS / JIAYUAN_INDEX_KEY, or in development derived from the secret key."""
        derived = []
        if settings.data_keys and settings.data_keys.strip():
            data_keys = parse_data_keys(settings.data_keys)
        elif settings.production:  # Settings refuses this already; kept so no path encrypts with a derived key
            raise ValueError("JIAYUAN_DATA_KEYS: set the personal-data keys before running in production")
        else:
            data_keys = [(DEV_KEY_ID, _derive(settings.secret_key, b"jiayuan data key v1"))]
            derived.append("JIAYUAN_DATA_KEYS")
        if settings.index_key and settings.index_key.strip():
            index_key = _decode_key(settings.index_key, "JIAYUAN_INDEX_KEY")
        elif settings.production:
            raise ValueError("JIAYUAN_INDEX_KEY: set the blind-index key before running in production")
        else:
            index_key = _derive(settings.secret_key, b"jiayuan blind index key v1")
            derived.append("JIAYUAN_INDEX_KEY")
        if derived:
            # Names only: the keys and the secret they come from are never logged.
            log.warning("%s unset: using development keys derived from the secret key", " and ".join(derived))
        return cls(data_keys, index_key)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[self.current_key_id].encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return f"{VERSION}.{self.current_key_id}.{_b64url(nonce + sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        key_id, blob = self._split(token)
        aead = self._aeads.get(key_id)
        if aead is None:
            raise DecryptionError(f"no key with id {key_id!r} (is it still in JIAYUAN_DATA_KEYS?)")
        try:
            plain = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise DecryptionError(f"token does not open in context {context!r}: wrong column or tampered") from None
        return plain.decode("utf-8")

    def seal(self, data: bytes, *, context: str) -> bytes:
        """Bytes (a file kept for a while, such as an import queued for the worker) encrypted as a token is, kept
        as bytes: b"v1.<keyid>." + nonce + ciphertext + tag."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[self.current_key_id].encrypt(nonce, data, context.encode())
        return f"{VERSION}.{self.current_key_id}.".encode() + nonce + sealed

    def unseal(self, blob: bytes, *, context: str) -> bytes:
        version, _, rest = blob.partition(b".")
        key_id, _, body = rest.partition(b".")
        name = key_id.decode("ascii", "replace")
        if version != VERSION.encode() or not _KEY_ID.fullmatch(name) or len(body) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("not sealed data of version v1")
        aead = self._aeads.get(name)
        if aead is None:
            raise DecryptionError(f"no key with id {name!r} (is it still in JIAYUAN_DATA_KEYS?)")
        try:
            return aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise DecryptionError(f"sealed data does not open in context {context!r}: wrong use or tampered") from None

    def needs_rotation(self, token: str) -> bool:
        """True when the token is not under the current key (what `jiayuan keys rotate` rewrites)."""
        return self._split(token)[0] != self.current_key_id

    def rotate(self, token: str, *, context: str) -> str:
        """The same value under the current key; a token already under it is returned unchanged."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def blind_index(self, value: str, *, context: str) -> str:
        """HMAC-SHA256 of `value` under a per-context key: 64 hex chars, equal inputs give equal outputs.

        The value is hashed as given: normalising it (strip, upper-case the X of an ID number, drop the
        spaces of a phone) is the caller's job, and must be done the same way when writing and searching.
        """
        # A key per context, so the same ID number in two columns does not link the rows; derived once per
        # context and kept (a bulk load indexes hundreds of thousands of values).
        subkey = self._subkeys.get(context)
        if subkey is None:
            subkey = hmac.new(self._index_key, b"jiayuan blind index\x00" + context.encode(), hashlib.sha256).digest()
            self._subkeys[context] = subkey
        return hmac.digest(subkey, value.encode("utf-8"), "sha256").hex()

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        version, _, rest = token.partition(".")
        key_id, _, body = rest.partition(".")
        if version != VERSION or not _KEY_ID.fullmatch(key_id) or not body:
            raise DecryptionError("not an encrypted token of version v1")
        try:
            blob = _unb64url(body)
        except (binascii.Error, ValueError):
            raise DecryptionError("token body is not base64url") from None
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("token too short")
        return key_id, blob


_cipher: Cipher | None = None


def get_cipher() -> Cipher:
    """The process's cipher, built from settings on first use."""
    global _cipher
    if _cipher is None:
        _cipher = Cipher.from_settings(get_settings())
    return _cipher


def use_cipher(cipher: Cipher | None) -> Cipher | None:
    """Replace the process's cipher (tests, key rotation); None rebuilds from settings. Returns the old one."""
    global _cipher
    previous, _cipher = _cipher, cipher
    return previous


def blind_index(value: str, *, context: str) -> str:
    """`Cipher.blind_index` with the process's cipher."""
    return get_cipher().blind_index(value, context=context)


class Encrypted(TypeDecorator[str]):
    """A string column stored as a token: `mapped_column(Encrypted("people.id_number"))`.

    Comparing the column with a value in SQL never matches (each encryption differs): look rows up
    through a blind-index column instead.
    """

    impl = String
    cache_ok = True

    def __init__(self, context: str, length: int | None = None) -> None:
        super().__init__(length)
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else get_cipher().encrypt(value, context=self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else get_cipher().decrypt(value, context=self.context)

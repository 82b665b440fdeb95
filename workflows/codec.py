"""Payload encryption for everything madoguchi writes into Temporal history.

Every payload (workflow inputs, update arguments, activity results, failure details) is
sealed with AES-256-GCM before it leaves the process, so the Temporal server, its
database and its UI hold ciphertext only. The key id travels in the payload metadata:
a new key encrypts, older keys still decrypt, so keys rotate without touching history.

Payloads of :data:`COMPRESS_FROM` bytes or more are deflated (zlib) before sealing: a
case's history carries its pinned definition and a view per Update, JSON that shrinks to
about half, and every byte of history is written, replicated and read back by the
cluster. The compression is named in the metadata and bound into the ciphertext's
associated data, so it cannot be switched off by editing the metadata; payloads written
before it (no compression named) decode as they always did.

Decoding is also the integrity check: a payload that is not sealed with a key of the ring
(plain JSON sent by anyone who reaches the Temporal frontend, a forged or tampered
ciphertext, an unknown key id) is **refused**. The codec does not raise for it, because the
SDK decodes a whole workflow activation at once: one raising payload would fail that
workflow's task again and again, and a forged Update or Signal would stall the case it was
aimed at. It replaces the payload with a *refused* marker (encoding :data:`REFUSED`, the
reason in the metadata, no content) and logs the reason; no payload converter knows that
encoding, so whatever tries to use the value fails there: an Update is rejected by the
worker before its validator runs (the case is unchanged), a Signal is dropped with a
logged error (the workflow continues), an activity or workflow task fails and is retried,
a client call raises. :meth:`EncryptionCodec.open` is the strict form for callers that want
the exception.

This module is never imported by workflow code (``cryptography`` upsets the sandbox).
"""

from __future__ import annotations

import json
import logging
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from records.secretfile import read_or_create

ENCODING = b"binary/encrypted"
#: Encoding of the marker that replaces a refused payload; no payload converter reads it.
REFUSED = b"binary/madoguchi-refused"
REFUSED_REASON = "madoguchi-refused-reason"  # metadata key of the marker
COMPRESSION = "encryption-compression"  # metadata key; its only value so far: b"zlib"
#: Smaller payloads (search-attribute-sized values, booleans, ids) gain nothing.
COMPRESS_FROM = 512
#: Temporal refuses payloads over a few MB: anything that inflates beyond this is broken.
_MAX_PLAIN_BYTES = 16 * 1024 * 1024
_NONCE_BYTES = 12

logger = logging.getLogger(__name__)


class KeyRingError(RuntimeError):
    """The key file is missing, unreadable or does not hold the key a payload names."""


class PayloadRefused(KeyRingError):
    """A payload that is not sealed with a key of the ring: ``reason`` is one of
    ``not_encrypted``, ``unknown_key``, ``unknown_compression``, ``bad_ciphertext``,
    ``bad_compression``; the message never holds payload content."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"payload refused ({reason}): {detail}")
        self.reason = reason


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys by id; ``active`` encrypts, all of them decrypt."""

    keys: dict[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyRingError(f"active key {self.active!r} is not in the key ring")
        for key_id, key in self.keys.items():
            if len(key) != 32:
                raise KeyRingError(f"key {key_id!r} must be 32 bytes (AES-256)")

    @classmethod
    def generate(cls, key_id: str = "k1") -> KeyRing:
        return cls(keys={key_id: AESGCM.generate_key(bit_length=256)}, active=key_id)

    def rotated(self, new_id: str) -> KeyRing:
        """A ring with a fresh active key; the old keys stay for decryption."""
        if new_id in self.keys:
            raise KeyRingError(f"key id {new_id!r} already exists")
        return KeyRing({**self.keys, new_id: AESGCM.generate_key(bit_length=256)}, new_id)

    def to_json(self) -> str:
        return json.dumps(
            {"active": self.active, "keys": {k: v.hex() for k, v in self.keys.items()}},
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            raw = json.loads(text)
            return cls(keys={k: bytes.fromhex(v) for k, v in raw["keys"].items()},
                       active=raw["active"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyRingError(f"malformed key file: {exc}") from exc

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """Read the ring from ``path``, creating it (mode 0600) on first start."""
        return cls.from_json(read_or_create(path, lambda: cls.generate().to_json()))


class EncryptionCodec(PayloadCodec):
    """AES-GCM payload codec; the key id is bound into the ciphertext as associated data."""

    def __init__(self, ring: KeyRing, *, compress: bool = True) -> None:
        """``compress=False`` writes payloads as releases before compression did (while a
        rolling upgrade still has such processes); reading handles both either way."""
        self._ring = ring
        self._compress = compress
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._ring.active
        cipher = self._ciphers[key_id]
        out = []
        for p in payloads:
            plain = p.SerializeToString()
            metadata = {"encoding": ENCODING, "encryption-key-id": key_id.encode()}
            # Above the inflate limit nothing is deflated, so decode never refuses our own.
            if self._compress and COMPRESS_FROM <= len(plain) <= _MAX_PLAIN_BYTES:
                deflated = zlib.compress(plain, 6)
                if len(deflated) < len(plain):
                    plain, metadata[COMPRESSION] = deflated, b"zlib"
            nonce = secrets.token_bytes(_NONCE_BYTES)
            sealed = cipher.encrypt(nonce, plain, _associated(key_id, metadata.get(COMPRESSION)))
            out.append(Payload(metadata=metadata, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open every payload; a refused one becomes a marker (see the module docstring)."""
        out = []
        for p in payloads:
            try:
                out.append(self.open(p))
            except PayloadRefused as refused:
                # Names the reason and the key id only: the payload may hold personal data.
                logger.warning("temporal payload refused: %s", refused)
                out.append(refused_marker(refused.reason))
        return out

    def open(self, p: Payload) -> Payload:
        """The plain payload sealed in ``p``; raises :class:`PayloadRefused` if ``p`` is
        not sealed with a key of the ring, or was changed after sealing."""
        if p.metadata.get("encoding", b"") != ENCODING:
            # Before this check, plain payloads passed through: anyone reaching the
            # frontend could then decide cases (issue #15).
            encoding = p.metadata.get("encoding", b"").decode(errors="replace")[:40]
            raise PayloadRefused("not_encrypted", f"encoding {encoding!r}")
        key_id = p.metadata.get("encryption-key-id", b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadRefused("unknown_key", f"unknown key id {key_id[:40]!r}")
        compression = p.metadata.get(COMPRESSION) or None
        if compression not in (None, b"zlib"):
            raise PayloadRefused("unknown_compression",
                                 f"unknown compression {compression[:40]!r}")
        try:
            plain = cipher.decrypt(p.data[:_NONCE_BYTES], p.data[_NONCE_BYTES:],
                                   _associated(key_id, compression))
        except (InvalidTag, ValueError) as exc:
            raise PayloadRefused("bad_ciphertext",
                                 f"not sealed by key {key_id!r} or changed since") from exc
        if compression is not None:
            plain = _inflate(plain)
        try:
            return Payload.FromString(plain)
        except DecodeError as exc:
            raise PayloadRefused("bad_ciphertext", "sealed content is no payload") from exc


def refused_marker(reason: str) -> Payload:
    """What a refused payload decodes to: no content, the reason, an unreadable encoding."""
    return Payload(metadata={"encoding": REFUSED, REFUSED_REASON: reason.encode()})


def _associated(key_id: str, compression: bytes | None) -> bytes:
    """What the ciphertext is bound to besides its content: the key id, and the
    compression if any (without one, the associated data is as before compression)."""
    return key_id.encode() + (b";" + compression if compression else b"")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    plain = inflater.decompress(data, _MAX_PLAIN_BYTES)
    if inflater.unconsumed_tail or not inflater.eof:
        raise PayloadRefused("bad_compression",
                             "compressed payload is truncated or inflates beyond the limit")
    return plain


"""The short reference of an application that a person reads aloud on the phone.

Below the services layer so that issued documents (workflows' activities) print the same
reference as the pages show.
"""

from __future__ import annotations

import hashlib

__all__ = ["normalize_reference", "spoken_reference"]

#: Crockford's base32: no I, L, O or U, so a reference read aloud cannot be misheard as
#: another (and 0/1 are the only digits a caller might say as letters; see
#: :func:`normalize_reference`).
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


def spoken_reference(application_id: str) -> str:
    """A short reference a person can read aloud on the phone, e.g. ``7KQ2-M9XD``.

    A pure function of the (opaque) application id: 8 Crockford base32 characters of its
    SHA-256, so the same case has the same reference on every page, in every process, with
    no secret and no storage. 40 bits: two of a municipality's million cases share one with
    a chance of about 1 in 2 million per pair, so it names a case to a person beside the id,
    never instead of it (a lookup by reference lists every match).
    """
    digest = hashlib.sha256(application_id.encode()).digest()
    number = int.from_bytes(digest[:5], "big")
    chars = "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(35, -1, -5))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_reference(text: str) -> str | None:
    """What a caseworker typed as a reference, written as :func:`spoken_reference` writes it
    (case, spaces and hyphens ignored; O read as 0, I and L as 1), or None if it cannot be one.
    """
    compact = "".join(c for c in text.upper() if c not in " -\u3000ー－").translate(_MISREAD)
    if len(compact) != 8 or any(c not in _CROCKFORD for c in compact):
        return None
    return f"{compact[:4]}-{compact[4:]}"

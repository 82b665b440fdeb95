"""Trusted issuers from a configuration file (``MADOGUCHI_ISSUERS_FILE``).

The file is JSON: an object with one key, ``issuers``, a list of
:class:`~identity.issuers.TrustedIssuer` entries (the field names are the model's)::

    {"issuers": [
      {"issuer": "https://eid.example.lg.jp", "kind": "resident",
       "jwks_url": "https://eid.example.lg.jp/.well-known/jwks.json",
       "algorithms": ["ES256"], "audience": "madoguchi-131016",
       "max_age_seconds": 600, "leeway_seconds": 30, "one_time": false,
       "acr_levels": {"urn:example:acr:jpki-card": "high",
                      "urn:example:acr:password": "low"}}
    ]}

A relative ``jwks_file`` is relative to the configuration file's directory; the file is
read and checked at load, so a typo fails at startup, not at the first login. JWKS URLs
are fetched lazily (an issuer that is down at startup does not stop the portal).

Every problem of the file is reported at once in one :class:`IssuerConfigError`, each
naming the entry and key (``issuers[1].leeway_seconds: must be ≤ 60``), never a value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from identity.issuers import TrustedIssuer
from identity.jwks import FileFetcher, JwksError, parse_jwks

__all__ = ["IssuerConfigError", "load_trusted_issuers"]
_MAX_CONFIG_BYTES = 1024 * 1024


class IssuerConfigError(ValueError):
    """The issuers file is unusable. ``problems`` lists each as ``"<where>: <what>"``."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{path}: {len(problems)} problem(s) in the trusted issuers file\n{listing}"
        )


def _where(prefix: str, loc: tuple[Any, ...]) -> str:
    parts = [prefix]
    for item in loc:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def _problems_of(exc: ValidationError, prefix: str) -> list[str]:
    # Never str(exc) or the input: a misplaced private key must not end up in a log.
    problems = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{_where(prefix, error['loc'])}: {message}")
    return problems


def load_trusted_issuers(path: str | os.PathLike[str]) -> list[TrustedIssuer]:
    """Read and check the trusted issuers file at ``path``.

    :returns: the issuers in file order (possibly empty).
    :raises IssuerConfigError: listing every problem (unreadable file, not JSON, unknown
        or missing keys, a bad value, an issuer twice, an unreadable or empty JWKS file).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IssuerConfigError(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    if len(raw) > _MAX_CONFIG_BYTES:
        raise IssuerConfigError(path, [f"larger than {_MAX_CONFIG_BYTES} bytes"])
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise IssuerConfigError(path, ["not UTF-8 text"]) from None
    except ValueError as exc:
        where = getattr(exc, "lineno", None)
        at = f" (line {where})" if where else ""
        raise IssuerConfigError(path, [f"not valid JSON{at}"]) from None
    if not isinstance(document, Mapping):
        raise IssuerConfigError(path, ['the file must hold an object {"issuers": [...]}'])
    problems = [f"{key}: unknown key (only 'issuers')" for key in document if key != "issuers"]
    entries = document.get("issuers")
    if not isinstance(entries, list):
        raise IssuerConfigError(path, [*problems, "issuers: must be a list"])

    issuers: list[TrustedIssuer] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        prefix = f"issuers[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{prefix}: must be an object")
            continue
        entry = dict(entry)
        jwks_file = entry.get("jwks_file")
        if isinstance(jwks_file, str) and jwks_file and not Path(jwks_file).is_absolute():
            entry["jwks_file"] = str((path.parent / jwks_file).resolve())
        try:
            issuer = TrustedIssuer(**entry)
        except ValidationError as exc:
            problems.extend(_problems_of(exc, prefix))
            continue
        if issuer.issuer in seen:
            problems.append(f"{prefix}.issuer: the same issuer as issuers[{seen[issuer.issuer]}]")
            continue
        seen[issuer.issuer] = index
        if issuer.jwks_file is not None:
            try:
                keys = parse_jwks(FileFetcher(Path(issuer.jwks_file))(), issuer)
            except JwksError as exc:
                problems.append(f"{prefix}.jwks_file: {exc}")
                continue
            if not keys:
                problems.append(f"{prefix}.jwks_file: no key usable with {list(issuer.algorithms)}")
                continue
        issuers.append(issuer)
    if problems:
        raise IssuerConfigError(path, problems)
    return issuers

"""``madoguchi verify FILE.pdf``: check an issued document's seal, offline.

Exit status: 0 valid; 1 not valid (tampered, unknown issuer, not sealed) or revoked or
superseded, or the file cannot be checked (too large or too complex to read within the
limits: status ``cannot_check``); 2 usage problems (no trust anchor, unreadable trust file,
status server down).

The check runs in a child process with CPU, memory and time limits
(:class:`documents.bounded.BoundedVerifier`): a file someone sent you may be hostile.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx

from documents.bounded import BoundedVerifier, DocumentUncheckable
from documents.seal import SealError
from documents.verify import MESSAGES, Verdict, load_trust_roots, overall_status

_PKI_ROOT = Path("keys") / "pki" / "root-ca.cert.pem"


def _quiet_pyhanko() -> None:
    # pyHanko logs a traceback (as a warning) for every untrusted chain: in a CLI that is
    # noise on the user's terminal; the verdict says it in plain words.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _trust(trust_files: tuple[str, ...], data_dir: Path) -> list[Any]:
    paths = [Path(p) for p in trust_files]
    if not paths:
        dev_root = data_dir / _PKI_ROOT
        if not dev_root.exists():
            raise click.UsageError(
                "no trust anchor: pass --trust CA.pem (the issuing CA and the TSA's root), "
                f"or --data DIR of a development installation ({dev_root} not found)\n"
                "信頼するルート証明書を --trust で指定してください。"
            )
        paths = [dev_root]
    roots: list[Any] = []
    for path in paths:
        try:
            roots.extend(load_trust_roots(path.read_bytes()))
        except (OSError, SealError) as exc:
            raise click.UsageError(f"cannot use {path} as a trust anchor: {exc}") from exc
    return roots


def _register_status(
    verdict: Verdict, data_dir: Path, status_url: str | None
) -> tuple[str | None, dict[str, Any] | None]:
    """(status, details) from a madoguchi server, or the local register, or (None, None)."""
    if not verdict.ok or not verdict.document_id:
        return None, None
    if status_url:
        url = f"{status_url.rstrip('/')}/api/documents/{verdict.document_id}/status"
        try:
            response = httpx.get(url, timeout=10)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach {status_url}: {exc}") from exc
        if response.status_code == 404:
            return None, None
        if response.status_code != 200:
            raise click.ClickException(f"{url} answered {response.status_code}")
        body = response.json()
        return body.get("status"), body
    db = data_dir / "madoguchi.db"
    if not db.exists():
        return None, None
    from records.db import create_schema, make_engine
    from records.register import DocumentRegister

    engine = make_engine(f"sqlite:///{db}")
    try:
        create_schema(engine)
        register = DocumentRegister(engine)
        doc = register.get(verdict.document_id)
        if doc is None:
            return None, None
        change = register.status_change(doc.id)
        details = {
            "id": doc.id,
            "status": doc.status,
            "municipality": doc.municipality,
            "issued_at": doc.issued_at.isoformat(),
            "status_change": None
            if change is None
            else {
                "status": change.status,
                "reason": change.reason,
                "at": change.at.isoformat(),
                "superseded_by": change.superseded_by,
            },
        }
        return doc.status, details
    finally:
        engine.dispose()


def _yes(value: bool | None) -> str:
    return "yes / はい" if value else "no / いいえ"


def _cannot_check(file: Path, exc: DocumentUncheckable, as_json: bool) -> NoReturn:
    if as_json:
        body = {"file": str(file), "status": "cannot_check", "message": exc.message,
                "reason": exc.detail, "seal": None, "register": None}
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{file}: cannot_check")
        click.echo(f"  {exc.message['ja']}")
        click.echo(f"  {exc.message['en']}")
    sys.exit(1)


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    "trust_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="PEM file of trusted root certificate(s); repeatable. Default: the "
    "development CA of --data.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    help="Data directory: development CA and local register of issued documents",
)
@click.option(
    "--status-url",
    default=None,
    help="Ask this madoguchi server whether the document was revoked, e.g. "
    "https://madoguchi.example.lg.jp",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON")
def verify(
    file: Path, trust_files: tuple[str, ...], data_dir: Path, status_url: str | None, as_json: bool
) -> None:
    """Check the e-seal and timestamp of an issued PDF (and whether it was revoked)."""
    _quiet_pyhanko()
    roots = _trust(trust_files, data_dir)
    data = file.read_bytes()
    try:
        with BoundedVerifier(processes=1, max_waiting=0, queue_timeout=60) as verifier:
            verdict = verifier.verify(data, roots)
    except DocumentUncheckable as exc:
        _cannot_check(file, exc, as_json)
    register_status, register = _register_status(verdict, data_dir, status_url)
    status = overall_status(verdict, register_status)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(file),
                    "status": status,
                    "message": MESSAGES[status],
                    "seal": verdict.model_dump(mode="json"),
                    "register": register,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        click.echo(f"{file}: {status}")
        click.echo(f"  {MESSAGES[status]['ja']}")
        click.echo(f"  {MESSAGES[status]['en']}")
        if verdict.outcome != "not_sealed":
            click.echo(f"  intact / 改ざんなし:          {_yes(verdict.intact)}")
            click.echo(f"  signature valid / 署名有効:    {_yes(verdict.valid)}")
            click.echo(f"  trusted / 信頼できる発行元:    {_yes(verdict.trusted)}")
            click.echo(f"  timestamp valid / 時刻認証:    {_yes(verdict.timestamp_valid)}")
            if verdict.signer is not None:
                click.echo(f"  signer / 署名者:               {verdict.signer.common_name}")
            if verdict.signed_at is not None:
                click.echo(f"  signed at / 署名時刻:          {verdict.signed_at.isoformat()}")
            if verdict.document_id:
                click.echo(f"  document / 文書番号:           {verdict.document_id}")
            if verdict.level:
                click.echo(f"  level / 形式:                  PAdES {verdict.level}")
        change = (register or {}).get("status_change")
        if change:
            click.echo(f"  {change['status']} at {change['at']}: {change['reason']}")
    sys.exit(0 if status == "valid" else 1)

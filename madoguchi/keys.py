"""``madoguchi keys``: the payload encryption keys under the data directory."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from madoguchi.datadir import DataDir
from workflows.codec import KeyRingError


@click.group("keys")
def keys() -> None:
    """Payload encryption keys (AES-256-GCM) that protect case data in Temporal."""


def _data(data_dir: str) -> DataDir:
    data = DataDir(Path(data_dir).expanduser().resolve())
    if not (data.keys / "payload-keys.json").exists():
        raise click.ClickException(f"no payload keys under {data.keys} (start madoguchi once)")
    return data


@keys.command("list")
@click.option("--data", "data_dir", default="var", show_default=True)
def list_keys(data_dir: str) -> None:
    """Show the key ids; the active one encrypts, all of them decrypt."""
    ring = _data(data_dir).payload_keys()
    for key_id in ring.keys:
        click.echo(f"{key_id}{'  (active)' if key_id == ring.active else ''}")


@keys.command("rotate")
@click.option("--data", "data_dir", default="var", show_default=True)
def rotate(data_dir: str) -> None:
    """Add a new active key. Old keys stay, so every case stays readable; restart the
    web and worker processes to encrypt with the new key."""
    data = _data(data_dir)
    path = data.keys / "payload-keys.json"
    ring = data.payload_keys()
    new_id = "k" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    try:
        rotated = ring.rotated(new_id)
    except KeyRingError as exc:
        raise click.ClickException(str(exc)) from exc
    tmp = path.with_name(f".{path.name}.rotating")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(rotated.to_json())
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)  # whole or not at all: a torn key file would lose every case
    click.echo(f"new active key {new_id}; {len(rotated.keys)} keys in the ring. "
               "Restart web and workers to use it.")

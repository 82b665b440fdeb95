"""``madoguchi db``: the read models' schema (Alembic revisions in ``records/migrations``).

Every web and worker process upgrades the schema when it starts (under a lock, so many
starting at once is safe); ``madoguchi db upgrade`` does it ahead of a rollout, so the
new release's first process does not pay for it and an operator sees the result.
"""

from __future__ import annotations

import click

from madoguchi.settings import SettingsError, load_settings
from records.db import head_revision, make_engine, schema_revision, upgrade_schema


def _engine(data_dir: str | None):
    try:
        settings = load_settings(data_dir=data_dir) if data_dir else load_settings()
        if settings.development:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return make_engine(settings.read_model_url)
    except SettingsError as exc:
        raise click.ClickException(f"invalid settings / 設定の誤り: {exc}") from None


_data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False),
                            default=None, help="Data directory (default ./var)")


@click.group()
def db() -> None:
    """The read models' database schema."""


@db.command()
@_data_option
def upgrade(data_dir: str | None) -> None:
    """Create or upgrade the schema to this release's revision."""
    engine = _engine(data_dir)
    try:
        before, after = upgrade_schema(engine)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"schema at {after}: nothing to do / 変更なし")
    else:
        click.echo(f"schema upgraded {before or '(empty)'} -> {after} / 更新しました")


@db.command()
@_data_option
def current(data_dir: str | None) -> None:
    """Show the schema's revision and this release's."""
    engine = _engine(data_dir)
    try:
        found = schema_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    click.echo(f"database: {found or '(empty)'}; this release: {head}")
    if found != head:
        raise SystemExit(1)

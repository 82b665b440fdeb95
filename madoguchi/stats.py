"""``madoguchi stats``: rebuild the statistics read model, export the open-data files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from forms.catalog import Catalog
from madoguchi.datadir import DataDir
from madoguchi.settings import Settings, SettingsError, load_settings
from records.db import create_schema, make_engine
from records.statistics import MilestoneStore
from services.statistics import StatisticsService

_data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False),
                            default=None, help="Data directory (default ./var)")


def _settings(data_dir: str | None) -> Settings:
    try:
        return load_settings(data_dir=data_dir) if data_dir else load_settings()
    except SettingsError as exc:
        raise click.ClickException(f"invalid settings / 設定の誤り: {exc}") from None


def _store(settings: Settings) -> MilestoneStore:
    if settings.development:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.read_model_url)
    create_schema(engine)
    return MilestoneStore(engine)


@click.group()
def stats() -> None:
    """Open statistics (見える化): the read model and its files."""


@stats.command()
@_data_option
def rebuild(data_dir: str | None) -> None:
    """Recompute the statistics read model from Temporal (visibility + each case)."""
    from madoguchi.serve import connect
    from services.statistics_rebuild import rebuild as run_rebuild

    settings = _settings(data_dir)
    store = _store(settings)
    catalog = Catalog.configured(settings.catalog_dir)

    async def go() -> int:
        client = await connect(settings, DataDir(settings.data_dir).payload_keys())
        return await run_rebuild(
            client, store, catalog,
            progress=lambda n: click.echo(f"cases read / 読み込んだ案件: {n}"))

    count = asyncio.run(go())
    click.echo(f"rebuilt / 再構築しました: {count} cases")


@stats.command()
@_data_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for statistics.csv, .json, dataset.json")
def export(data_dir: str | None, out_dir: Path) -> None:
    """Write the open-data files (CSV, JSON, DCAT-style description)."""
    import json

    settings = _settings(data_dir)
    service = StatisticsService(_store(settings), publisher=_publishers(settings))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "statistics.csv").write_bytes(service.csv())
    (out_dir / "statistics.json").write_bytes(service.json())
    description = json.dumps(service.dataset_description(), ensure_ascii=False, indent=1)
    (out_dir / "dataset.json").write_text(description, encoding="utf-8")
    click.echo(f"wrote / 書き出しました: {out_dir}")


def _publishers(settings: Settings) -> dict[str, dict[str, str]]:
    catalog = Catalog.configured(settings.catalog_dir)
    names: dict[str, dict[str, str]] = {}
    for code, municipality in catalog.municipalities.items():
        name = getattr(municipality, "name", None)
        text = name.model_dump() if hasattr(name, "model_dump") else name
        if isinstance(text, dict):
            names[code] = {"ja": text.get("ja", code), "en": text.get("en", code)}
    return names

"""Settings from the environment (``MADOGUCHI_*``) with development defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Field(default=Path("var"), description="Keys, blobs, SQLite files")
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "madoguchi-cases"
    database_url: str | None = Field(
        default=None, description="Read models; default: SQLite file under data_dir"
    )
    public_url: str = "http://127.0.0.1:8000"
    catalog_dir: Path | None = Field(default=None, description="Default: the packaged catalogue")

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def read_model_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'madoguchi.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once; tests build their own ``Settings`` instead."""
    return Settings()

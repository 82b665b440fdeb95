"""A production start refuses the development stand-ins, one clear message each (issue
#22): the SQLite read models, in-memory rate limits (web), the development issuer among
the trusted ones, and missing secrets. What passes is the deployed configuration
(tests/support/production.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from identity.devissuer import DEV_RESIDENT_ISSUER
from madoguchi.settings import SettingsError, load_settings
from tests.support.production import ISSUER, issuers_file, production_env


@pytest.fixture
def clean_env(monkeypatch):
    for name in [k for k in os.environ if k.startswith("MADOGUCHI_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def _check(monkeypatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    load_settings().check_startable()


def test_the_deployed_configuration_starts(clean_env, tmp_path):
    _check(clean_env, production_env(tmp_path))


def _refusal(monkeypatch, env) -> str:
    with pytest.raises(SettingsError) as refused:
        _check(monkeypatch, env)
    return str(refused.value)


def test_sqlite_read_models_are_refused(clean_env, tmp_path):
    env = production_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'madoguchi.db'}")
    message = _refusal(clean_env, env)
    assert message.startswith("MADOGUCHI_DATABASE_URL: production keeps the read models in "
                              "PostgreSQL") and "\n" not in message
    env.pop("MADOGUCHI_DATABASE_URL")  # the default: a SQLite file under the data directory
    assert _refusal(clean_env, env).startswith("MADOGUCHI_DATABASE_URL:")


def test_in_memory_rate_limits_are_refused(clean_env, tmp_path):
    env = production_env(tmp_path, rate_limit_storage="memory://")
    message = _refusal(clean_env, env)
    assert message.startswith("MADOGUCHI_RATE_LIMIT_STORAGE: production counts rate limits "
                              "in Redis") and "\n" not in message


@pytest.mark.parametrize("issuer", [DEV_RESIDENT_ISSUER, "https://idp.madoguchi.invalid/x"])
def test_the_development_issuer_is_refused(clean_env, tmp_path, issuer):
    env = production_env(tmp_path)
    env["MADOGUCHI_ISSUERS_FILE"] = str(issuers_file(
        tmp_path / "issuers", ISSUER, {**ISSUER, "issuer": issuer, "kind": "caseworker"}))
    message = _refusal(clean_env, env)
    assert message == (
        f"MADOGUCHI_ISSUERS_FILE: trusts the development issuer ({issuer}); its signing key "
        "lies in a data directory and it signs anyone in as anyone: remove it")


def test_a_worker_counts_no_rate_limits(clean_env, tmp_path):
    for name, value in production_env(tmp_path, rate_limit_storage="memory://").items():
        clean_env.setenv(name, value)
    load_settings().check_startable("worker")
    with pytest.raises(SettingsError, match="MADOGUCHI_RATE_LIMIT_STORAGE"):
        load_settings().check_startable("web")


@pytest.mark.parametrize("secret", ["payload-keys.json", "id-secret"])
def test_a_missing_secret_is_refused(clean_env, tmp_path, secret):
    env = production_env(tmp_path)
    (tmp_path / "keys" / secret).unlink()
    message = _refusal(clean_env, env)
    assert message == (f"MADOGUCHI_DATA_DIR: {tmp_path / 'keys' / secret} is missing; in "
                       "production every process shares the installation's keys (see "
                       "docs/deploying.md)")


def test_every_problem_is_named_at_once(clean_env, tmp_path):
    message = _refusal(clean_env, {"MADOGUCHI_MODE": "production",
                                   "MADOGUCHI_DATA_DIR": str(tmp_path)})
    named = [line.split(":", 1)[0] for line in message.splitlines()]
    assert named == ["MADOGUCHI_DATABASE_URL", "MADOGUCHI_RATE_LIMIT_STORAGE",
                     "MADOGUCHI_DATA_DIR", "MADOGUCHI_DATA_DIR"]


@pytest.mark.parametrize("command", [["web"], ["worker", "--queue", "documents"]])
def test_the_processes_refuse_to_start_with_the_message(tmp_path, command):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")},
           **production_env(tmp_path)}
    env["MADOGUCHI_ISSUERS_FILE"] = str(issuers_file(
        tmp_path / "issuers", {**ISSUER, "issuer": DEV_RESIDENT_ISSUER}))
    done = subprocess.run([sys.executable, "-m", "madoguchi", *command], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "Error: invalid settings / 設定の誤り: MADOGUCHI_ISSUERS_FILE: trusts the development "
        f"issuer ({DEV_RESIDENT_ISSUER}); its signing key lies in a data directory and it "
        "signs anyone in as anyone: remove it"]

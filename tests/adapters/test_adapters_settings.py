"""From the MADOGUCHI_* settings to working adapters, as every web and worker process builds
them (madoguchi.runtime), and the settings an operator can get wrong."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.models import PersonQuery
from madoguchi.runtime import Runtime, adapters_from_settings
from madoguchi.settings import SettingsError, load_settings


def test_nothing_configured_means_no_adapters(tmp_path):
    adapters = adapters_from_settings(load_settings(data_dir=tmp_path))
    assert adapters.registry is None and adapters.accounts is None


@pytest.mark.parametrize(("overrides", "message"), [
    ({"registry_url": "http://127.0.0.1:1/registry"},
     "MADOGUCHI_REGISTRY_URL and MADOGUCHI_REGISTRY_TOKEN_FILE go together"),
    ({"public_funds_token_file": "/nonexistent"},
     "MADOGUCHI_PUBLIC_FUNDS_URL and MADOGUCHI_PUBLIC_FUNDS_TOKEN_FILE go together"),
    ({"registry_url": "127.0.0.1:1", "registry_token_file": "/nonexistent"},
     "MADOGUCHI_REGISTRY_URL must be an http:// or https:// URL"),
    ({"adapter_read_timeout": 0}, "MADOGUCHI_ADAPTER_READ_TIMEOUT"),
    ({"adapter_attempts": 0}, "MADOGUCHI_ADAPTER_ATTEMPTS"),
])
def test_settings_that_cannot_work_are_refused_naming_the_variable(tmp_path, overrides, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(data_dir=tmp_path, **overrides)


def test_an_unreadable_token_file_stops_the_process_at_start(tmp_path):
    settings = load_settings(data_dir=tmp_path, registry_url="http://127.0.0.1:1/registry",
                             registry_token_file=tmp_path / "missing")
    with pytest.raises(SettingsError, match="MADOGUCHI_REGISTRY_TOKEN_FILE: cannot read"):
        settings.check_startable()
    (tmp_path / "empty").write_text("\n")
    settings = load_settings(data_dir=tmp_path, registry_url="http://127.0.0.1:1/registry",
                             registry_token_file=tmp_path / "empty")
    with pytest.raises(SettingsError, match="is empty"):
        adapters_from_settings(settings)


async def test_configured_from_the_environment_they_reach_the_dev_registry(
        dev_registry, tmp_path, monkeypatch):
    for name, value in {"MADOGUCHI_REGISTRY_URL": dev_registry.registry_url,
                        "MADOGUCHI_REGISTRY_TOKEN_FILE": str(dev_registry.token_file),
                        "MADOGUCHI_PUBLIC_FUNDS_URL": dev_registry.public_funds_url,
                        "MADOGUCHI_PUBLIC_FUNDS_TOKEN_FILE": str(dev_registry.token_file),
                        "MADOGUCHI_ADAPTER_CONNECT_TIMEOUT": "0.5",
                        "MADOGUCHI_ADAPTER_READ_TIMEOUT": "1.5",
                        "MADOGUCHI_ADAPTER_ATTEMPTS": "2"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(data_dir=tmp_path)
    settings.check_startable()
    adapters = adapters_from_settings(settings)
    assert adapters.registry.policy.read_timeout == 1.5
    assert adapters.registry.policy.attempts == 2
    record = await adapters.registry.find(PersonQuery(
        name="鈴木 キヨ", birthdate=date(1939, 2, 11), address="東京都千代田区神田駿河台2-1"))
    assert record is not None and len(record.members) == 1
    assert (await adapters.accounts.account(record.person_id)).holder_kana == "スズキ キヨ"


def test_the_runtime_hands_them_to_the_portal_context(dev_registry, tmp_path, dev_env):
    settings = load_settings(data_dir=tmp_path, registry_url=dev_registry.registry_url,
                             registry_token_file=dev_registry.token_file,
                             public_funds_url=dev_registry.public_funds_url,
                             public_funds_token_file=dev_registry.token_file)
    runtime = Runtime(settings)
    assert runtime.registry is runtime.adapters.registry is not None
    assert runtime.accounts is runtime.adapters.accounts is not None
    context = runtime.portal_context(dev_env.client)
    assert context.registry is runtime.registry and context.accounts is runtime.accounts

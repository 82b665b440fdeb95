"""Rate limits shared by every web process, and the client address behind a proxy (issue
#15, finding 8), and ``madoguchi web`` refusing development mode on a public address.

A real ``redis-server`` (Debian package ``redis-server``) runs on a free loopback port for
the tests that need it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from madoguchi import serve
from madoguchi.cli import main
from madoguchi.settings import SettingsError, load_settings
from madoguchi.up import free_port
from portal.app import create_app
from portal.ratelimit import RateLimitMiddleware, TrustedProxies
from tests.support.redis import running_redis

APPS = "/api/applications"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A redis-server of its own on a free loopback port, stopped after the test."""
    with running_redis() as server:
        yield server.url


def _second_app(stack, **options):
    app = create_app(lambda: None, **options)  # type: ignore[arg-type,return-value]
    app.state.portal = stack.http._transport.app.state.portal
    return app


async def _filings_across(stack, apps, count: int) -> list[int]:
    """``count`` filings by one person, alternating between ``apps``; the body is empty,
    so each is refused (422) cheaply after it was counted."""
    headers = stack.resident("shared-1")
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://portal")
               for a in apps]
    try:
        return [(await clients[i % len(clients)].post(APPS, json={}, headers=headers)).status_code
                for i in range(count)]
    finally:
        for client in clients:
            await client.aclose()


async def test_two_web_processes_share_the_limit_in_redis(stack, redis_url):
    apps = [_second_app(stack, rate_limit_storage=redis_url) for _ in range(2)]
    codes = await _filings_across(stack, apps, 12)
    assert codes[:10] == [422] * 10 and codes[10:] == [429, 429], codes


async def test_in_memory_each_process_counts_alone(stack):
    """What finding 8 was: two processes with memory:// allow twice the limit."""
    apps = [_second_app(stack) for _ in range(2)]
    codes = await _filings_across(stack, apps, 20)
    assert 429 not in codes


async def test_redis_down_lets_requests_through(stack):
    free = free_port()
    apps = [_second_app(stack, rate_limit_storage=f"redis://127.0.0.1:{free}")]
    assert await _filings_across(stack, apps, 2) == [422, 422]


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _sign_ins(app, peer: str, forwarded: list[str]) -> list[int]:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
        return [(await http.post("/login", headers={"X-Forwarded-For": f})).status_code
                for f in forwarded]


async def test_a_forwarded_header_from_an_untrusted_peer_is_ignored():
    app = RateLimitMiddleware(_ok, trusted_proxies="192.0.2.1")
    # Loopback is no proxy unless configured: a made-up address per request buys nothing.
    codes = await _sign_ins(app, "127.0.0.1", [f"203.0.113.{i}" for i in range(11)])
    assert codes == [200] * 10 + [429]


async def test_a_forwarded_header_from_the_configured_proxy_names_the_client():
    app = RateLimitMiddleware(_ok, trusted_proxies="192.0.2.0/28")
    # Behind the proxy, each resident has their own limit ...
    assert await _sign_ins(app, "192.0.2.1", [f"203.0.113.{i}" for i in range(15)]) == [200] * 15
    # ... and one resident is limited, whatever they prepend to the header themselves.
    spoofed = [f"10.9.9.{i}, 198.51.100.7" for i in range(11)]
    assert await _sign_ins(app, "192.0.2.1", spoofed) == [200] * 10 + [429]


def test_the_client_is_the_last_address_that_is_not_a_proxy():
    proxies = TrustedProxies("10.0.0.0/8, 192.0.2.1")
    scope = {"client": ("192.0.2.1", 1),
             "headers": [(b"x-forwarded-for", b"1.1.1.1, 203.0.113.9, 10.1.2.3")]}
    assert proxies.client(scope) == "203.0.113.9"
    assert proxies.client({"client": ("198.51.100.1", 1), "headers": scope["headers"]}) == (
        "198.51.100.1")
    assert TrustedProxies("").client(scope) == "192.0.2.1"


def test_settings_name_the_storage_and_the_proxies(tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_RATE_LIMIT_STORAGE", "redis://redis:6379")
    monkeypatch.setenv("MADOGUCHI_FORWARDED_ALLOW_IPS", "10.0.0.0/8,192.0.2.1")
    settings = load_settings(data_dir=tmp_path)
    assert settings.rate_limit_storage == "redis://redis:6379"
    assert load_settings(data_dir=tmp_path, rate_limit_storage="memory://").rate_limit_storage
    with pytest.raises(SettingsError, match="MADOGUCHI_FORWARDED_ALLOW_IPS"):
        load_settings(data_dir=tmp_path, forwarded_allow_ips="proxy.example")
    with pytest.raises(SettingsError, match="MADOGUCHI_RATE_LIMIT_STORAGE"):
        load_settings(data_dir=tmp_path, rate_limit_storage="memcached://x:11211")
    # With a password, the URL comes from a secret file.
    monkeypatch.delenv("MADOGUCHI_RATE_LIMIT_STORAGE")
    (tmp_path / "redis-url").write_text("redis://:s3cret@redis:6379/0\n")
    from_file = load_settings(data_dir=tmp_path, rate_limit_storage_file=tmp_path / "redis-url")
    assert from_file.rate_limit_storage_url == "redis://:s3cret@redis:6379/0"
    missing = load_settings(data_dir=tmp_path, rate_limit_storage_file=tmp_path / "nope")
    with pytest.raises(SettingsError, match="MADOGUCHI_RATE_LIMIT_STORAGE_FILE"):
        missing.check_startable()


def _run_web(monkeypatch, tmp_path, env: dict[str, str], *args: str):
    seen: dict = {}
    monkeypatch.setattr(serve, "build_web_app", lambda settings, metrics=None: "app")
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    for name in ("MADOGUCHI_MODE", "MADOGUCHI_FORWARDED_ALLOW_IPS", "MADOGUCHI_WEB_HOST"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["web", "--data", str(tmp_path), *args],
                                env={"MADOGUCHI_DATA_DIR": str(tmp_path), **env})
    return result, seen


def test_uvicorn_believes_forwarded_headers_only_from_the_configured_proxies(
        monkeypatch, tmp_path):
    result, seen = _run_web(monkeypatch, tmp_path, {})
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False and seen["forwarded_allow_ips"] == ""
    result, seen = _run_web(monkeypatch, tmp_path, {"MADOGUCHI_FORWARDED_ALLOW_IPS": "10.0.0.2"})
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.0.0.2"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.5", "portal.example.jp"])
def test_development_mode_is_refused_on_a_public_address(monkeypatch, tmp_path, host):
    result, seen = _run_web(monkeypatch, tmp_path, {}, "--host", host)
    assert result.exit_code == 2
    assert "development" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not seen, "nothing was served"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_development_mode_is_served_on_loopback(monkeypatch, tmp_path, host):
    result, seen = _run_web(monkeypatch, tmp_path, {}, "--host", host)
    assert result.exit_code == 0, result.output
    assert seen["host"] == host


def test_production_mode_is_served_on_a_public_address(monkeypatch, tmp_path):
    from tests.support.production import production_env

    result, seen = _run_web(monkeypatch, tmp_path, production_env(tmp_path),
                            "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert seen["host"] == "0.0.0.0"

"""``madoguchi worker`` and ``madoguchi web``: the long-running processes.

Deployed, each task queue has its own pool of worker processes, scaled on its own:

``--queue cases``      the workflows and their light activities (purge, revocation, and
                       the notices of cases started before the notices queue existed)
``--queue documents``  rendering and storing documents (CPU-heavy; ``<queue>-documents``)
``--queue notices``    the notice activities on ``<queue>-notices``, where cases route
                       their notices (patch ``notices-queue-v1``)
``--queue all``        cases + documents + notices in one process (``madoguchi up``)

Every setting comes from ``MADOGUCHI_*`` (see :mod:`madoguchi.settings`); a wrong one
stops the process at start with one line naming the variable, exit code 1.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import click
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.runtime import Runtime as TemporalRuntime

from documents.fonts import JapaneseFontMissing
from documents.issuer import WarmUpFailed
from identity.verify import TokenVerifier
from madoguchi import observability as obs
from madoguchi.runtime import Runtime
from madoguchi.settings import Settings, SettingsError, load_settings
from portal.app import create_app
from portal.codec_endpoint import codec_app
from portal.deps import PortalContext
from records.blobs import BlobError
from workflows.client import data_converter
from workflows.codec import KeyRing
from workflows.worker import Queue, build_workers

log = logging.getLogger("madoguchi")

QUEUES: tuple[Queue, ...] = ("cases", "documents", "notices", "all")

T = TypeVar("T")


def _settings(data_dir: str | None, process: Literal["web", "worker"]) -> Settings:
    try:
        settings = load_settings(data_dir=data_dir) if data_dir else load_settings()
        settings.check_startable(process)
    except SettingsError as exc:
        raise click.ClickException(f"invalid settings / 設定の誤り: {exc}") from None
    return settings


def _fail_cleanly(make: Callable[[], T]) -> T:
    """Operator-fixable problems at start become one line and exit code 1."""
    try:
        return make()
    except (SettingsError, BlobError, OSError, JapaneseFontMissing, WarmUpFailed) as exc:
        raise click.ClickException(f"cannot start / 起動できません: {exc}") from None


_data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Data directory (default ./var)",
)


async def connect(
    settings: Settings,
    ring: KeyRing,
    *,
    runtime: TemporalRuntime | None = None,
    interceptors: Sequence[Any] = (),
) -> Client:
    """The Temporal client every madoguchi process uses: encrypted payloads, the configured
    address, namespace, TLS (CA, client certificate) or API key, metrics runtime, tracing."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(ring, compress=settings.payload_compression),
        tls=settings.temporal_tls_config(),
        api_key=settings.temporal_api_key(),
        runtime=runtime,
        interceptors=list(interceptors),
    )


async def run_worker(settings: Settings, stop: asyncio.Event, queue: Queue = "all") -> None:
    """Run the workers of ``queue`` until ``stop`` is set, then drain and close."""
    metrics = obs.Metrics()
    obs.configure_tracing(settings)
    runtime = _fail_cleanly(lambda: Runtime(settings))
    client = await connect(
        settings,
        runtime.data.payload_keys(),
        runtime=obs.temporal_runtime(settings),
        interceptors=obs.client_interceptors(settings),
    )
    _fail_cleanly(lambda: obs.serve_metrics(settings, metrics))
    counting: asyncio.Task | None = None
    if queue in ("cases", "all") and settings.metrics_port and settings.case_metrics_interval:
        counting = asyncio.create_task(
            obs.count_cases_forever(
                client, metrics, obs.catalog_stages(runtime.catalog), settings.case_metrics_interval
            )
        )
    # A documents worker is warm before it polls: its first document costs what the others
    # do, and a pool that cannot render (no Japanese font) stops the start, not a case.
    activities = _fail_cleanly(
        lambda: runtime.activities(warm_documents=queue in ("documents", "all")))
    with concurrent.futures.ThreadPoolExecutor(max_workers=settings.activity_threads) as pool:
        workers = build_workers(
            client,
            activities,
            queue=queue,
            task_queue=settings.task_queue,
            executor=pool,
            document_slots=settings.document_slots,
            interceptors=[obs.MetricsInterceptor(metrics)],
        )
        tasks = [asyncio.create_task(w.run()) for w in workers]
        log.info(
            "worker ready",
            extra={
                "queue": queue,
                "task_queue": settings.task_queue,
                "namespace": settings.temporal_namespace,
            },
        )
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
        if counting:
            counting.cancel()
        await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        stopped.cancel()
    activities.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures and not stop.is_set():
        # A worker died on its own (lost server, fatal error): exit non-zero so the
        # orchestrator restarts us.
        log.error("worker stopped unexpectedly", extra={"error": type(failures[0]).__name__})
        raise SystemExit(1)
    log.info("worker stopped", extra={"queue": queue})


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


@click.command()
@_data_option
@click.option(
    "--queue",
    type=click.Choice(QUEUES),
    default="all",
    show_default=True,
    envvar="MADOGUCHI_WORKER_QUEUE",
    help="cases: workflows + notices; documents: rendering; notices: <queue>-notices; "
    "all: every one",
)
def worker(data_dir: str | None, queue: Queue) -> None:
    """Run the workflow and activity workers."""
    settings = _settings(data_dir, "worker")
    obs.configure_logging(settings, f"worker-{queue}")

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await run_worker(settings, stop, queue)

    asyncio.run(main())
    _exit_now(0)


def _exit_now(code: int) -> None:
    """Leave without running interpreter finalizers once everything is shut down.

    The Temporal SDK's native threads (client, metrics exporter) can abort the process in
    ``PyGILState_Release`` during finalization (see DESIGN.md), which would turn a clean
    stop into exit code 134 and make orchestrators report a crash on every rollout.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _loopback(host: str) -> bool:
    """Whether ``host`` listens on this machine only (a loopback address or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_web_app(settings: Settings, *, metrics: obs.Metrics | None = None) -> FastAPI:
    """The HTTP app; its lifespan connects to Temporal with the deployed settings."""
    runtime = _fail_cleanly(lambda: Runtime(settings))
    temporal_runtime = obs.temporal_runtime(settings)
    tracing = obs.configure_tracing(settings) is not None

    async def context_factory() -> PortalContext:
        client = await connect(
            settings,
            runtime.data.payload_keys(),
            runtime=temporal_runtime,
            interceptors=obs.client_interceptors(settings, tracing=tracing),
        )
        return runtime.portal_context(client)

    app = create_app(context_factory, rate_limit_storage=settings.rate_limit_storage_url,
                     forwarded_allow_ips=settings.forwarded_allow_ips)
    if settings.codec_endpoint:
        app.mount("/codec", codec_app(runtime.data.payload_keys(),
                                      TokenVerifier(runtime.trusted_issuers()),
                                      ui_origin=settings.temporal_ui_origin,
                                      municipalities=list(runtime.municipalities)))
    obs.instrument_app(app, metrics, tracing=tracing)
    return app


@click.command()
@_data_option
@click.option("--host", default="127.0.0.1", show_default=True, envvar="MADOGUCHI_WEB_HOST")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    envvar="MADOGUCHI_WEB_PORT",
)
def web(data_dir: str | None, host: str, port: int) -> None:
    """Run the HTTP API and pages."""
    settings = _settings(data_dir, "web")
    if settings.development and not _loopback(host):
        # Development mode hands anyone an approver's session from the demo sign-in.
        click.echo(
            f"madoguchi: refusing to serve development mode on {host}: anyone could sign in "
            "as a demo caseworker; use --host 127.0.0.1, or MADOGUCHI_MODE=production / "
            f"開発モードは {host} では起動できません",
            err=True,
        )
        sys.exit(2)
    obs.configure_logging(settings, "web")
    metrics = obs.Metrics()
    app = build_web_app(settings, metrics=metrics)
    _fail_cleanly(lambda: obs.serve_metrics(settings, metrics))
    with contextlib.suppress(KeyboardInterrupt):
        # Our middleware logs each request (route template only): no uvicorn access log,
        # which would record client addresses and raw paths.
        # Forwarded headers only from the configured proxies (uvicorn's default would
        # believe any loopback peer, FORWARDED_ALLOW_IPS from the environment).
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False,
                    proxy_headers=bool(settings.forwarded_allow_ips.strip()),
                    forwarded_allow_ips=settings.forwarded_allow_ips.strip() or "")

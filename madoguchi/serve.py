"""``madoguchi worker`` and ``madoguchi web``: the long-running processes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal

import click
import uvicorn
from fastapi import FastAPI

from madoguchi.services import Runtime
from madoguchi.settings import Settings
from portal.app import create_app
from portal.deps import PortalContext
from workflows.worker import build_workers

log = logging.getLogger("madoguchi")


def _settings(data_dir: str | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


_data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False),
                            default=None, help="Data directory (default ./var)")


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run the case and document workers until ``stop`` is set."""
    runtime = Runtime(settings)
    client = await runtime.connect()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as executor:
        workers = build_workers(client, runtime.activities(), task_queue=settings.task_queue,
                                executor=executor)
        tasks = [asyncio.create_task(w.run()) for w in workers]
        log.info("worker polling %s", settings.task_queue)
        await stop.wait()
        await asyncio.gather(*(w.shutdown() for w in workers))
        await asyncio.gather(*tasks, return_exceptions=True)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


@click.command()
@_data_option
def worker(data_dir: str | None) -> None:
    """Run the workflow and activity workers."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await run_worker(_settings(data_dir), stop)

    asyncio.run(main())


def build_web_app(settings: Settings) -> FastAPI:
    runtime = Runtime(settings)

    async def context_factory() -> PortalContext:
        return runtime.portal_context(await runtime.connect())

    return create_app(context_factory)


@click.command()
@_data_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def web(data_dir: str | None, host: str, port: int) -> None:
    """Run the HTTP API and pages."""
    settings = _settings(data_dir)
    uvicorn.run(build_web_app(settings), host=host, port=port, log_level="info")

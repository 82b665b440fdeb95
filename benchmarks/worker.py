"""``python -m benchmarks.worker``: a madoguchi worker process, as ``madoguchi worker`` runs
it (:func:`madoguchi.serve.run_worker`, every setting from ``MADOGUCHI_*``), plus — for
``--queue cases`` and ``all`` — the bare baseline workflow on ``<queue>-bare`` in the same
process, so both are measured on the same worker.

``--ready-file`` is created once the workers poll; SIGTERM drains and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path


class _Ready(logging.Handler):
    """Creates the ready file when ``run_worker`` logs that its workers run: JSON with the
    pid, the CPU seconds of this process's session so far (itself, its forkserver and warm
    pool children) and ``time.perf_counter()`` (CLOCK_MONOTONIC, the same in every process),
    both taken before the workers' first poll (the log line comes before any await)."""

    def __init__(self, path: Path, extra: asyncio.Event) -> None:
        super().__init__(logging.INFO)
        self.path, self.extra = path, extra

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "worker ready" and self.extra.is_set():
            from benchmarks._harness import session_cpu

            ready = {"pid": os.getpid(), "clock": time.perf_counter(),
                     "session_cpu": session_cpu(os.getsid(0))}
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(ready))
            partial.rename(self.path)  # the harness waits for the name: never half a file


async def _bare(settings, stop: asyncio.Event, started: asyncio.Event) -> None:
    from temporalio.worker import Worker

    from benchmarks.bare import BARE_QUEUE_SUFFIX, BareWorkflow, noop
    from madoguchi.datadir import DataDir
    from madoguchi.serve import connect

    client = await connect(settings, DataDir(settings.data_dir).payload_keys())
    worker = Worker(
        client,
        task_queue=settings.task_queue + BARE_QUEUE_SUFFIX,
        workflows=[BareWorkflow],
        activities=[noop],
    )
    async with worker:
        started.set()
        await stop.wait()


async def main(queue: str, ready: Path | None) -> None:
    from madoguchi.serve import run_worker
    from madoguchi.settings import load_settings

    settings = load_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bare_started = asyncio.Event()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if ready is not None:
        madoguchi_log = logging.getLogger("madoguchi")
        madoguchi_log.setLevel(logging.INFO)
        madoguchi_log.addHandler(_Ready(ready, bare_started))
    tasks = []
    if queue in ("cases", "all"):
        tasks.append(asyncio.create_task(_bare(settings, stop, bare_started)))
        await asyncio.wait_for(bare_started.wait(), 60)
    else:
        bare_started.set()
    await run_worker(settings, stop, queue)  # type: ignore[arg-type]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", default="all", choices=["cases", "documents", "notices", "all"])
    parser.add_argument("--ready-file", type=Path, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.queue, args.ready_file))
    # As `madoguchi worker` does: skip interpreter finalizers (see madoguchi.serve._exit_now).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

"""Rendering and sealing in worker processes, so a burst of certificates uses every core
and never holds the worker's event loop or its GIL.

Each child process builds its own :class:`~documents.issuer.DocumentIssuer` once (a warm
renderer, keys loaded once) from a picklable *recipe*: a module-level function and its
arguments. The parent keeps nothing heavy; ``issue`` has the issuer's signature.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from documents.issuer import DocumentIssuer

#: A picklable way to build the issuer in a child: (module-level function, its arguments).
Recipe = tuple[Callable[..., DocumentIssuer], tuple[Any, ...]]

_issuer: DocumentIssuer | None = None  # one per child process, built by _start


def _start(recipe: Recipe, owner: int, nice: int = 0) -> None:
    global _issuer
    _exit_with(owner)
    if nice:
        os.nice(nice)  # background work: see ProcessPoolIssuer
    build, args = recipe
    _issuer = build(*args)
    _issuer.renderer.font_family  # noqa: B018 - fail at start when no Japanese font


def _exit_with(owner: int, interval: float = 1.0) -> None:
    """Leave when process ``owner`` (the worker that made the pool) is gone.

    A pool child waits for work on a queue whose write end it holds itself, so it never
    sees its worker die; it also holds the forkserver's "alive" pipe and the resource
    tracker's, which keep those two running as long as it runs. After a SIGKILL of the
    worker all three were found alive under init 90 minutes after a test run (issue #22).
    The child's parent is the forkserver, not the worker: watch the worker's pid itself.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid now belongs to another user's process
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-worker", daemon=True).start()


def _issue(template_dir: Path, template_name: str, context: Mapping[str, Any],
           options: dict[str, Any]) -> bytes:
    assert _issuer is not None, "the pool initializer builds the issuer"
    return _issuer.issue(template_dir, template_name, context, **options)


class ProcessPoolIssuer:
    """A :class:`DocumentIssuer` whose work runs in ``processes`` child processes.

    Exceptions raised in a child (TemplateError, UnknownSealer, SealError) reach the
    caller unchanged, so the activity classifies them as before.

    :param nice: niceness the children add to their own. Under a surge the renders are
        the backlog (copies and certificates, nobody waits at the screen for them), while
        filings and caseworkers' actions need the web, the workflow service and the
        workflow workers at once: with the renders niced those get the CPU first, and
        the renders still get every cycle they leave (a niced process is slowed only
        when something else wants the core).
    """

    def __init__(self, recipe: Recipe, processes: int, *, nice: int = 0) -> None:
        # forkserver: children start clean, without the parent's threads and sockets
        # (a forked Temporal client or SQLite connection would be unsafe to use).
        context = multiprocessing.get_context("forkserver")
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_start,
            initargs=(recipe, os.getpid(), nice))
        self.processes = processes

    def issue(self, template_dir: Path, template_name: str, context: Mapping[str, Any], *,
              document_id: str, title: str, municipality_code: str,
              attachments: Mapping[str, bytes] | None = None) -> bytes:
        options = {"document_id": document_id, "title": title,
                   "municipality_code": municipality_code,
                   "attachments": dict(attachments) if attachments else None}
        future = self._pool.submit(_issue, template_dir, template_name, dict(context), options)
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

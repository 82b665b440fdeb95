"""Rendering and sealing in worker processes, so a burst of certificates uses every core
and never holds the worker's event loop or its GIL.

Each child process builds its own :class:`~documents.issuer.DocumentIssuer` once (a warm
renderer, keys loaded once) from a picklable *recipe*: a module-level function and its
arguments, and renders a warm-up page before it takes any work. The parent keeps nothing
heavy; ``issue`` has the issuer's signature. A documents worker calls
:meth:`ProcessPoolIssuer.start` before it polls its queue, so every child is built and warm
by then (and a child that cannot get ready stops the worker's start, not a case).
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

from documents.issuer import DocumentIssuer, WarmUpFailed

#: A picklable way to build the issuer in a child: (module-level function, its arguments).
Recipe = tuple[Callable[..., DocumentIssuer], tuple[Any, ...]]

_issuer: DocumentIssuer | None = None  # one per child process, built by _start
_MESSAGE_CHARS = 1000  # of a start failure sent to the parent (UTF-8: < PIPE_BUF bytes)


def _start(recipe: Recipe, owner: int, ready: Any, nice: int = 0) -> None:
    """The pool initializer: build the issuer, render the warm-up page, and tell the parent
    on ``ready`` (the write end of a pipe): ``(pid, seconds, None)``, or ``(pid, None, what
    failed)``. Each message is one write below PIPE_BUF, so children never interleave."""
    global _issuer
    _exit_with(owner)
    if nice:
        os.nice(nice)  # background work: see ProcessPoolIssuer
    try:
        build, args = recipe
        _issuer = build(*args)
        seconds = _issuer.warm_up()  # raises JapaneseFontMissing without a Japanese font
    except BaseException as exc:
        # The executor only logs an initializer's exception and marks the pool broken:
        # send the reason to the parent so that the worker's start can name it.
        ready.send((os.getpid(), None, f"{type(exc).__name__}: {exc}"[:_MESSAGE_CHARS]))
        raise
    ready.send((os.getpid(), seconds, None))


def _pid() -> int:
    return os.getpid()


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

    Children start on demand unless :meth:`start` starts them all at once; either way each
    renders a warm-up page before its first document.

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
        # A pipe, not a multiprocessing.Queue: no named semaphores to leak or unlink twice.
        self._ready, ready = context.Pipe(duplex=False)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_start,
            initargs=(recipe, os.getpid(), ready, nice))
        self._ready_writer = ready
        self.processes = processes
        #: Seconds each child (by pid) took to build its issuer's warm-up page, once
        #: :meth:`start` has returned.
        self.warmed: dict[int, float] = {}

    def start(self, timeout: float = 300.0) -> dict[int, float]:
        """Start all ``processes`` children now and wait until each one is warm: its issuer
        built and a warm-up page rendered. A worker calls it before polling its queue.

        :param timeout: seconds to wait for all of them (a first start on a fresh machine
            may build the font cache).
        :returns: the warm-up seconds of each child, by pid (also :attr:`warmed`).
        :raises WarmUpFailed: a child could not build its issuer or render (the message
            names the cause, e.g. that no Japanese font is installed), died, or was not
            ready within ``timeout``. The pool is shut down.
        """
        # With the forkserver method the executor starts a child per task submitted while
        # none is idle: one small task per child starts every child at once.
        probes = [self._pool.submit(_pid) for _ in range(self.processes)]
        deadline = time.monotonic() + timeout
        try:
            while len(self.warmed) < self.processes:
                if not self._ready.poll(0.2):
                    broken = [p.exception() for p in probes if p.done() and p.exception()]
                    if broken:
                        raise WarmUpFailed(
                            f"a document process died while getting ready: {broken[0]}"
                        ) from broken[0]
                    if time.monotonic() > deadline:
                        raise WarmUpFailed(
                            f"{self.processes - len(self.warmed)} of {self.processes} document "
                            f"processes were not ready within {timeout:.0f} s") from None
                    continue
                pid, seconds, error = self._ready.recv()
                if error is not None:
                    raise WarmUpFailed(f"a document process could not get ready: {error}")
                self.warmed[pid] = seconds
            for probe in probes:
                probe.result(timeout=max(deadline - time.monotonic(), 1.0))
        except BaseException:
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise
        return dict(self.warmed)

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
        self._ready.close()
        self._ready_writer.close()

"""Verifying untrusted PDFs within limits, in a small pool of pre-started child processes.

Anyone can upload a PDF to the public verify page, and a PDF can be built to make its
reader spend seconds of CPU and a gigabyte of memory (a 38 KB file whose compressed
cross-reference stream inflates to 25 MB took 16 s and 974 MB in-process on this
2-core machine). :func:`documents.verify.verify_pdf` refuses what it can recognise (decode
limits, declared object counts); :class:`BoundedVerifier` adds what only an operating
system can enforce, for whatever it cannot:

- each check runs in a child process with ``RLIMIT_AS`` (memory) and ``RLIMIT_CPU``
  (CPU seconds, set again before every check) and no core dumps;
- the parent waits at most ``timeout`` seconds (wall clock), then kills the child;
- a killed or crashed child is replaced in the background, so the pool keeps working
  (``concurrent.futures.ProcessPoolExecutor`` breaks for good when a child dies);
- at most ``processes`` checks run at once and at most ``max_waiting`` wait for a child:
  a burst cannot take every core or the parent's memory.

The children are started once (``forkserver``, with :mod:`documents.verify` imported
before the fork when the fork server is started here), because a fresh interpreter plus
the pyHanko import costs ~0.9 s, far more than a check (~50 ms).

Errors (:class:`~documents.verify.DocumentUncheckable`, re-exported here):

- ``too_complex``: the file hit a decode or object-count limit, or its child ran out of
  CPU time, memory or wall-clock time, or crashed. Not a verdict: say "cannot be checked".
- ``busy``: every child is taken and the queue is full, or no child became free in
  ``queue_timeout`` seconds. Worth retrying.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from asn1crypto import x509 as asn1_x509

from documents.verify import (
    MAX_DECLARED_OBJECTS,
    DocumentUncheckable,
    Verdict,
    verify_pdf,
)

__all__ = ["BoundedVerifier", "DocumentUncheckable", "shared_verifier"]

log = logging.getLogger("madoguchi.documents")

_MiB = 1024 * 1024

#: How long a child may take to start (fork server start + pyHanko import on a busy
#: machine); not part of any check's time.
_START_TIMEOUT = 60.0


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), the base of its memory cap."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss(pid: int) -> int | None:
    """The peak resident memory of a process in bytes (Linux ``VmHWM``), for the logs."""
    # Gone, or not Linux: no figure for the logs.
    with contextlib.suppress(OSError, ValueError, IndexError), \
            open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def _quiet_pyhanko() -> None:
    # A child has no logging set up: pyHanko's warnings (a traceback for every untrusted
    # chain) would reach stderr through logging's last-resort handler.
    for name in ("pyhanko", "pyhanko_certvalidator", "madoguchi"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _child_main(conn: Connection, memory_bytes: int, cpu_seconds: int,
                max_declared_objects: int | None) -> None:
    """The loop of one child: receive (pdf, trust roots as DER), answer, repeat."""
    _quiet_pyhanko()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed child writes no core file
    base = _address_space()
    limit = (base + memory_bytes) if base is not None else memory_bytes + 512 * _MiB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    roots_cache: dict[tuple[bytes, ...], list[asn1_x509.Certificate]] = {}
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone or closed the pool
        if job is None:
            return
        data, roots_der = job
        # RLIMIT_CPU counts the process's whole life: allow this check cpu_seconds more
        # than used so far. Exceeding it sends SIGXCPU, which ends the process.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime) + cpu_seconds
        if cpu_hard != resource.RLIM_INFINITY:
            soft = min(soft, cpu_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
        leave = False
        try:
            roots = roots_cache.get(roots_der)
            if roots is None:
                roots = [asn1_x509.Certificate.load(der) for der in roots_der]
                roots_cache.clear()
                roots_cache[roots_der] = roots
            verdict = verify_pdf(data, roots, max_declared_objects=max_declared_objects)
            reply: tuple[Any, ...] = ("verdict", verdict.model_dump(mode="json"))
        except DocumentUncheckable as exc:
            reply = ("uncheckable", exc.reason, exc.detail)
            # After a MemoryError the heap may be fragmented or a library half-updated:
            # start afresh rather than trust this process with the next file.
            leave = exc.detail == "memory"
        except MemoryError:
            reply, leave = ("uncheckable", "too_complex", "memory"), True
        del data, job
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        try:
            conn.send((*reply, peak))
        except (OSError, MemoryError):
            return
        if leave:
            return


class _Child:
    """One pre-started child process and the parent's end of its pipe."""

    def __init__(self, context: Any, options: tuple[Any, ...]) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_child_main, args=(child_end, *options), daemon=True,
            name="madoguchi-verify")
        self.process.start()
        child_end.close()
        self.conn: Connection = parent_end
        self.pid: int = self.process.pid or 0
        try:
            if not parent_end.poll(_START_TIMEOUT):
                raise EOFError
            tag, self.pid = parent_end.recv()
        except (EOFError, OSError, ValueError):
            tag = None
        if tag != "ready":
            self.kill()
            raise RuntimeError("verify child did not start")

    def kill(self) -> int | None:
        """End the child now; returns its peak resident memory if it could be read."""
        peak = _peak_rss(self.process.pid) if self.process.pid else None
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
        self.process.join(timeout=5)
        with contextlib.suppress(OSError):
            self.conn.close()
        return peak

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()
        with contextlib.suppress(OSError):
            self.conn.close()


class BoundedVerifier:
    """:func:`~documents.verify.verify_pdf` in pre-started child processes with limits.

    Thread-safe: call :meth:`verify` from many threads (e.g. a web server's thread pool).
    Close it (or use it as a context manager) to stop the children; they also end when
    the parent process does.

    :param processes: children, i.e. checks that may run at once (default: half the
        cores, at least one), so a burst leaves cores for everything else.
    :param max_waiting: checks that may wait for a free child; more are refused at once
        with ``busy`` (default: ``8 * processes``; a waiting check holds a thread).
    :param timeout: wall-clock seconds one check may take before its child is killed.
    :param queue_timeout: seconds a check may wait for a free child before ``busy``.
    :param cpu_seconds: CPU seconds one check may use (``RLIMIT_CPU``, whole seconds).
    :param memory_bytes: address space a child may grow by beyond its size after start
        (``RLIMIT_AS``); the file itself counts against it.
    :param max_declared_objects: passed to :func:`~documents.verify.verify_pdf`.
    """

    def __init__(
        self,
        *,
        processes: int | None = None,
        max_waiting: int | None = None,
        timeout: float = 1.5,
        queue_timeout: float = 10.0,
        cpu_seconds: int = 2,
        memory_bytes: int = 512 * _MiB,
        max_declared_objects: int | None = MAX_DECLARED_OBJECTS,
    ) -> None:
        self.processes = processes or max(1, (os.cpu_count() or 2) // 2)
        self.max_waiting = self.processes * 8 if max_waiting is None else max_waiting
        self.timeout = timeout
        self.queue_timeout = queue_timeout
        #: Children replaced after a limit, a timeout or a crash (for tests and metrics).
        self.replaced = 0
        #: Peak resident memory (bytes) of the child that answered last (informational).
        self.last_child_peak: int | None = None
        self._options = (memory_bytes, max(1, int(cpu_seconds)), max_declared_objects)
        self._context = multiprocessing.get_context("forkserver")
        # Import pyHanko once in the fork server, so a child (and a replacement after a
        # kill) starts in milliseconds. Has no effect when this process's fork server
        # is already running (e.g. started by documents.pool): children then import it
        # themselves, once each.
        self._context.set_forkserver_preload(["documents.verify"])
        self._cond = threading.Condition()
        self._idle: deque[_Child] = deque()
        self._admitted = 0
        self._closed = False
        self._all: set[_Child] = set()
        for _ in range(self.processes):
            self._start_child_in_background()

    # -- children -------------------------------------------------------------------------

    def _start_child_in_background(self) -> None:
        threading.Thread(target=self._start_child, name="madoguchi-verify-start",
                         daemon=True).start()

    def _start_child(self) -> None:
        delay = 0.2
        while True:
            with self._cond:
                if self._closed:
                    return
            try:
                child = _Child(self._context, self._options)
            except (OSError, RuntimeError) as exc:
                log.error("verify: cannot start a child process (%s); retrying", exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            with self._cond:
                if self._closed:
                    child.stop()
                    return
                self._all.add(child)
                self._idle.append(child)
                self._cond.notify()
            return

    def _discard(self, child: _Child, why: str) -> None:
        # After a SIGXCPU or a MemoryError the child is gone or going: its peak memory is
        # read (when it still can be) before it is killed, for the log line.
        peak = child.kill()
        with self._cond:
            self._all.discard(child)
            self.replaced += 1
        log.warning("verify: child %s ended (%s, peak %s MB); replacing it", child.pid, why,
                    None if peak is None else peak // _MiB)
        self._start_child_in_background()

    def _take(self) -> _Child:
        deadline = time.monotonic() + self.queue_timeout
        with self._cond:
            while not self._idle:
                if self._closed:
                    raise RuntimeError("BoundedVerifier is closed")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DocumentUncheckable("busy", "queue_timeout")
                self._cond.wait(left)
            return self._idle.popleft()

    def _give_back(self, child: _Child) -> None:
        with self._cond:
            if self._closed:
                child.stop()
                return
            self._idle.append(child)
            self._cond.notify()

    # -- checking -------------------------------------------------------------------------

    def verify(self, data: bytes, trust_roots: Sequence[asn1_x509.Certificate]) -> Verdict:
        """Check a PDF as :func:`~documents.verify.verify_pdf` does, within the limits.

        Blocking: from async code, run it in a worker thread.

        :param data: the PDF bytes, as received.
        :param trust_roots: the roots a seal and its timestamps must chain to.
        :returns: the :class:`~documents.verify.Verdict`.
        :raises DocumentUncheckable: ``too_complex`` when the file hit a limit (its child
            is replaced), ``busy`` when no child is free in time.
        :raises RuntimeError: when the verifier is closed.
        """
        with self._cond:
            if self._closed:
                raise RuntimeError("BoundedVerifier is closed")
            if self._admitted >= self.processes + self.max_waiting:
                raise DocumentUncheckable("busy", "queue_full")
            self._admitted += 1
        try:
            job = (data, tuple(cert.dump() for cert in trust_roots))
            return self._run(job)
        finally:
            with self._cond:
                self._admitted -= 1

    def _run(self, job: tuple[bytes, tuple[bytes, ...]]) -> Verdict:
        for _attempt in range(2):
            child = self._take()
            try:
                # An idle child never writes: something readable means it is gone.
                if not child.process.is_alive() or child.conn.poll(0):
                    raise BrokenPipeError
                child.conn.send(job)
            except (OSError, ValueError):
                # Died while idle (killed from outside): not this file's doing, so the
                # file gets one more child.
                self._discard(child, "dead before the check")
                continue
            started = time.monotonic()
            if not child.conn.poll(self.timeout):
                self._discard(child, f"timeout after {self.timeout:.1f} s")
                raise DocumentUncheckable("too_complex", "timeout")
            try:
                reply = child.conn.recv()
            except (EOFError, OSError):
                # SIGXCPU (RLIMIT_CPU), the kernel's OOM killer, or a crash in a C
                # library: the file made its child die.
                child.process.join(timeout=1)
                detail = {-signal.SIGXCPU: "cpu_limit", -signal.SIGKILL: "killed"}.get(
                    child.process.exitcode or 0, "crashed")
                self._discard(child, f"{detail} after {time.monotonic() - started:.2f} s")
                raise DocumentUncheckable("too_complex", detail) from None
            kind, *rest, self.last_child_peak = reply
            if kind == "verdict":
                self._give_back(child)
                return Verdict.model_validate(rest[0])
            reason, detail = rest
            if child.process.is_alive() and detail != "memory":
                self._give_back(child)
            else:
                self._discard(child, detail)
            raise DocumentUncheckable(reason, detail)
        raise DocumentUncheckable("busy", "no_child")

    def pids(self) -> list[int]:
        """The process ids of the running children (for monitoring)."""
        with self._cond:
            return sorted(child.pid for child in self._all)

    def close(self) -> None:
        """Stop every child (a check running now is ended)."""
        with self._cond:
            self._closed = True
            children = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for child in children:
            child.stop()

    def __enter__(self) -> BoundedVerifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_shared: BoundedVerifier | None = None
_shared_lock = threading.Lock()


def shared_verifier() -> BoundedVerifier:
    """The process-wide :class:`BoundedVerifier` of the public verify endpoints, started
    on first use (its children start in the background) and closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = BoundedVerifier()
            atexit.register(_shared.close)
        return _shared

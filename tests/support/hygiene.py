"""Process hygiene (issue #22): every server, worker and pool a test starts is stopped by
the end of the session, and the session fails naming any that is not.

The session marks its environment (``MADOGUCHI_TEST_SESSION=<random>``) before any test
runs; every process started from it inherits the mark, also one that daemonized or was
orphaned under init, so ``/proc/*/environ`` finds them all, whoever their parent is now.
A process started with an environment of its own carries the mark only if it is passed
on (tests/support/proxy.py does).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

MARK = "MADOGUCHI_TEST_SESSION"


def mark_session() -> None:
    os.environ.setdefault(MARK, uuid.uuid4().hex)


def marked() -> dict[str, str]:
    """The mark, to add to an environment built from scratch."""
    return {MARK: os.environ[MARK]} if MARK in os.environ else {}


def _ours() -> dict[int, str]:
    if MARK not in os.environ:
        return {}
    needle = f"{MARK}={os.environ[MARK]}".encode()
    me, found = os.getpid(), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue  # a zombie: exited, its parent (we) reaps it at exit
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        found[int(entry.name)] = command[:200]
    return found


def stop_own_multiprocessing_helpers() -> None:
    """This process's forkserver and resource tracker (of pools the tests ran here): they
    would end with the session's process, but the check runs before that."""
    from multiprocessing import forkserver, resource_tracker

    # The public verify endpoints' shared verifier closes its children at exit, after this
    # check: close it now, or the forkserver (its children's parent) never ends and
    # stopping it waits for ever.
    from documents import bounded

    if bounded._shared is not None:
        with contextlib.suppress(Exception):
            bounded._shared.close()
    with contextlib.suppress(Exception):
        forkserver._forkserver._stop()  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        resource_tracker._resource_tracker._stop()  # type: ignore[attr-defined]


def leftovers(grace: float = 10.0) -> dict[int, str]:
    """Processes of this session still running after ``grace`` seconds; killed then, so
    a failed check leaves nothing behind either."""
    stop_own_multiprocessing_helpers()
    deadline = time.monotonic() + grace
    found = _ours()
    while found and time.monotonic() < deadline:
        time.sleep(0.25)
        found = _ours()
    for pid in found:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return found


# --- pytest hooks (tests/conftest.py imports them; ``-p tests.support.hygiene`` too) ----


def pytest_configure(config: pytest.Config) -> None:
    mark_session()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the suite if a process it started outlives it."""
    left = leftovers()
    if not left:
        return
    lines = [f"  pid {pid}: {command}" for pid, command in sorted(left.items())]
    message = ("process hygiene: these processes started by the tests were still running "
               "at the end of the session (now killed):\n" + "\n".join(lines))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED

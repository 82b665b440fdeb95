"""madoguchi's entry points as real processes (``madoguchi web``, ``madoguchi worker``),
configured only by environment, on a namespace of their own on the dev server.

Each process leads a process group of its own; stopping or killing it ends the whole
group (a documents worker's forkserver and pool children included), so a test leaves
nothing behind (the session-end check in tests/conftest.py fails the suite otherwise).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from workflows import search_attributes as sa


async def new_namespace(env: WorkflowEnvironment) -> str:
    """A fresh namespace with madoguchi's search attributes, as an installation has."""
    name = f"madoguchi-{uuid.uuid4().hex[:8]}"
    await env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period={"seconds": 86400}
        )
    )
    kinds = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=name,
            search_attributes={k.name: kinds[k.indexed_value_type.name] for k in sa.ALL_KEYS},
        )
    )
    return name


class Proc:
    """``python -m madoguchi ARGS`` with ``env``, its output in ``logs/<name>.log``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path,
                 *, start: bool = True) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        if start:
            self.start()

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "madoguchi", *self.args],
                env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(f"{self.name} exited {self.proc.returncode}:\n{self.output()[-3000:]}")

    def _end_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """A crash: SIGKILL, to the process only (its children find out on their own)."""
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> int | None:
        """SIGTERM, a graceful stop (40 s at most), then whatever is left of the group."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._end_group()
        return self.proc.returncode


def terminate(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL if it has not ended within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(check: Callable[[], Any], procs: list[Proc], timeout: float = 30,
             what: str = "condition") -> Any:
    """Poll ``check`` until it returns something true; fail early if a process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            p.alive()
        result = check()
        if result:
            return result
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in procs)
    raise AssertionError(f"{what} not met within {timeout} s\n{logs}")


def get(url: str, **kw: Any) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5, **kw)
    except httpx.HTTPError:
        return None

"""What every benchmark shares: a real installation in a temp dir, CPU accounting, statistics.

:class:`Installation` starts, on free loopback ports with their own data directory, the
processes a deployment runs — the Temporal dev server (``temporal server start-dev``, SQLite
file like ``madoguchi up``), one or more ``python -m benchmarks.worker`` processes (the real
madoguchi workers, plus the bare baseline workflow) and ``madoguchi web`` — and stops them
all on exit, whatever happened. :meth:`Installation.cpu` reads each process's utime+stime
from ``/proc/<pid>/stat`` so a benchmark can charge CPU seconds to a window of work.

Figures on a shared 2-core machine are noisy: benchmarks interleave their variants, repeat
them, and report medians and ratios measured in the same run, never a lone absolute time.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from madoguchi.up import (
    die_with_parent,
    free_port,
    port_answers,
    temporal_cli,
    web_answers,
)

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
MUNICIPALITY = "131016"
PROCEDURE = "disaster-certificate"


def session_cpu(leader: int) -> float:
    """CPU seconds (user + system) of every live process in the session ``leader`` leads.

    The harness starts each process in its own session, so this is a worker plus the
    forkserver and pool children it started (``/proc/<pid>/stat`` alone has only the
    parent; children's time reaches its ``cutime`` only once they are reaped).
    """
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[3]) == leader:  # session id (field 6)
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def proc_rss_peak_mb(pid: int) -> float:
    with contextlib.suppress(OSError):  # the process is gone
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def self_cpu() -> float:
    return time.process_time()


# ---- statistics --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p95_ms": round(percentile(seconds, 95) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "n": len(seconds),
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title]
    for n, row in enumerate(cells):
        lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def write_result(name: str, result: dict[str, Any], out_dir: Path | None) -> Path | None:
    """Write ``result`` as ``<out_dir>/<name>.json`` (with the machine and the time)."""
    if out_dir is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
        **result,
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


# ---- the installation --------------------------------------------------------------------


@dataclass
class Process:
    name: str  # "temporal", "web", "worker-all", "worker-documents-2", ...
    role: str  # "temporal" | "web" | "worker"
    popen: subprocess.Popen
    log: Path
    #: What a worker wrote in its ready file (``benchmarks.worker``): pid, ``clock``
    #: (perf_counter) and ``session_cpu`` at the moment it was ready, before its first poll.
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Installation:
    """A whole madoguchi on loopback in ``root``; see the module docstring."""

    root: Path
    env: dict[str, str]
    temporal_port: int
    web_port: int
    task_queue: str
    procs: list[Process] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    # -- processes --

    def _spawn(
        self, name: str, role: str, args: list[str], extra_env: dict[str, str] | None = None
    ) -> Process:
        log = self.root / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        out = open(log, "ab")  # noqa: SIM115 - owned by the child
        # Own process group (stopped as a whole), and SIGTERM if this driver dies even by
        # kill -9: a benchmark never leaves servers behind.
        popen = subprocess.Popen(
            args,
            env={**self.env, **(extra_env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.env.get("PYTHONPATH", str(REPO)),
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        out.close()
        proc = Process(name, role, popen, log)
        self.procs.append(proc)
        return proc

    def start_temporal(self, *, in_memory: bool = False) -> Process:
        from workflows.search_attributes import dev_server_flags

        args = [
            str(temporal_cli()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.temporal_port),
            "--headless",
            "--log-level",
            "error",
            *dev_server_flags(),
        ]
        if not in_memory:
            args += ["--db-filename", str(self.data_dir / "temporal.db")]
        proc = self._spawn("temporal", "temporal", args)
        self._wait(lambda: port_answers(self.temporal_port), proc, "the Temporal dev server")
        return proc

    def start_worker(
        self,
        queue: str = "all",
        *,
        name: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Process:
        name = name or f"worker-{queue}"
        ready = self.root / f"{name}.ready"
        ready.unlink(missing_ok=True)
        proc = self._spawn(
            name,
            "worker",
            [
                sys.executable,
                "-m",
                "benchmarks.worker",
                "--queue",
                queue,
                "--ready-file",
                str(ready),
            ],
            extra_env,
        )
        self._wait(ready.exists, proc, name, timeout=90)
        proc.ready = json.loads(ready.read_text())
        return proc

    def start_web(self) -> Process:
        args = [sys.executable, "-m", "madoguchi", "web", "--port", str(self.web_port)]
        proc = self._spawn("web", "web", args)
        self._wait(lambda: web_answers(self.web_port), proc, "the web server", timeout=90)
        return proc

    def stop(self, proc: Process, timeout: float = 20) -> None:
        if proc.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.popen.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)

    def _wait(self, ready: Any, proc: Process, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                tail = proc.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"{what} exited ({proc.popen.returncode}) while starting\n{tail}"
                )
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")

    def check_alive(self) -> None:
        for proc in self.procs:
            if not proc.alive():
                tail = proc.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{proc.name} died ({proc.popen.returncode})\n{tail}")

    # -- accounting --

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far, by process name: each with the children it started (a
        worker's document render processes), since every process leads its own session."""
        return {p.name: session_cpu(p.pid) for p in self.procs}

    def cpu_by_role(self, before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        roles = {p.name: p.role for p in self.procs}
        out: dict[str, float] = {}
        for name, value in after.items():
            role = roles.get(name, "worker")
            out[role] = out.get(role, 0.0) + value - before.get(name, 0.0)
        return out

    def peak_rss_mb(self) -> dict[str, float]:
        return {p.name: round(proc_rss_peak_mb(p.pid), 1) for p in self.procs}

    # -- clients --

    def dev_issuer(self) -> Any:
        from identity.devissuer import DevIssuer

        return DevIssuer.load_or_create(self.data_dir / "keys")

    async def temporal_client(self) -> Any:
        from madoguchi.datadir import DataDir
        from workflows.client import connect

        return await connect(
            self.temporal_address, "default", DataDir(self.data_dir).payload_keys()
        )


@contextlib.contextmanager
def installation(
    *, env: dict[str, str] | None = None, catalog_dir: Path | None = None, keep: bool = False,
    code: Path | None = None,
) -> Iterator[Installation]:
    """A fresh installation directory and ports; every process it started is stopped after.

    ``code``: the source tree its processes run (default this one; e.g. a worktree of an
    older commit, for a baseline measured in the same run)."""
    root = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    temporal_port, web_port = free_port(), free_port()
    task_queue = f"bench-{os.getpid()}"
    data = root / "data"
    from madoguchi.datadir import DataDir

    datadir = DataDir(data)
    datadir.ensure()
    datadir.payload_keys()
    datadir.id_secret()
    base = {
        **os.environ,
        "PYTHONPATH": str(code or REPO),
        "PYTHONUNBUFFERED": "1",
        "MADOGUCHI_MODE": "development",
        "MADOGUCHI_DATA_DIR": str(data),
        "MADOGUCHI_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "MADOGUCHI_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "MADOGUCHI_TASK_QUEUE": task_queue,
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        # Throughput benchmarks measure the engine, not admission control (benchmarks.surge
        # sets its own limit); older trees ignore the setting.
        "MADOGUCHI_INTAKE_MAX_IN_FLIGHT": "10000",
        "MADOGUCHI_INTAKE_ANSWER_WITHIN": "600",
    }
    for key in [k for k in base if k.startswith("MADOGUCHI_SMTP_")]:
        del base[key]
    if catalog_dir is not None:
        base["MADOGUCHI_CATALOG_DIR"] = str(catalog_dir)
    base.update(env or {})
    inst = Installation(root, base, temporal_port, web_port, task_queue)
    inst.dev_issuer()  # create the development issuer's key before any process reads it
    try:
        yield inst
    finally:
        inst.stop_all()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def example_application() -> dict[str, Any]:
    path = REPO / "forms/catalog/disaster-certificate/examples/valid-basic.json"
    return json.loads(path.read_text())

"""``madoguchi worker --queue documents`` is warm before it polls, and a machine where it
could not render stops it at start with one line saying what to install."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from tests.support.processes import Proc, new_namespace, wait_for


def _env(dev_env, namespace: str, data: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    return {**base, "PYTHONUNBUFFERED": "1", "MADOGUCHI_MODE": "development",
            "MADOGUCHI_DATA_DIR": str(data),
            "MADOGUCHI_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "MADOGUCHI_TEMPORAL_NAMESPACE": namespace,
            "MADOGUCHI_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:8]}",
            "MADOGUCHI_LOG_FORMAT": "json", **extra}


def _session(leader: int) -> list[int]:
    """The pids of the processes in ``leader``'s session (the worker, its pool)."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                raw = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(raw[raw.rindex(")") + 2:].split()[3]) == leader:
                pids.append(int(entry.name))
    return pids


def _renders(pid: int) -> bool:
    """Whether the process has WeasyPrint's text stack loaded (its first render did)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return "libpango" in maps and "libharfbuzz" in maps


async def test_the_pool_has_rendered_before_the_worker_says_it_is_ready(dev_env, tmp_path):
    namespace = await new_namespace(dev_env)
    logs = tmp_path / "logs"
    logs.mkdir()
    worker = Proc("worker-documents", ["worker", "--queue", "documents"],
                  _env(dev_env, namespace, tmp_path / "data",
                       MADOGUCHI_DOCUMENT_PROCESSES="2"), logs)
    try:
        wait_for(lambda: '"worker ready"' in worker.output(), [worker], timeout=120,
                 what="documents worker ready")
        assert worker.proc is not None
        warm = [pid for pid in _session(worker.proc.pid) if _renders(pid)]
        assert len(warm) == 2, worker.output()  # both pool children, before any document
        assert not _renders(worker.proc.pid)  # the worker itself never renders
    finally:
        assert worker.stop() == 0, worker.output()


async def test_no_japanese_font_stops_the_documents_worker_at_start_with_the_fix(
        dev_env, tmp_path):
    namespace = await new_namespace(dev_env)
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n", encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    worker = Proc("worker-documents", ["worker", "--queue", "documents"],
                  _env(dev_env, namespace, tmp_path / "data", FONTCONFIG_FILE=str(conf)), logs)
    assert worker.proc is not None
    try:
        code = worker.proc.wait(timeout=120)
    finally:
        worker.stop()
    out = worker.output()
    assert code != 0, out
    assert "起動できません" in out and "apt-get install fonts-ipaexfont" in out, out
    assert "Traceback" not in out and "worker ready" not in out, out

"""The session-end check of tests/conftest.py (tests/support/hygiene.py): a process a
test leaves running fails the suite (named, then killed); a test that stops what it
starts passes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LEAKS = """
import subprocess
from pathlib import Path

def test_starts_a_server_and_forgets_it(tmp_path):
    # Its own session, as a daemonizing server does: it outlives the test's process tree.
    leaked = subprocess.Popen(["sleep", "300"], start_new_session=True)
    Path({pid_file!r}).write_text(str(leaked.pid))
"""

CLEAN = """
import subprocess

def test_starts_a_server_and_stops_it():
    server = subprocess.Popen(["sleep", "300"])
    server.terminate()
    server.wait()
"""


def _session(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_inner.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "MADOGUCHI_TEST_SESSION"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.support.hygiene", "--noconftest",
         "-o", "addopts=", "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)


def test_a_process_left_running_fails_the_session_and_is_killed(tmp_path):
    pid_file = tmp_path / "leaked.pid"
    done = _session(tmp_path, LEAKS.format(pid_file=str(pid_file)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout  # the test itself passed: the session failed
    pid = int(pid_file.read_text())
    assert f"pid {pid}: sleep 300" in done.stdout
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break  # killed; init has yet to reap it
        time.sleep(0.1)
    else:
        assert not Path(f"/proc/{pid}").exists(), "the leftover was not killed"


def test_a_session_that_stops_what_it_starts_passes(tmp_path):
    done = _session(tmp_path, CLEAN)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "process hygiene" not in done.stdout

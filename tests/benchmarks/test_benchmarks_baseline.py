"""The goals' same-run baseline: a missing tree is named before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_run_sh_stops_at_once_without_a_baseline(tmp_path):
    for command in (["-m", "benchmarks"], ["-m", "benchmarks.goals"]):
        result = subprocess.run(
            [sys.executable, *command, "--baseline", str(tmp_path / "none"),
             "--out", str(tmp_path / "out")],
            capture_output=True, text=True, cwd=REPO, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "no baseline tree at" in result.stderr, result.stderr
        assert "git worktree add --detach" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()

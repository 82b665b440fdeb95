"""Each benchmark at a tiny size, so they cannot rot (real processes, < 90 s in all)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # benchmarks/ is not an installed package

from benchmarks import engine, intake, processed, scaling  # noqa: E402


def test_engine_runs_every_variant_to_the_issued_certificate(tmp_path: Path) -> None:
    result = asyncio.run(engine.run(n=1, rounds=1, concurrency=1, out=tmp_path, quiet=True))
    for variant in engine.VARIANTS:
        v = result["variants"][variant]
        assert v["cases_per_s"] > 0 and v["history"]["events"] > 10
        assert v["cpu_s_per_case"]["temporal"] > 0
    assert result["variants"]["madoguchi"]["cpu_s_per_case"]["web"] > 0
    assert json.loads((tmp_path / "engine.json").read_text())["ratios"]


def test_intake_compares_http_and_direct(tmp_path: Path) -> None:
    result = asyncio.run(intake.run((2,), rounds=1, scale=0.1, out=tmp_path, quiet=True))
    level = result["levels"]["2"]
    assert level["http"]["latency"]["n"] == level["direct"]["latency"]["n"] == 2
    assert level["p95_http_over_direct"] > 0


def test_processed_intake_counts_the_copy_and_the_email_receipt(tmp_path: Path) -> None:
    result = asyncio.run(processed.run(n=2, concurrency=2, rounds=1, out=tmp_path, quiet=True))
    assert result["variants"]["madoguchi"]["latency_to_email"]["n"] == 2


def test_scaling_drains_the_backlog_with_one_and_two_documents_workers(tmp_path: Path) -> None:
    result = asyncio.run(
        scaling.run(n=1, rounds=1, concurrency=1, out=tmp_path, quiet=True, warmup=False)
    )
    for workers in ("1", "2"):
        v = result["variants"][workers]
        assert v["docs_per_s"] > 0 and v["cpu_s"]["documents"] > 0
        assert v["documents"] == result["documents_per_case"]  # the 申請控え + the certificate
        assert set(v["cpu_s_by_process"]) >= {f"documents-{i}" for i in range(1, int(workers) + 1)}
        assert v["start_cpu_s_per_worker"] > 0  # charged before the drain, not in it
    assert result["ratio"]["docs_per_s_2_over_1"] > 0
    assert json.loads((tmp_path / "scaling.json").read_text())["cores"] >= 1
    goal = [line for line in scaling.render(result).splitlines() if line.startswith("GOAL ")]
    assert len(goal) == 1 and goal[0].startswith("GOAL CPU per document 2 vs 1 workers: ")
    assert goal[0].endswith(("-> met", "-> not met")) and "Temporal dev server" in goal[0]


def test_documents_benchmark_reports_the_ratio() -> None:
    run = subprocess.run(
        # --single: this tree alone, whatever baseline worktree the machine may hold.
        [sys.executable, str(REPO / "benchmarks" / "documents.py"), "-n", "1", "--json",
         "--single"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = json.loads(run.stdout)
    assert result["ratio_vs_raw"]["issued_b_lta"] > 0 and result["peak_rss_mb"] > 0

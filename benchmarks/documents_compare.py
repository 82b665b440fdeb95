"""Documents at half the cost (issue #21 part 1): this code against a baseline tree, one run.

Each measurement is a fresh process (``benchmarks/_documents_child.py``) with
``PYTHONPATH`` at one tree, so the same fixed inputs (tests/fixtures/documents) go through
either code; it reports the process CPU (``time.process_time``) of each warm iteration,
not wall time (the machine is shared). Rounds alternate which tree goes first; each
figure is the median over rounds of the per-process medians.

Goals, printed as ``GOAL <name>: <figure> vs baseline <figure> = <ratio>x (target …) ->
met|not met`` (``benchmarks/run.sh`` collects these lines):

- render CPU of the 罹災証明書 and of the 申請控え ≤ 0.5× the baseline's;
- issued B-LTA / raw ≥ 0.85: the rate of sealed + timestamped + LTA certificates
  relative to raw renders of the same tree (raw CPU / issued CPU).

Also the speed probe: a fixed page rendered by WeasyPrint directly (no madoguchi code),
so runs on different days can be compared.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

DEFAULT_BASELINE = Path("/work/baseline")
CHILD = Path(__file__).resolve().parent / "_documents_child.py"
MODES = ["certificate", "application-copy", "issued-certificate", "probe"]
RENDER_TARGET = 0.5
LTA_TARGET = 0.85


def measure(tree: Path, mode: str, n: int) -> float:
    """Median CPU seconds of one warm iteration of ``mode`` in a fresh process on ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-P", str(CHILD), mode, str(n)], env=env,
                         capture_output=True, text=True, check=True, timeout=600).stdout
    return statistics.median(json.loads(out)["cpu_s"])


def run_rounds(trees: dict[str, Path], rounds: int, n: int) -> dict[str, dict[str, list[float]]]:
    """Per tree and mode, the per-process medians of every round (trees alternate)."""
    results: dict[str, dict[str, list[float]]] = {t: {m: [] for m in MODES} for t in trees}
    names = list(trees)
    for round_ in range(rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for mode in MODES:
            for name in order:
                results[name][mode].append(measure(trees[name], mode, n))
    return results


def goal_line(name: str, new: float, base: float, unit: str, target: str, met: bool) -> str:
    return (f"GOAL {name}: {new:.1f}{unit} vs baseline {base:.1f}{unit} = {new / base:.2f}x "
            f"(target {target}) -> {'met' if met else 'not met'}")


def summarize(results: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    med = {t: {m: statistics.median(v) * 1000 for m, v in modes.items()}
           for t, modes in results.items()}
    new, base = med["new"], med["baseline"]
    goals = []
    for mode, label in [("certificate", "render CPU 罹災証明書 (certificate)"),
                        ("application-copy", "render CPU 申請控え (application copy)")]:
        ratio = new[mode] / base[mode]
        goals.append(goal_line(label, new[mode], base[mode], " ms", f"<={RENDER_TARGET}x",
                               ratio <= RENDER_TARGET))
    lta = {t: med[t]["certificate"] / med[t]["issued-certificate"] for t in med}
    goals.append(
        f"GOAL issued B-LTA / raw (certificate): {lta['new']:.2f}x vs baseline "
        f"{lta['baseline']:.2f}x = {lta['new'] / lta['baseline']:.2f}x "
        f"(target >={LTA_TARGET}x raw) -> {'met' if lta['new'] >= LTA_TARGET else 'not met'}")
    goals.append(f"PROBE documents: a fixed page rendered by WeasyPrint directly, "
                 f"{new['probe']:.1f} ms CPU in this tree's rounds, {base['probe']:.1f} ms in "
                 "the baseline's (same machine speed when they agree)")
    return {
        "median_cpu_ms": {t: {m: round(v, 1) for m, v in modes.items()}
                          for t, modes in med.items()},
        "rounds_cpu_ms": {t: {m: [round(x * 1000, 1) for x in v] for m, v in modes.items()}
                          for t, modes in results.items()},
        "b_lta_over_raw": {t: round(v, 3) for t, v in lta.items()},
        "probe_cpu_ms": {t: round(med[t]["probe"], 1) for t in med},
        "goals": goals,
    }


def compare(repo: Path, baseline: Path, *, rounds: int, n: int, as_json: bool) -> dict[str, Any]:
    """Measure both trees, print the goal lines (and JSON if asked), return the summary."""
    rounds = max(rounds, 3)
    results = run_rounds({"new": repo, "baseline": baseline}, rounds, n)
    summary = {"rounds": rounds, "iterations": n, "baseline": str(baseline), **summarize(results)}
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        for line in summary["goals"]:
            print(line, file=sys.stderr)
        return summary
    med = summary["median_cpu_ms"]
    print(f"documents: this tree vs {baseline}, {rounds} alternating rounds x {n} warm "
          "iterations, process CPU per document (median of per-process medians)")
    for mode in MODES:
        print(f"  {mode:20s} {med['new'][mode]:7.1f} ms  baseline {med['baseline'][mode]:7.1f} ms"
              f"  = {med['new'][mode] / med['baseline'][mode]:.2f}x")
    print(f"  speed probe (fixed page, WeasyPrint directly): {summary['probe_cpu_ms']['new']:.1f} "
          f"ms CPU (in the baseline's rounds {summary['probe_cpu_ms']['baseline']:.1f} ms)")
    for line in summary["goals"]:
        print(line)
    return summary

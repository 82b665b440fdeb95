"""The goals of issue #21 against today's code, measured in one run, with a speed probe.

    .venv/bin/python -m benchmarks.goals [--baseline /work/baseline] [--rounds 3] [--n 30]
                                         [--surge-seconds 15] [--out DIR]

Processed intake runs on the baseline tree (a worktree of the older commit) and on this one,
alternating, ``rounds`` each: the medians give CPU per processed submission (all processes
but the load generator) and processed/s, and their ratios to the baseline. Intake p95 over
direct ``start_workflow`` comes from benchmarks.intake on this tree. The surge comes from
benchmarks.surge. The machine-speed probe (a fixed WeasyPrint render's CPU in this process,
and the bare no-op workflow's CPU per case from benchmarks.engine) lets runs on different
days be compared. Every goal prints as ``GOAL <name>: … -> met|not met``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks import engine, intake, processed, surge
from benchmarks._harness import median, ratio, write_result

PROBE_HTML = """<!doctype html><html lang="ja"><head><style>
@page { size: A4; margin: 20mm } body { font-family: 'Noto Sans CJK JP', sans-serif }
table { border-collapse: collapse; width: 100% } td { border: 1px solid #333; padding: 2mm }
</style></head><body><h1>罹災証明書（速度の目安）</h1>
<p>この文書は、ベンチマークの実行環境の速さを比べるための固定のひな形です。</p>
<table>{rows}</table></body></html>"""


def render_probe(renders: int = 5) -> float:
    """Median CPU seconds of one fixed WeasyPrint render in this process (after a warm-up)."""
    from weasyprint import HTML

    rows = "".join(f"<tr><td>項目 {i}</td><td>値 {i * 37}</td></tr>" for i in range(40))
    html = PROBE_HTML.replace("{rows}", rows)
    HTML(string=html).write_pdf()
    samples = []
    for _ in range(renders):
        before = time.process_time()
        HTML(string=html).write_pdf()
        samples.append(time.process_time() - before)
    return median(samples)


def baseline_problem(tree: Path) -> str | None:
    """Why ``tree`` cannot serve as the same-run baseline, or ``None`` if it can: the goals
    compare this code with an older commit's, checked out beside it."""
    if (tree / "workflows" / "procedure.py").is_file():
        return None
    return (f"no baseline tree at {tree}: check out the code to compare with, e.g. "
            f"`git worktree add --detach {tree} <commit>`, or pass --baseline DIR")


def goal(name: str, figure: str, baseline: str, value: float | None, target: str,
         met: bool) -> str:
    shown = "n/a" if value is None else f"{value:.2f}x"
    return (f"GOAL {name}: {figure} vs baseline {baseline} = {shown} (target {target}) -> "
            + ("met" if met else "not met"))


async def run(*, baseline: Path, rounds: int = 3, n: int = 30, concurrency: int = 30,
              levels: tuple[int, ...] = (1, 10, 50, 200), intake_scale: float = 0.5,
              surge_seconds: float = 15, out: Path | None = None) -> dict[str, Any]:
    probe_before = render_probe()
    samples: dict[str, list[dict[str, Any]]] = {"baseline": [], "new": []}
    for r in range(rounds):
        order = [("baseline", baseline), ("new", None)]
        for name, code in order if r % 2 == 0 else reversed(order):
            result = await processed.run(n=n, concurrency=concurrency, rounds=1, quiet=True,
                                         code=code)
            variant = result["variants"]["madoguchi"]
            samples[name].append(variant)
            print(f"  processed round {r + 1} {name}: {variant['processed_per_s']}/s, "
                  f"{variant['cpu_s_per_submission_total']} CPU s each", flush=True)
    figures = {
        name: {"processed_per_s": median([s["processed_per_s"] for s in runs]),
               "cpu_s_per_submission": median([s["cpu_s_per_submission_total"] for s in runs])}
        for name, runs in samples.items()
    }
    intake_result = await intake.run(levels, rounds=rounds, scale=intake_scale, quiet=True)
    surge_result = await surge.run(seconds=surge_seconds, quiet=True)
    engine_result = await engine.run(n=4, rounds=1, concurrency=2, quiet=True)
    probe_after = render_probe()
    new, old = figures["new"], figures["baseline"]
    cpu_ratio = ratio(new["cpu_s_per_submission"], old["cpu_s_per_submission"])
    rate_ratio = ratio(new["processed_per_s"], old["processed_per_s"])
    lines = [
        goal("processed_cpu_per_submission", f"{new['cpu_s_per_submission']:.3f} CPU s",
             f"{old['cpu_s_per_submission']:.3f} CPU s", cpu_ratio, "<= 0.55x",
             cpu_ratio is not None and cpu_ratio <= 0.55),
        goal("processed_per_s", f"{new['processed_per_s']:.2f}/s",
             f"{old['processed_per_s']:.2f}/s", rate_ratio, ">= 1.8x (noisy: shared cores)",
             rate_ratio is not None and rate_ratio >= 1.8),
    ]
    for level in levels:
        entry = intake_result["levels"][str(level)] if "levels" in intake_result else None
        value = entry.get("p95_http_over_direct") if entry else None
        errors = entry["http"]["errors"] if entry else 0
        # A filing that failed is not a fast one: any error and the goal is not met.
        lines.append(goal(f"intake_p95_{level}_residents",
                          f"p95 HTTP ({errors} errors)",
                          "p95 direct start_workflow (same run)", value, "<= 1.5x, no errors",
                          value is not None and value <= 1.5 and not errors))
    lines.append(surge.render(surge_result).splitlines()[-1])
    bare_noop = engine_result["variants"]["bare_noop"]["cpu_s_per_case_total"]
    lines.append(f"PROBE weasyprint fixed render: {probe_before * 1000:.0f} ms CPU before, "
                 f"{probe_after * 1000:.0f} ms after; bare no-op workflow "
                 f"{bare_noop * 1000:.0f} ms CPU per case")
    result = {"figures": figures, "processed_samples": samples,
              "intake": intake_result, "surge": surge_result,
              "probe": {"weasyprint_render_cpu_s": [probe_before, probe_after],
                        "bare_noop_cpu_s_per_case": bare_noop},
              "goals": lines}
    write_result("goals", result, out)
    print("\n".join(lines))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=Path("/work/baseline"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--levels", default="1,10,50,200")
    parser.add_argument("--surge-seconds", type=float, default=15)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    problem = baseline_problem(args.baseline)
    if problem:
        parser.error(problem)
    asyncio.run(run(baseline=args.baseline, rounds=args.rounds, n=args.n,
                    levels=tuple(int(x) for x in args.levels.split(",")),
                    surge_seconds=args.surge_seconds, out=args.out))


if __name__ == "__main__":
    main()

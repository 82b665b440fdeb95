"""``python -m benchmarks [--out DIR]``: a short version of every benchmark (~2 min on 2 cores).

Full-size runs: each module on its own (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import engine, goals, intake, life_events, processed, scaling, statistics_pages
from benchmarks._harness import REPO


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--full", action="store_true", help="the goals of #21 at full size")
    parser.add_argument("--baseline", type=Path, default=Path("/work/baseline"),
                        help="a worktree of today's code, for the goals' same-run baselines")
    args = parser.parse_args()
    problem = goals.baseline_problem(args.baseline)
    if problem:  # before ten minutes of other benchmarks, not after them
        parser.error(problem)
    began = time.monotonic()
    asyncio.run(engine.run(n=6, rounds=2, concurrency=3, out=args.out))
    asyncio.run(intake.run((1, 10, 50), rounds=1, scale=0.5, out=args.out))
    asyncio.run(processed.run(n=30, concurrency=30, rounds=1, out=args.out))
    asyncio.run(scaling.run(n=8, rounds=1, concurrency=4, out=args.out))
    asyncio.run(life_events.run(n=3, rounds=3, concurrency=2, out=args.out))
    asyncio.run(statistics_pages.run(n=10_000, requests=40, out=args.out, colds=1))
    documents = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "documents.py"), "-n", "5", "--json",
         "--baseline", str(args.baseline)],
        capture_output=True,
        text=True,
        check=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "documents.json").write_text(documents.stdout)
    print("documents (one core):", documents.stdout)
    # The comparison prints its goal lines beside the JSON, on stderr: keep them for run.sh.
    print("".join(line for line in documents.stderr.splitlines(keepends=True)
                  if line.startswith(("GOAL ", "PROBE "))), end="")
    if args.full:
        asyncio.run(goals.run(baseline=args.baseline, rounds=3, n=60, concurrency=50,
                              intake_scale=1.0, surge_seconds=60, out=args.out))
    else:
        asyncio.run(goals.run(baseline=args.baseline, rounds=3, n=12, concurrency=12,
                              intake_scale=0.25, surge_seconds=10, out=args.out))
    print(f"all benchmarks: {time.monotonic() - began:.0f} s; JSON in {args.out}/")


if __name__ == "__main__":
    main()

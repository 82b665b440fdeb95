"""``python -m benchmarks.statistics_pages [-n 100000] [--requests 200]``: ``/statistics`` and
its CSV with N cases in the statistics read model.

The read model (SQLite file in a temp dir, as ``madoguchi up`` keeps it) is filled with N
synthetic cases' milestones through the records API in bulk; the portal is the real ASGI
app, called in-process over httpx's ASGI transport (no socket: what is measured is the
app, routing, middleware and rendering included, not the loopback). Measured per
request, alternating page and CSV:

- ``cold``: the first request after the read model changed (the measures computed);
- ``warm``: the following ones (the per-version cache of ``portal.web.statistics_source``);
- ``revalidated``: a reader sending its ETag back (``304``).

Goal (issue #20): p95 <= 50 ms for the page and the CSV. Beside it, a speed probe (a
fixed computation: sorting 200,000 seeded floats, median of 5, CPU time) taken in the
same run, so figures of different runs and machines can be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._harness import latency_summary, median, table, write_result

GOAL_MS = 50.0


def speed_probe(rounds: int = 5) -> float:
    """CPU seconds of a fixed computation (median of ``rounds``)."""
    seeded = random.Random(20)
    values = [seeded.random() for _ in range(200_000)]
    taken = []
    for _ in range(rounds):
        began = time.process_time()
        sorted(values)
        taken.append(time.process_time() - began)
    return median(taken)


async def _timed(http: httpx.AsyncClient, path: str, **kwargs: Any) -> tuple[float, httpx.Response]:
    began = time.perf_counter()
    reply = await http.get(path, **kwargs)
    return time.perf_counter() - began, reply


async def measure(http: httpx.AsyncClient, requests: int, bump: Any,
                  colds: int = 3) -> dict[str, Any]:
    """Latencies of the page and the CSV: cold (after ``bump()`` changed the read model),
    warm and revalidated, interleaved."""
    paths = {"page": "/statistics", "csv": "/statistics/data.csv"}
    cold: dict[str, list[float]] = {k: [] for k in paths}
    warm: dict[str, list[float]] = {k: [] for k in paths}
    revalidated: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(colds):
        bump()
        for kind, path in paths.items():
            seconds, reply = await _timed(http, path)
            assert reply.status_code == 200, (path, reply.status_code)
            cold[kind].append(seconds)
    etags = {}
    for _ in range(requests):
        for kind, path in paths.items():
            seconds, reply = await _timed(http, path)
            assert reply.status_code == 200
            warm[kind].append(seconds)
            etags[kind] = reply.headers["etag"]
            seconds, reply = await _timed(http, path, headers={"If-None-Match": etags[kind]})
            assert reply.status_code == 304
            revalidated[kind].append(seconds)
    return {
        kind: {"cold": latency_summary(cold[kind]), "warm": latency_summary(warm[kind]),
               "revalidated": latency_summary(revalidated[kind])}
        for kind in paths
    }


async def run(n: int = 100_000, requests: int = 200, out: Path | None = None,
              colds: int = 3) -> dict[str, Any]:
    from benchmarks._statistics_seed import installation  # the read model's own API

    probe_before = speed_probe()
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as folder:
        async with installation(Path(folder), n) as (app, bump, seeded_s, source), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                  base_url="http://portal") as http:
            figures = await measure(http, requests, bump, colds)
    probe = median([probe_before, speed_probe()])
    result = {"cases": n, "requests": requests, "seed_s": round(seeded_s, 1), "source": source,
              "speed_probe_s": round(probe, 4), "goal_p95_ms": GOAL_MS, **figures,
              "transport": "ASGI in-process (httpx.ASGITransport)"}
    met = all(figures[k]["warm"]["p95_ms"] <= GOAL_MS for k in figures)
    result["goal_met"] = met
    rows = [(kind, phase, s["p50_ms"], s["p95_ms"], s["n"])
            for kind, phases in figures.items() for phase, s in phases.items()]
    print(table(f"statistics pages, {n:,} cases ({source}; ASGI in-process)",
                ("answer", "phase", "p50 ms", "p95 ms", "n"), rows))
    per_probe = {k: round(figures[k]["warm"]["p95_ms"] / (probe * 1000), 2) for k in figures}
    result["p95_per_probe"] = per_probe
    print(f"  speed probe: sorting 200,000 floats takes {probe * 1000:.1f} ms CPU "
          f"(compare runs by warm p95 / probe: page {per_probe['page']}, "
          f"CSV {per_probe['csv']})")
    print(f"  goal p95 <= {GOAL_MS:.0f} ms (warm page and CSV): {'met' if met else 'NOT met'}")
    write_result("statistics_pages", result, out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="cases in the read model")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--colds", type=int, default=3,
                        help="requests after a change of the read model (each recomputes)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    asyncio.run(run(args.n, args.requests, args.out, args.colds))


if __name__ == "__main__":
    main()

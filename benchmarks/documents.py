"""Benchmark: certificates rendered + sealed + timestamped per second, on one core.

Runs in one process pinned to one CPU, with a warm renderer (as a document worker has):

- ``raw``: ``DocumentRenderer.render_pdf`` of the 罹災証明書 template (same context, QR
  code and attachment as an issued one) — the WeasyPrint baseline;
- ``issued``: ``DocumentIssuer.issue`` — the same render, then the e-seal (ECDSA P-256,
  PAdES) with an RFC 3161 timestamp from the in-process development TSA; B-LTA (chain in
  the DSS + document timestamp) and B-T are measured separately.

Iterations alternate between the variants so that machine noise hits them alike. Reports
medians, rates, the ratio issued/raw (goal ≥ 0.8) and the process's peak RSS.

    .venv/bin/python benchmarks/documents.py --single [-n 30] [--json]

Without ``--single`` (and with a baseline tree: ``--baseline``, default ``/work/baseline``
when it exists) it compares this code with the baseline in one run (issue #21): see
:mod:`benchmarks.documents_compare`, which prints the ``GOAL`` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from documents.issuer import DocumentIssuer, development_issuer  # noqa: E402
from documents.qr import qr_svg, verify_url  # noqa: E402
from documents.render import DocumentRenderer  # noqa: E402

TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
PUBLIC_URL = "https://madoguchi.example.lg.jp"


def context() -> dict[str, Any]:
    address = {
        "postal_code": "1000001",
        "prefecture": "東京都",
        "city": "千代田区",
        "street": "千代田1-1",
    }
    return {
        "document": {"id": "DOC-BENCH", "title": "罹災証明書"},
        "issued_at": "2026-11-26T10:30:00+09:00",
        "application_id": "APP-BENCH",
        "municipality": {"code": "131016", "name": {"ja": "千代田区", "en": "Chiyoda City"}},
        "disaster_event": {"id": "t", "name": {"ja": "令和8年台風第15号"}, "date": "2026-09-20"},
        "data": {
            "applicant": {
                "name": {
                    "family": "山田",
                    "given": "太郎",
                    "family_kana": "ヤマダ",
                    "given_kana": "タロウ",
                },
                "address": dict(address),
            },
            "property": {"address": dict(address)},
            "damage": {"date": "2026-09-20"},
        },
        "survey": {"damage_ratio": 42.5},
        "computed": {"damage_grade": {"code": "large_scale_half", "ja": "大規模半壊"}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="iterations per variant")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--single", action="store_true",
                        help="this tree only, in one process (no baseline comparison)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="the baseline worktree (default /work/baseline if present)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (>= 3)")
    args = parser.parse_args()
    from benchmarks.documents_compare import DEFAULT_BASELINE, compare

    baseline = args.baseline or (DEFAULT_BASELINE if DEFAULT_BASELINE.is_dir() else None)
    if not args.single and baseline is not None:
        compare(REPO, baseline, rounds=args.rounds, n=min(args.n, 8), as_json=args.json)
        return

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})

    renderer = DocumentRenderer()
    with tempfile.TemporaryDirectory() as tmp:
        lta, pki = development_issuer(
            renderer, Path(tmp) / "pki", {"131016": "千代田区"}, PUBLIC_URL
        )
        seal_files = pki.seal_files("131016", "千代田区")
        b_t_sealer = _b_t_sealer(pki, seal_files)
        b_t = DocumentIssuer(renderer, {"131016": b_t_sealer}, PUBLIC_URL)

        ctx = context()
        url = verify_url(PUBLIC_URL, "DOC-BENCH")
        raw_ctx = {**ctx, "verify_url": url, "qr_svg": qr_svg(url, title=url)}
        from documents.issuer import application_json

        attachments = {"application.json": application_json("DOC-BENCH", "131016", ctx)}

        def raw() -> bytes:
            return renderer.render_pdf(
                TEMPLATES,
                "certificate.html",
                raw_ctx,
                identifier="DOC-BENCH",
                title="罹災証明書",
                attachments=attachments,
            )

        def issue(issuer: DocumentIssuer) -> bytes:
            return issuer.issue(
                TEMPLATES,
                "certificate.html",
                ctx,
                document_id="DOC-BENCH",
                title="罹災証明書",
                municipality_code="131016",
            )

        variants = {
            "raw": raw,
            "issued_b_lta": lambda: issue(lta),
            "issued_b_t": lambda: issue(b_t),
        }
        unsealed = raw()
        seal_only = {
            "seal_b_lta": lambda: lta.sealer("131016").seal(unsealed, document_id="DOC-BENCH"),
            "seal_b_t": lambda: b_t_sealer.seal(unsealed, document_id="DOC-BENCH"),
        }
        every = {**variants, **seal_only}
        for fn in every.values():  # warm-up: fonts, caches, first TSA token
            fn()
        times: dict[str, list[float]] = {name: [] for name in every}
        for _ in range(args.n):
            for name, fn in every.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)

    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "iterations": args.n,
        "cpu": cpu,
        "median_ms": {name: round(m * 1000, 1) for name, m in medians.items()},
        "per_second": {name: round(1 / medians[name], 1) for name in variants},
        "ratio_vs_raw": {
            name: round(medians["raw"] / medians[name], 2)
            for name in ("issued_b_lta", "issued_b_t")
        },
        "goal_ratio": 0.8,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pdf_kb": round(len(issue(lta)) / 1024, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"documents benchmark: {args.n} iterations each, one core (cpu {cpu}), warm renderer")
    for name in variants:
        print(
            f"  {name:14s} median {result['median_ms'][name]:7.1f} ms  "
            f"{result['per_second'][name]:6.1f}/s"
        )
    for name in seal_only:
        print(f"  {name:14s} median {result['median_ms'][name]:7.1f} ms")
    for name, ratio in result["ratio_vs_raw"].items():
        print(f"  {name} / raw rate: {ratio:.2f}x (goal >= 0.8x)")
    print(f"  peak RSS {result['peak_rss_mb']} MB; sealed PDF {result['pdf_kb']} KB")


def _b_t_sealer(pki: Any, files: Any) -> Any:
    from documents.seal import Sealer
    from documents.timestamps import LocalTimestampAuthority

    return Sealer.from_pem(files.key, files.cert, timestamper=LocalTimestampAuthority.from_pki(pki))


if __name__ == "__main__":
    main()

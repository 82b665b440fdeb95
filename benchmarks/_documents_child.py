"""One measuring process of ``benchmarks.documents``: renders with the tree on PYTHONPATH.

Run as a script (``python benchmarks/_documents_child.py MODE N``) with ``PYTHONPATH`` set
to the tree being measured (this code or the baseline worktree): it imports only the
renderer and issuer API both trees share, so the same inputs go through either code. It
prints JSON: the process CPU seconds (``time.process_time``) of each of N warm iterations.

With ``--write FILE`` the last iteration's PDF is saved (the visual test's references
are pages of the baseline's PDFs, see tests/documents/test_documents_visual.py).

Modes: ``certificate`` / ``application-copy`` (``render_pdf`` with the QR code and the
attachment an issued one has), ``issued-<doc>`` (the same through ``DocumentIssuer.issue``:
render + e-seal + RFC 3161 timestamp + B-LTA) and ``probe`` (a fixed page rendered by
WeasyPrint directly: the machine's speed, independent of either tree).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "tests/fixtures/documents/contexts.json"
PUBLIC_URL = "https://madoguchi.example.lg.jp"
PROBE_HTML = (
    "<html lang='ja'><body style='font-family: IPAexMincho'>"
    + "".join(f"<p>第{i}条　申請は、窓口で受け付ける。Article {i}.</p>" for i in range(40))
    + "<table>" + "<tr><td>氏名</td><td>山田 太郎</td></tr>" * 10 + "</table></body></html>"
)


def _decode(value: dict[str, Any]) -> Any:
    return datetime.fromisoformat(value["$datetime"]) if "$datetime" in value else value


def case(name: str) -> dict[str, Any]:
    """The fixed inputs of one document (captured from the issuing activity)."""
    cases = json.loads(FIXTURES.read_text(encoding="utf-8"), object_hook=_decode)
    return cases[name]


def job(mode: str, tree: Path, tmp: Path) -> Callable[[], bytes]:
    """The work of one iteration of ``mode``, warmed up once."""
    if mode == "probe":
        import weasyprint

        def probe() -> bytes:
            return weasyprint.HTML(string=PROBE_HTML).write_pdf()

        probe()
        return probe
    from documents.issuer import application_json, development_issuer
    from documents.qr import qr_svg, verify_url
    from documents.render import DocumentRenderer

    issued = mode.startswith("issued-")
    doc = case(mode.removeprefix("issued-"))
    templates = tree / doc["templates"]
    renderer = DocumentRenderer()
    ctx, doc_id, code = doc["context"], doc["document_id"], doc["municipality_code"]
    if issued:
        issuer, _ = development_issuer(renderer, tmp / "pki", {code: "千代田区"}, PUBLIC_URL)

        def run() -> bytes:
            return issuer.issue(templates, doc["template"], ctx, document_id=doc_id,
                                title=doc["title"], municipality_code=code)
    else:
        url = verify_url(PUBLIC_URL, doc_id)
        attachments = {"application.json": application_json(doc_id, code, ctx)}

        def run() -> bytes:
            full = {**ctx, "verify_url": url, "qr_svg": qr_svg(url, title=url)}
            return renderer.render_pdf(templates, doc["template"], full, identifier=doc_id,
                                       title=doc["title"], attachments=attachments)
    run()
    run()
    return run


def main() -> None:
    mode, n = sys.argv[1], int(sys.argv[2])
    tree = Path(os.environ["PYTHONPATH"].split(os.pathsep)[0]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        fn = job(mode, tree, Path(tmp))
        cpu = []
        for _ in range(n):
            start = time.process_time()
            pdf = fn()
            cpu.append(time.process_time() - start)
    if len(sys.argv) > 4 and sys.argv[3] == "--write":
        Path(sys.argv[4]).write_bytes(pdf)
    print(json.dumps({"mode": mode, "tree": str(tree), "cpu_s": cpu}))


if __name__ == "__main__":
    main()

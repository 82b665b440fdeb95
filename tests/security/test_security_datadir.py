"""Nothing under the data directory is readable by anyone but its owner (#15).

Issued PDFs carry names and addresses, the SQLite files whole cases and inboxes, the keys
directory the payload keys: on a shared host another account must not read any of them.
The processes run here under the permissive umask 022 on purpose: the product must set its
own modes, whatever the operator's shell does.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from identity.devissuer import DevIssuer
from madoguchi.datadir import DataDir
from madoguchi.up import free_port
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from tests.support.stack import documents_of

EXAMPLE = (Path(__file__).resolve().parents[2] / "forms" / "catalog" / "disaster-certificate"
           / "examples" / "valid-basic.json")


def _loose(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) that group or others may read, write or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if not path.is_symlink() and mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


def _umask_022() -> None:
    os.umask(0o022)


def _wait_for(check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def test_after_up_and_a_filing_no_file_is_readable_by_others(tmp_path):
    data = tmp_path / "var"
    port, temporal_port = free_port(), free_port()
    log = tmp_path / "up.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "madoguchi", "up", "--data", str(data), "--port", str(port),
         "--temporal-port", str(temporal_port)],  # --demo: the seed is a filing too
        stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_umask_022,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: proc.poll() is not None or "Press Ctrl-C" in log.read_text(), 120)
        assert proc.poll() is None, log.read_text()
        issuer = DevIssuer.load_or_create(data / "keys")
        resident = {"Authorization": "Bearer " + issuer.issue_resident("dd-1", "山田 花子")}
        staff = {"Authorization": "Bearer " + issuer.issue_caseworker(
            "cw-1", ["131016"], ["reviewer", "surveyor"])}
        approver = {"Authorization": "Bearer " + issuer.issue_caseworker(
            "cw-2", ["131016"], ["approver"])}
        filing = {"procedure": "disaster-certificate", "municipality": "131016",
                  "data": json.loads(EXAMPLE.read_text(encoding="utf-8"))}
        created = httpx.post(f"{url}/api/applications", json=filing, headers=resident,
                             timeout=30)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        for who, action, body in (
                (staff, "accept", {}),
                (staff, "survey", {"data": {"damage_ratio": 55, "surveyed_on": "2026-10-02"}}),
                (approver, "approve", {})):
            reply = httpx.post(f"{url}/api/applications/{app_id}/actions",
                               json={"action": action, **body}, headers=who, timeout=30)
            assert reply.status_code == 200, reply.text

        def issued():
            body = httpx.get(f"{url}/api/applications/{app_id}", headers=resident,
                             timeout=30).json()
            return documents_of(body, "certificate") or None

        _wait_for(issued, 90)
        # A page session too (its row in the sessions table), and signing out.
        with httpx.Client(base_url=url, timeout=30) as browser:
            page = browser.get("/login").text
            csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            assert browser.post("/login", data={"persona": "demo-1",
                                                "csrf_token": csrf}).status_code == 303
        assert any((data / "blobs").rglob("*.pdf")), "the certificate is a blob"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert _loose(data) == [], "\n".join(_loose(data))


def test_stores_create_owner_only_files_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        root = tmp_path / "var"
        root.mkdir(mode=0o755)
        os.chmod(root, 0o755)  # an existing, permissive data directory
        DataDir(root).ensure()
        os.umask(0o022)  # ensure() restricts this process; the stores must not rely on it
        LocalBlobStore(root / "blobs").put("documents/ab/abc.pdf", b"%PDF-1.7 names")
        engine = make_engine(f"sqlite:///{root / 'madoguchi.db'}")
        create_schema(engine)
        engine.dispose()
        DataDir(root).id_secret()
    finally:
        os.umask(previous)
    assert (root / "blobs" / "documents" / "ab" / "abc.pdf").exists()
    assert (root / "madoguchi.db").exists()
    assert _loose(root) == [], "\n".join(_loose(root))


@pytest.mark.parametrize("folder", ["blobs", "logs", "keys"])
def test_an_existing_folder_of_the_data_directory_is_tightened(tmp_path, folder):
    root = tmp_path / "var"
    (root / folder).mkdir(parents=True)
    os.chmod(root, 0o755)
    os.chmod(root / folder, 0o755)
    DataDir(root).ensure()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / folder).stat().st_mode) == 0o700

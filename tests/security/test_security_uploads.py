"""Upload attacks on POST /api/attachments, POST /api/verify and POST /verify.

Oversize, a type disguised by its name, a zip bomb, a PDF with JavaScript, path traversal
in the file name: each is refused with a clear message in Japanese and English (or, for
verify, reported as not valid), quickly, and nothing is written outside the blob store.
"""

from __future__ import annotations

import io
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.support.security import png, snapshot

ATTACH = "/api/attachments"
PHOTOS = {"procedure": "disaster-certificate", "field": "/photos", "municipality": "131016"}


def zip_bomb() -> bytes:
    """~100 KB that inflates to 100 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("bomb.bin", b"\0" * (100 * 1024 * 1024))
    return out.getvalue()


def pdf(*objects: bytes, root_extra: bytes = b"") -> bytes:
    """A small, well-formed PDF (correct xref) with extra objects after the catalog/page."""
    body = [
        b"<< /Type /Catalog /Pages 2 0 R " + root_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        *objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, content in enumerate(body, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(body) + 1, xref)
    return bytes(out)


def pdf_with_javascript() -> bytes:
    return pdf(
        b"<< /Type /Action /S /JavaScript /JS (app.alert\\('pwned'\\);) >>",
        root_extra=b"/OpenAction 4 0 R /Names << /JavaScript << /Names [(x) 4 0 R] >> >> ",
    )


def pdf_flate_bomb() -> bytes:
    """A PDF whose one stream inflates to 200 MB (~200 KB on the wire)."""
    packed = zlib.compress(b"\0" * (200 * 1024 * 1024), 9)
    stream = (
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    )
    return pdf(stream, root_extra=b"/Metadata 4 0 R ")


@pytest.fixture
def data_dir(stack, tmp_path: Path) -> Path:
    assert stack.blobs.root.is_relative_to(tmp_path)  # the stack lives in this test's tmp_path
    return tmp_path


def outside_blobs(before: dict, after: dict) -> list[str]:
    """Files created or changed outside ``blobs/`` (the SQLite files are the read models)."""
    return sorted(
        name
        for name, meta in after.items()
        if before.get(name) != meta
        and not name.startswith("blobs/")
        and not name.startswith("madoguchi.db")
    )


def _clear(reply) -> None:
    body = reply.json()
    assert body["error"] and body["message"]["ja"] and body["message"]["en"], body


async def _upload(stack, content: bytes, name: str, claimed: str, headers=None):
    return await stack.http.post(
        ATTACH,
        params=PHOTOS,
        headers=headers or stack.resident("up-1"),
        files={"file": (name, content, claimed)},
    )


@pytest.mark.parametrize(
    ("name", "content", "claimed"),
    [
        ("photo.png", zip_bomb(), "image/png"),
        ("photo.jpg", pdf_with_javascript(), "image/jpeg"),
        ("photo.png", b"MZ\x90\x00" + b"\0" * 600, "image/png"),  # a Windows executable
        (
            "photo.png",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "image/png",
        ),
        ("photo.png", pdf_flate_bomb(), "image/png"),
    ],
)
async def test_attachment_of_the_wrong_type_is_refused_clearly(
    stack, data_dir, name, content, claimed
):
    before = snapshot(data_dir)
    started = time.monotonic()
    reply = await _upload(stack, content, name, claimed)
    assert time.monotonic() - started < 5
    assert reply.status_code == 415, reply.text
    _clear(reply)
    assert reply.json()["error"] == "attachment_type"
    assert "JPEG" in reply.json()["message"]["ja"] and "PNG" in reply.json()["message"]["en"]
    after = snapshot(data_dir)
    assert outside_blobs(before, after) == []
    assert not [n for n in after if n.startswith("blobs/") and n not in before], "nothing stored"


async def test_oversize_attachment_is_refused_before_it_is_read(stack, data_dir):
    before = snapshot(data_dir)
    sent = []

    async def body():
        yield (
            b'--xx\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            b"Content-Type: image/png\r\n\r\n"
        )
        for _ in range(200):  # 50 MB on offer; the field takes 5 MB
            sent.append(256 * 1024)
            yield png() + b"\0" * (256 * 1024 - len(png()))
        yield b"\r\n--xx--\r\n"

    reply = await stack.http.post(
        ATTACH,
        params=PHOTOS,
        content=body(),
        headers={**stack.resident("up-2"), "Content-Type": "multipart/form-data; boundary=xx"},
    )
    assert reply.status_code == 413
    _clear(reply)
    assert sum(sent) < 6 * 1024 * 1024
    assert outside_blobs(before, snapshot(data_dir)) == []


@pytest.mark.parametrize(
    "name",
    [
        "../../../../tmp/evil.png",
        "..\\..\\..\\evil.png",
        "/etc/cron.d/evil.png",
        "..%2F..%2Fevil.png",
        "evil\x00.png",
        "blobs/../../keys/issuer.pem",
    ],
)
async def test_path_traversal_in_the_file_name_goes_nowhere(stack, data_dir, name):
    before = snapshot(data_dir)
    reply = await _upload(stack, png(), name, "image/png")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert "/" not in body["filename"] and "\\" not in body["filename"]
    assert not body["filename"].startswith(".") and "\x00" not in body["filename"]
    assert body["filename"].endswith(".png")
    after = snapshot(data_dir)
    assert outside_blobs(before, after) == []
    new = [n for n in after if n not in before]
    assert new == [f"blobs/attachments/{body['id']}"], new
    assert not Path("/tmp/evil.png").exists()


VERIFY_ATTACKS = {
    "zip_disguised_as_pdf": ("certificate.pdf", zip_bomb()),
    "pdf_with_javascript": ("certificate.pdf", pdf_with_javascript()),
    "flate_bomb": ("certificate.pdf", pdf_flate_bomb()),
    "traversal_name": ("../../../etc/passwd.pdf", pdf_with_javascript()),
    "text": ("certificate.pdf", b"%PDF-1.7\n" + b"A" * 5000),
}


@pytest.mark.parametrize("attack", sorted(VERIFY_ATTACKS))
async def test_verify_reports_hostile_files_as_not_valid(stack, data_dir, attack):
    name, content = VERIFY_ATTACKS[attack]
    before = snapshot(data_dir)
    started = time.monotonic()
    api = await stack.http.post("/api/verify", files={"file": (name, content, "application/pdf")})
    page = await stack.http.post("/verify", files={"file": (name, content, "application/pdf")})
    raw = await stack.http.post(
        "/api/verify", content=content, headers={"Content-Type": "application/pdf"}
    )
    assert time.monotonic() - started < 20
    for reply in (api, raw):
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] != "valid" and reply.json()["document"] is None
        assert reply.json()["message"]["ja"] and reply.json()["message"]["en"]
    assert page.status_code == 200 and "有効です" not in page.text
    assert "passwd" not in page.text and "pwned" not in page.text
    assert outside_blobs(before, snapshot(data_dir)) == []


async def test_verify_refuses_oversize_with_a_clear_message(stack, data_dir):
    big = b"%PDF-1.7\n" + b"\0" * (21 * 1024 * 1024)
    raw = await stack.http.post(
        "/api/verify", content=big, headers={"Content-Type": "application/pdf"}
    )
    assert raw.status_code == 413
    _clear(raw)
    form = await stack.http.post("/api/verify", files={"file": ("big.pdf", big, "application/pdf")})
    assert form.status_code == 413
    page = await stack.http.post("/verify", files={"file": ("big.pdf", big, "application/pdf")})
    assert page.status_code == 413 and "20 MB" in page.text


async def test_verify_stops_reading_a_multipart_upload_past_the_limit(stack):
    sent = []

    async def body():
        yield (
            b'--yy\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
        )
        for _ in range(160):  # 80 MB on offer; the limit is 20 MB
            sent.append(512 * 1024)
            yield b"\0" * (512 * 1024)
        yield b"\r\n--yy--\r\n"

    reply = await stack.http.post(
        "/api/verify", content=body(), headers={"Content-Type": "multipart/form-data; boundary=yy"}
    )
    assert reply.status_code == 413
    assert sum(sent) < 22 * 1024 * 1024, f"read {sum(sent) // 2**20} MB before refusing"

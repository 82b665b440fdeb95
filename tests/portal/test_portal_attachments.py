"""Attachments: limits enforced while streaming, type by content, names sanitized, and
references checked against their owner."""

import io
import json

import pytest
from PIL import Image

from forms.attachments import safe_filename, sniff
from forms.catalog import DEFAULT_ROOT
from forms.filing import validate_application
from forms.municipalities import load_municipalities

URL = "/api/attachments"
PHOTOS = {"procedure": "disaster-certificate", "field": "/photos", "municipality": "131016"}
EXAMPLE = json.loads(
    (DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json").read_text("utf-8")
)


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _upload(stack, content: bytes, name: str, claimed: str, headers=None, params=PHOTOS):
    return await stack.http.post(
        URL,
        params=params,
        headers=headers or stack.resident("r-1"),
        files={"file": (name, content, claimed)},
    )


async def test_photo_is_stored_by_content_and_referenced_from_the_form(stack, catalog):
    uploaded = await _upload(stack, _image("PNG"), "写真 1.jpeg", "image/jpeg")
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    # The bytes are a PNG: the type and the extension follow them, not the name.
    assert body["media_type"] == "image/png" and body["filename"] == "写真 1.png"
    assert stack.blobs.exists(f"attachments/{body['id']}")
    download = await stack.http.get(f"{URL}/{body['id']}", headers=stack.resident("r-1"))
    assert download.status_code == 200 and download.content == _image("PNG")
    assert (
        await stack.http.get(f"{URL}/{body['id']}", headers=stack.resident("r-2"))
    ).status_code == 404

    filed = await stack.http.post(
        "/api/applications",
        headers=stack.resident("r-1"),
        json={
            "procedure": "disaster-certificate",
            "municipality": "131016",
            "data": {**EXAMPLE, "photos": [body["id"]]},
        },
    )
    assert filed.status_code == 201, filed.text

    # Validation against the store: someone else's id or an unknown one is refused.
    store = stack.http._transport.app.state.portal.attachments
    procedure = catalog.get("disaster-certificate")
    chiyoda = load_municipalities()["131016"]
    owner = store.get(body["id"]).owner
    assert owner == stack.cases.applicant_key(
        stack.http._transport.app.state.portal.verifier.verify(
            stack.resident("r-1")["Authorization"].split()[1]
        )
    )
    data = {**EXAMPLE, "photos": [body["id"]]}
    assert validate_application(procedure, chiyoda, data, attachments=store, owner=owner).valid
    other = validate_application(procedure, chiyoda, data, attachments=store, owner="someone")
    assert [(e.path, e.code) for e in other.errors] == [("/photos/0", "unknown_attachment")]
    assert "被害の写真" in other.errors[0].message["ja"]
    fake = validate_application(
        procedure,
        chiyoda,
        {**EXAMPLE, "photos": ["att-" + "a" * 26]},
        attachments=store,
        owner=owner,
    )
    assert [e.code for e in fake.errors] == ["unknown_attachment"]
    many = validate_application(
        procedure, chiyoda, {**EXAMPLE, "photos": [body["id"]] * 4}, attachments=store, owner=owner
    )
    assert "maxItems" in {e.code for e in many.errors}


async def test_wrong_type_disguised_by_name_and_claimed_type_is_refused(stack):
    refused = await _upload(stack, PDF, "photo.png", "image/png")
    assert refused.status_code == 415
    assert refused.json()["error"] == "attachment_type"
    assert refused.json()["details"]["detected"] == "application/pdf"
    assert "JPEG, PNG" in refused.json()["message"]["ja"]
    text = await _upload(stack, b"<script>alert(1)</script>" * 20, "x.jpg", "image/jpeg")
    assert text.status_code == 415


async def test_oversize_is_refused_while_streaming(stack):
    sent = []
    boundary = "b0undary"

    async def body():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        chunk = _image("JPEG") + b"\0" * (256 * 1024)
        for _ in range(80):  # ~20 MB on offer; the field takes 5 MB
            sent.append(len(chunk))
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await stack.http.post(
        URL,
        params=PHOTOS,
        content=body(),
        headers={
            **stack.resident("r-1"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 413, response.text
    assert response.json()["details"] == {"max_bytes": 5242880}
    assert sum(sent) < 6 * 1024 * 1024  # reading stopped just past the limit

    declared = await stack.http.post(
        URL,
        params=PHOTOS,
        content=b"x" * 6_000_000,
        headers={
            **stack.resident("r-1"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert declared.status_code == 413  # refused by its Content-Length alone


async def test_field_without_attachments_and_caseworkers_are_refused(stack):
    wrong = await _upload(
        stack, _image("PNG"), "a.png", "image/png", params={**PHOTOS, "field": "/copies"}
    )
    assert wrong.status_code == 422 and wrong.json()["details"]["fields"] == ["/photos"]
    staff = await _upload(
        stack, _image("PNG"), "a.png", "image/png", headers=stack.caseworker("cw-1")
    )
    assert staff.status_code == 403


@pytest.mark.parametrize(
    ("name", "media_type", "expected"),
    [
        ("../../etc/passwd", "image/png", "passwd.png"),
        ("..\\..\\windows\\system32\\evil.exe", "application/pdf", "evil.pdf"),
        ("/abs/path/.hidden.jpg", "image/jpeg", "hidden.jpg"),
        ('写真\x00<>:"|?*.png', "image/png", "写真________.png"),
        ("", "image/png", "file.png"),
        ("....", "image/jpeg", "file.jpg"),
        ("a" * 300 + ".png", "image/png", "a" * 100 + ".png"),
    ],
)
def test_file_names_are_sanitized(name, media_type, expected):
    assert safe_filename(name, media_type) == expected


async def test_path_traversal_name_is_sanitized_on_upload(stack):
    uploaded = await _upload(stack, _image("JPEG"), "../../../etc/cron.d/x.jpg", "image/jpeg")
    assert uploaded.status_code == 201
    assert uploaded.json()["filename"] == "x.jpg"
    assert uploaded.json()["id"].startswith("att-")


def test_sniffing_ignores_names():
    assert sniff(_image("JPEG")) == "image/jpeg"
    assert sniff(_image("PNG")) == "image/png"
    assert sniff(PDF) == "application/pdf"
    assert sniff(b"hello world") is None

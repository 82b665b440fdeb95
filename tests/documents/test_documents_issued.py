"""Every document the shipped catalogue issues, through the real issuing activity (render,
municipal number, seal, register), checked as a person and a validator would see it:
tagged PDF/A-3u at PDF 1.7, a valid seal, the mayor, contact, legal basis, guidance, the
seal image, and a page layout where text stays on the page and clear of the seal and QR.

PNGs of every document land in ``test-artifacts/documents/`` (``pdftoppm -png -r 80``).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont
from temporalio.testing import ActivityEnvironment

from documents.certified import seal_image_data_url
from documents.issuer import development_issuer
from documents.render import DocumentRenderer
from documents.seal import load_pem_certificates
from documents.verify import verify_pdf
from forms.catalog import DEFAULT_ROOT, Catalog
from forms.computations import damage_grade
from forms.compute import compute_action
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.numbering import DocumentNumbers
from records.register import DocumentRegister
from tests.support.catalogue_cases import forward_action, step_example
from tests.support.pdfa import pdfa_problems
from workflows.activities import CaseActivities
from workflows.models import IssueDocumentInput

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "forms/catalog"
ARTIFACTS = REPO / "test-artifacts/documents"
PUBLIC_URL = "https://madoguchi.example.lg.jp"
ISSUED_AT = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # 10:30 in Japan


def example(procedure: str, name: str) -> dict[str, Any]:
    return json.loads((CATALOG / procedure / "examples" / name).read_text(encoding="utf-8"))


def walked(procedure_id: str, name: str) -> dict[str, Any]:
    """What a case of the example holds when decided: every stage's forward action taken
    with its step example, its values computed by the procedure's own expressions."""
    procedure = Catalog.load(CATALOG).get(procedure_id)
    data = example(procedure_id, name)
    steps: dict[str, Any] = {}
    computed: dict[str, Any] = {}
    for stage in procedure.definition.stages:
        action = forward_action(stage)
        if action is None or stage.actor != "caseworker":
            continue
        step = step_example(procedure, action.id) if action.input_schema else {}
        if action.input_schema:
            steps[action.id] = step
        computed.update(compute_action(procedure.definition, action, step, application=data,
                                       steps=steps, computed=computed,
                                       today=ISSUED_AT.date()))
    return {"data": data, "step_data": steps, "computed": computed}


def _grant() -> dict[str, Any]:
    return {"eligible_total": 560000, "amount": 280000, "rate": 0.5, "cap": 1000000,
            "eligible_categories": ["equipment", "software", "network", "training"]}


#: (procedure, document type) -> what the case holds when it is issued.
CASES: dict[tuple[str, str], dict[str, Any]] = {
    ("disaster-certificate", "certificate"): {
        "data": example("disaster-certificate", "valid-basic.json"),
        "step_data": {"survey": example("disaster-certificate", "step-survey.json")},
        "computed": {"damage_grade": damage_grade(42.5)},
    },
    ("disaster-certificate", "application-copy"): {
        "data": example("disaster-certificate", "valid-basic.json"),
        "step_data": {}, "computed": {},
    },
    ("sme-telework-grant", "grant-decision"): {
        "data": example("sme-telework-grant", "valid-corporation.json"),
        "step_data": {}, "computed": {"grant_amount": _grant()},
    },
    ("sme-telework-grant", "amount-confirmation"): {
        "data": example("sme-telework-grant", "valid-corporation.json"),
        "step_data": {"submit_report": example("sme-telework-grant", "step-submit_report.json")},
        "computed": {"grant_amount": _grant(),
                     "final_amount": {"eligible_total": 280000, "amount": 140000}},
    },
    ("child-allowance", "certification"): {
        "data": example("child-allowance", "valid-two-children.json"),
        "step_data": {},
        "computed": {"allowance": {"children": 2, "under3": 1, "third_or_later": 0,
                                   "monthly": 25000}},
    },
    ("childcare-status", "certification"): {
        "data": example("childcare-status", "valid-basic.json"),
        "step_data": {}, "computed": {},
    },
    # The procedures of the life events (#18): their decisions as their own rules compute.
    **{(procedure, document): walked(procedure, name) for procedure, name, document in [
        ("livelihood-recovery-support", "valid-total-build.json", "decision"),
        ("livelihood-recovery-support", "valid-total-build.json", "application-copy"),
        ("disaster-condolence-money", "valid-total.json", "decision"),
        ("disaster-condolence-money", "valid-total.json", "application-copy"),
        ("nhi-premium-reduction", "valid-total.json", "decision"),
        ("nhi-premium-reduction", "valid-total.json", "application-copy"),
        ("child-medical-subsidy", "valid-newborn.json", "medical-certificate"),
        ("child-medical-subsidy", "valid-newborn.json", "application-copy"),
        ("pregnancy-support-benefit", "valid-one-child.json", "decision"),
        ("pregnancy-support-benefit", "valid-one-child.json", "application-copy"),
        # おくやみ (#19): the notifications' 受理通知 and the 葬祭費's decision.
        ("nhi-loss-of-eligibility", "valid-spouse.json", "acceptance"),
        ("nhi-loss-of-eligibility", "valid-spouse.json", "application-copy"),
        ("ltc-loss-of-eligibility", "valid-certified.json", "acceptance"),
        ("ltc-loss-of-eligibility", "valid-certified.json", "application-copy"),
        ("elderly-welfare-services-end", "valid-meals-alarm.json", "acceptance"),
        ("elderly-welfare-services-end", "valid-meals-alarm.json", "application-copy"),
        ("funeral-expenses", "valid-spouse-host.json", "decision"),
        ("funeral-expenses", "valid-spouse-host.json", "application-copy"),
    ]},
}


def flat(text: str) -> str:
    """Text without any whitespace: pdftotext breaks lines and columns at will."""
    return re.sub(r"\s+", "", text)


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def make_seal_png(path: Path) -> None:
    """A red square 公印 (千代田区長之印), as a municipality would scan it."""
    size = 300
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    red = (200, 30, 30, 255)
    draw.rectangle([8, 8, size - 9, size - 9], outline=red, width=14)
    font_file = run("fc-match", "-f", "%{file}", "IPAexMincho")
    font = ImageFont.truetype(font_file, 82)
    for col, chars in [(1, "千代田"), (0, "区長印")]:
        for j, ch in enumerate(chars):
            draw.text((40 + col * 120, 30 + j * 82), ch, font=font, fill=red)
    image.save(path, "PNG")


@pytest.fixture(scope="module")
def catalog_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An installation's catalogue directory: Chiyoda supplies a seal image."""
    root = tmp_path_factory.mktemp("catalog")
    folder = root / "municipalities" / "131016"
    folder.mkdir(parents=True)
    info = json.loads((CATALOG / "municipalities/131016/municipality.json").read_text("utf-8"))
    info["seal_image"] = "seal.png"
    (folder / "municipality.json").write_text(json.dumps(info, ensure_ascii=False), "utf-8")
    make_seal_png(folder / "seal.png")
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, catalog_root: Path) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("data")
    catalog = Catalog.load(DEFAULT_ROOT, catalog_root)
    assert not catalog.problems, catalog.problems
    engine = make_engine(f"sqlite:///{data / 'madoguchi.db'}")
    create_schema(engine)
    register = DocumentRegister(engine)
    names = {code: m.name.ja for code, m in catalog.municipalities.items()}
    issuer, pki = development_issuer(DocumentRenderer(), data / "pki", names, PUBLIC_URL)
    activities = CaseActivities(
        catalog=catalog, municipalities=dict(catalog.municipalities), issuer=issuer,
        blobs=LocalBlobStore(data / "blobs"), register=register,
        inbox=None, notices=None,  # type: ignore[arg-type]  # issuing sends nothing
    )
    return {"activities": activities, "register": register, "engine": engine,
            "roots": load_pem_certificates(pki.root_cert_path.read_bytes()),
            "blobs": data / "blobs", "catalog": catalog}


def issue(world: dict[str, Any], procedure: str, doc_type: str, *, document_id: str,
          application_id: str = "APP-7F3E9C21", municipality: str = "131016",
          issued_at: datetime = ISSUED_AT) -> tuple[Any, bytes]:
    case = CASES[(procedure, doc_type)]
    version = world["catalog"].get(procedure).definition.version
    request = IssueDocumentInput(
        document_id=document_id, document_type=doc_type, application_id=application_id,
        procedure=procedure, procedure_version=version, municipality=municipality,
        issued_at=issued_at, data=copy.deepcopy(case["data"]),
        step_data=copy.deepcopy(case["step_data"]), computed=copy.deepcopy(case["computed"]),
        submitted_at=issued_at,
    )
    ref = ActivityEnvironment().run(world["activities"].issue_document, request)
    pdf = (world["blobs"] / "documents" / f"{document_id}.pdf").read_bytes()
    return ref, pdf


def _doc_id(procedure: str, doc_type: str) -> str:
    return f"DOC-{procedure[:6].upper()}-{doc_type[:6].upper()}"


@pytest.fixture(scope="module")
def issued(world: dict[str, Any]) -> dict[tuple[str, str], Path]:
    """Every shipped document, issued once, saved with its page PNGs."""
    if ARTIFACTS.exists():
        for old in ARTIFACTS.glob("issued-*"):
            old.unlink()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    paths = {}
    for procedure, doc_type in CASES:
        _, pdf = issue(world, procedure, doc_type, document_id=_doc_id(procedure, doc_type))
        path = ARTIFACTS / f"issued-{procedure}-{doc_type}.pdf"
        path.write_bytes(pdf)
        run("pdftoppm", "-png", "-r", "80", path, path.with_suffix(""))
        paths[(procedure, doc_type)] = path
    return paths


def test_every_shipped_document_type_is_covered(world: dict[str, Any]) -> None:
    shipped = {(p.definition.id, d.id) for p in world["catalog"].latest()
               for d in p.definition.documents}
    assert shipped == set(CASES)


@pytest.mark.parametrize("key", list(CASES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_issued_document_is_tagged_pdf_a_and_sealed(
    issued: dict[tuple[str, str], Path], world: dict[str, Any], key: tuple[str, str]
) -> None:
    path = issued[key]
    assert pdfa_problems(path) == []
    verdict = verify_pdf(path.read_bytes(), world["roots"])
    assert verdict.outcome == "valid" and verdict.intact and verdict.timestamp_valid, verdict
    assert verdict.level == "B-LTA"


@pytest.mark.parametrize("key", list(CASES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_issued_document_prints_what_a_municipality_prints(
    issued: dict[tuple[str, str], Path], world: dict[str, Any], key: tuple[str, str]
) -> None:
    procedure, doc_type = key
    raw = run("pdftotext", issued[key], "-")
    text = flat(raw)
    definition = world["catalog"].get(procedure).definition.document(doc_type)
    assert "千代田区長千代田太郎" in text
    contact = world["catalog"].municipalities["131016"].contact_for(
        world["catalog"].get(procedure, municipality="131016"))
    assert flat(f"問い合わせ先千代田区 {contact.department.ja}") in text
    assert flat(f"電話 {contact.phone}（{contact.hours.ja}）") in text
    assert "APP-7F3E9C21" in text  # the application's reference
    if definition.numbering is not None:
        series = {"disaster-certificate": "罹", "sme-telework-grant": None}.get(procedure)
        found = re.search(r"第 (\S+) 号", raw)
        assert found, text
        assert re.fullmatch(rf"千代田-{definition.numbering.series}-2026-\d{{6}}", found[1])
        if series:
            assert found[1].startswith(f"千代田-{series}-")
    if definition.legal_basis is not None:
        assert flat(definition.legal_basis.ja) in text
    for note in definition.guidance:
        assert flat(note.ja) in text, note.ja
    # The seal image is drawn (an image on the page), not the 公印省略 placeholder.
    assert "公印省略" not in text
    assert "image" in run("pdfimages", "-list", issued[key])


def test_the_certificate_states_its_legal_basis_and_the_re_survey(
    issued: dict[tuple[str, str], Path]
) -> None:
    text = flat(run("pdftotext", issued[("disaster-certificate", "certificate")], "-"))
    assert "災害対策基本法第90条の2に基づく証明" in text
    assert "再調査（第2次調査）を申し出ることができます" in text


# -- the layout a person sees ----------------------------------------------------------------


def _boxes(path: Path, page_no: int) -> tuple[tuple[float, float], list[tuple[float, ...]]]:
    """Page size and the word boxes of one page (PDF points, from the top left)."""
    html = run("pdftotext", "-bbox-layout", "-f", str(page_no), "-l", str(page_no), path, "-")
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', html)
    assert page
    words = [tuple(float(v) for v in m.groups()) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', html)]
    return (float(page[1]), float(page[2])), words


def _overlaps(a: tuple[float, ...], b: tuple[float, ...], shrink: float = 0.0) -> bool:
    """Whether two boxes overlap by more than ``shrink`` points on both axes."""
    return not (a[2] - shrink <= b[0] or b[2] - shrink <= a[0] or a[3] - shrink <= b[1]
                or b[3] - shrink <= a[1])


def _last_page(path: Path) -> int:
    found = re.search(r"^Pages:\s+(\d+)$", run("pdfinfo", path), re.MULTILINE)
    assert found
    return int(found[1])


@pytest.mark.parametrize("key", list(CASES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_layout_text_on_the_page_and_clear_of_seal_and_qr(
    issued: dict[tuple[str, str], Path], key: tuple[str, str], tmp_path: Path
) -> None:
    path = issued[key]
    seals = qrs = 0
    for page in range(1, _last_page(path) + 1):
        (width, height), words = _boxes(path, page)
        assert words
        margin = 20 * 72 / 25.4 * 0.5  # half of the smallest page margin (20 mm), in points
        for box in words:
            assert box[0] >= margin and box[1] >= margin, box
            assert box[2] <= width - margin and box[3] <= height - margin, box
        for a, b in itertools.combinations(words, 2):  # no line printed over another
            assert not _overlaps(a, b, shrink=1.0), (page, a, b)
        png = path.with_name(f"{path.stem}-{page}.png")
        assert png.is_file(), sorted(p.name for p in path.parent.iterdir())
        seal = _red_region(png)
        if seal is not None:
            seals += 1
            seal_pt = tuple(v * 72 / 80 for v in seal)  # pixels at -r 80 -> points
            # A 公印 is about 16–24 mm; no word may be printed over it.
            side_mm = (seal_pt[2] - seal_pt[0]) * 25.4 / 72
            assert 12 <= side_mm <= 26, side_mm
            for box in words:
                assert not _overlaps(box, seal_pt), (box, seal_pt)
        qr = _qr_region(path, page, tmp_path)
        if qr is not None:
            qrs += 1
            qr_mm = (qr[2] - qr[0]) * 25.4 / 72
            assert 15 <= qr_mm <= 30, qr_mm
            for box in words:
                assert not _overlaps(box, qr), (box, qr)
    assert seals == 1, "the seal image must be on the document once"
    assert qrs == 1, "the QR code to the verify page must be on the document once"


def _red_region(png: Path) -> tuple[int, int, int, int] | None:
    """The bounding box (pixels) of the red seal ink, if any."""
    r, g, b = Image.open(png).convert("RGB").split()
    mask = Image.merge("RGB", (r.point(lambda v: 255 if v > 150 else 0),
                               g.point(lambda v: 255 if v < 110 else 0),
                               b.point(lambda v: 255 if v < 110 else 0))).convert("L")
    mask = mask.point(lambda v: 255 if v == 255 else 0)
    return mask.getbbox()


def _decodes(image: Image.Image, box: tuple[int, int, int, int], tmp: Path) -> bool:
    crop = image.crop(box)
    canvas = Image.new("L", (crop.width + 40, crop.height + 40), 255)  # a quiet zone
    canvas.paste(crop, (20, 20))
    canvas.save(tmp)
    result = subprocess.run(["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", tmp],
                            capture_output=True, text=True, timeout=30)
    return result.returncode == 0 and "/verify/" in result.stdout


def _qr_region(path: Path, page: int,
               tmp_path: Path) -> tuple[float, float, float, float] | None:
    """The QR code's box (points), found by shrinking a crop of a 150 dpi render from each
    side while zbar still decodes it (zbar itself reports no position)."""
    out = tmp_path / f"page-{page}"
    run("pdftoppm", "-r", "150", "-png", "-gray", "-singlefile", "-f", str(page), "-l",
        str(page), path, out)
    image = Image.open(out.with_suffix(".png")).convert("L")
    box = [0, 0, image.width, image.height]
    probe = tmp_path / "probe.png"
    if not _decodes(image, tuple(box), probe):  # type: ignore[arg-type]
        return None
    for side in range(4):
        grow = side >= 2  # right and bottom edges move towards 0, left and top away
        lo, hi = (box[side], box[side + 2] if not grow else box[side - 2])
        # Largest inset of this edge that still decodes.
        good = box[side]
        while abs(hi - lo) > 2:
            mid = (lo + hi) // 2
            trial = list(box)
            trial[side] = mid
            if _decodes(image, tuple(trial), probe):  # type: ignore[arg-type]
                good, lo = mid, mid
            else:
                hi = mid
        box[side] = good
    s = 72 / 150
    return (box[0] * s, box[1] * s, box[2] * s, box[3] * s)


def test_without_a_seal_image_the_document_says_the_seal_is_omitted(
    world: dict[str, Any], tmp_path: Path
) -> None:
    _, pdf = issue(world, "disaster-certificate", "certificate",
                   document_id="DOC-YOKOHAMA-NOSEAL", municipality="141003")
    path = tmp_path / "yokohama.pdf"
    path.write_bytes(pdf)
    raw = run("pdftotext", path, "-")
    assert "公印省略" in raw and "横浜市長横浜花子" in flat(raw)
    assert re.search(r"第 横浜-罹-2026-\d{6} 号", raw), raw


# -- the seal image stays in the municipality's folder ---------------------------------------


@pytest.mark.parametrize("name", ["../131016/seal.png", "/etc/passwd", "seal.png/..", ".png",
                                  "seal.jpg", "..png"])
def test_a_seal_image_name_cannot_leave_the_folder(catalog_root: Path, name: str) -> None:
    from documents.certified import SealImageError

    with pytest.raises(SealImageError):
        seal_image_data_url([catalog_root], "131016", name)


def test_a_seal_image_symlinked_elsewhere_is_refused(tmp_path: Path) -> None:
    from documents.certified import SealImageError

    folder = tmp_path / "municipalities" / "131016"
    folder.mkdir(parents=True)
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    (folder / "seal.png").symlink_to(outside)
    with pytest.raises(SealImageError):
        seal_image_data_url([tmp_path], "131016", "seal.png")


def test_a_seal_image_that_is_not_a_png_is_refused(tmp_path: Path) -> None:
    from documents.certified import SealImageError

    folder = tmp_path / "municipalities" / "131016"
    folder.mkdir(parents=True)
    (folder / "seal.png").write_text("<svg/>")
    with pytest.raises(SealImageError):
        seal_image_data_url([tmp_path], "131016", "seal.png")


# -- numbering through the activity ----------------------------------------------------------


def test_a_retried_issue_keeps_its_number_and_the_next_document_gets_the_next(
    world: dict[str, Any]
) -> None:
    numbers = DocumentNumbers(world["engine"])
    ref, _ = issue(world, "disaster-certificate", "certificate", document_id="DOC-RETRY-1",
                   issued_at=datetime(2027, 3, 1, tzinfo=UTC))
    first = numbers.get("DOC-RETRY-1")
    assert first is not None and first.number.startswith("千代田-罹-2027-")
    # A worker crash after the PDF was stored but before it was registered: the retry
    # finds the stored file, and numbering gives the same number.
    with world["engine"].begin() as conn:
        conn.exec_driver_sql("DELETE FROM issued_document_values WHERE document_id = ?",
                             ("DOC-RETRY-1",))
        conn.exec_driver_sql("DELETE FROM issued_documents WHERE id = ?", ("DOC-RETRY-1",))
    again, _ = issue(world, "disaster-certificate", "certificate", document_id="DOC-RETRY-1",
                     issued_at=datetime(2027, 3, 1, tzinfo=UTC))
    assert again == ref
    assert numbers.get("DOC-RETRY-1") == first
    issue(world, "disaster-certificate", "certificate", document_id="DOC-RETRY-2",
          issued_at=datetime(2027, 3, 1, tzinfo=UTC))
    second = numbers.get("DOC-RETRY-2")
    assert second is not None and second.serial == first.serial + 1
    assert world["register"].get("DOC-RETRY-1").number == first.number


def test_the_year_is_the_japanese_year(world: dict[str, Any]) -> None:
    # 2027-12-31 16:00 UTC is already 2028-01-01 in Japan.
    issue(world, "disaster-certificate", "certificate", document_id="DOC-NEWYEAR",
          issued_at=datetime(2027, 12, 31, 16, 0, tzinfo=UTC))
    number = DocumentNumbers(world["engine"]).get("DOC-NEWYEAR")
    assert number is not None and number.number == "千代田-罹-2028-000001"


def test_the_register_holds_the_certified_values_masked(world: dict[str, Any]) -> None:
    issue(world, "disaster-certificate", "certificate", document_id="DOC-VALUES")
    doc = world["register"].get("DOC-VALUES")
    values = {v.label["ja"]: v.value for v in doc.certified}
    assert values["住家の被害の程度"] == {"ja": "大規模半壊", "en": "Large-scale half destruction"}
    assert values["災害名"]["ja"] == "令和8年台風第15号"
    masked = "東京都千代田区 ＊＊＊"
    assert values["被災住家の所在地"] == {"ja": masked, "en": masked}
    raw = json.dumps([v.model_dump() for v in doc.certified], ensure_ascii=False)
    for personal in ("永田町", "山田", "太郎", "0312345678", "1000014"):
        assert personal not in raw


def test_artifacts_are_kept(issued: dict[tuple[str, str], Path]) -> None:
    pngs = sorted(p.name for p in ARTIFACTS.glob("issued-*.png"))
    assert len(pngs) >= len(CASES), pngs
    assert shutil.which("pdftoppm")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("key", list(CASES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_the_register_holds_no_personal_data_of_any_shipped_document(
    issued: dict[tuple[str, str], Path], world: dict[str, Any], key: tuple[str, str]
) -> None:
    doc = world["register"].get(_doc_id(*key))
    public = json.dumps([v.model_dump() for v in doc.certified], ensure_ascii=False)
    data = CASES[key]["data"]
    personal = [s for s in _strings(data) if len(s) >= 2 and not s.isascii()]
    personal += [s for s in _strings(data) if s.isdigit() and len(s) >= 7]  # phone, postcode
    allowed = {"東京都", "千代田区"}  # prefecture and city: what the address mask keeps
    for text in personal:
        if text not in allowed:
            assert text not in public, (text, public)

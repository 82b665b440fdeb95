"""What an issued document shows beyond its template: the certified values the public
verify page repeats (masked), the printed seal image, and the municipality's short name in
document numbers.

The procedure's document definition lists the public values (label, JSON pointer into the
document's context, mask, format); :func:`certified_values` resolves them at issue time
into ``{"label": {ja, en}, "value": {ja, en}}`` for the register. Nothing else from the
application reaches the register, and an address or name there is masked first.
"""

from __future__ import annotations

import base64
import functools
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from documents.issuer import MASK, mask_name
from documents.wareki import JST, format_wareki

__all__ = [
    "SealImageError",
    "certified_values",
    "mask_address",
    "municipality_short_name",
    "seal_image_data_url",
]

#: Largest seal image accepted (a 公印 scan at 300 dpi is ~20–60 KB).
MAX_SEAL_IMAGE_BYTES = 512 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SEAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\.png$")


class SealImageError(ValueError):
    """The municipality's seal image is missing, not a PNG, too large, or named outside its
    folder. Not retryable: the municipality's data must be fixed."""


class PublicValueSpec(Protocol):
    """A public value of a document definition (``forms.definition.PublicValue``)."""

    @property
    def label(self) -> Any: ...  # LocalizedText: .ja, .en
    @property
    def value(self) -> str: ...  # JSON pointer into the context
    @property
    def mask(self) -> str: ...  # none | address | name
    @property
    def format(self) -> str: ...  # text | yen | wareki


def mask_address(address: Mapping[str, Any]) -> str:
    """An address as the public verify page shows it: prefecture and city, the rest masked
    (``東京都千代田区 ＊＊＊``): enough to compare with the paper, not to find the house."""
    head = f"{address.get('prefecture') or ''}{address.get('city') or ''}".strip()
    return f"{head} {MASK}" if head else MASK


def municipality_short_name(name_ja: str) -> str:
    """The municipality in document numbers: its name without the trailing 市/区/町/村
    (千代田区 → 千代田, 横浜市 → 横浜); a name that would become empty stays whole."""
    short = name_ja[:-1] if name_ja[-1:] in "市区町村" else name_ja
    return short or name_ja


def _resolve(context: Mapping[str, Any], pointer: str) -> Any:
    node: Any = context
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(JST).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _localized(value: Any, mask: str, fmt: str) -> dict[str, str] | None:
    if value is None:
        return None
    if mask == "address":
        if not isinstance(value, Mapping):
            return None
        text = mask_address(value)
        return {"ja": text, "en": text}
    if mask == "name":
        if isinstance(value, Mapping):
            text = mask_name(str(value.get("family") or ""), str(value.get("given") or ""))
        else:
            text = mask_name(str(value))
        return {"ja": text, "en": text}
    if isinstance(value, Mapping):
        if isinstance(value.get("ja"), str):
            return {"ja": value["ja"], "en": str(value.get("en") or value["ja"])}
        return None  # a structure without texts is never shown raw
    if fmt == "yen" and isinstance(value, int | float) and not isinstance(value, bool):
        return {"ja": f"{value:,.0f}円", "en": f"¥{value:,.0f}"}
    if fmt == "wareki":
        day = _as_date(value)
        if day is None:
            return None
        return {"ja": f"{format_wareki(day)}（{day.year}年{day.month}月{day.day}日）",
                "en": day.strftime("%d %B %Y")}
    if isinstance(value, bool | list):
        return None
    text = str(value)
    return {"ja": text, "en": text}


def certified_values(specs: Iterable[PublicValueSpec],
                     context: Mapping[str, Any]) -> list[dict[str, dict[str, str]]]:
    """The public values of a document, resolved in ``context`` and masked.

    A value the context lacks (an optional field left empty), or one that is a structure
    without ``ja`` text, is left out rather than shown raw.
    """
    result = []
    for spec in specs:
        value = _localized(_resolve(context, spec.value), spec.mask, spec.format)
        if value is not None:
            result.append({"label": {"ja": spec.label.ja, "en": spec.label.en}, "value": value})
    return result


@functools.lru_cache(maxsize=16)
def _flattened_data_url(data: bytes) -> str:
    """The PNG on white, without an alpha channel, as a data URL (cached per content).

    WeasyPrint re-encodes every raster image on every render, and an alpha channel is a
    second image (a soft mask) to encode: flattened once here, the seal costs half as much
    on each of the documents a worker renders. The page is white, so nothing visible
    changes.
    """
    from PIL import Image  # WeasyPrint's own dependency; only needed with a seal image

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError) as exc:
        raise SealImageError(f"seal image cannot be read: {exc}") from exc
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def seal_image_data_url(roots: Sequence[Path], municipality_code: str,
                        file_name: str) -> str:
    """The municipality's printed seal as a ``data:image/png`` URL for the template.

    :param roots: catalogue roots, later ones winning (as for ``municipality.json``).
    :param file_name: the ``seal_image`` of the municipality: a plain file name in its
        folder ``<root>/municipalities/<code>/``.
    :raises SealImageError: if the name has a directory part, or no root holds a PNG of
        at most :data:`MAX_SEAL_IMAGE_BYTES` by that name.
    """
    if not _SEAL_NAME.match(file_name) or not re.fullmatch(r"\d{6}", municipality_code):
        raise SealImageError(f"seal image {file_name!r}: a PNG file name without directories")
    for root in reversed(list(roots)):
        folder = (Path(root) / "municipalities" / municipality_code).resolve()
        path = (folder / file_name).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            continue
        data = path.read_bytes()
        if len(data) > MAX_SEAL_IMAGE_BYTES:
            raise SealImageError(f"seal image of {municipality_code} is larger than "
                                 f"{MAX_SEAL_IMAGE_BYTES // 1024} KB")
        if not data.startswith(_PNG_SIGNATURE):
            raise SealImageError(f"seal image of {municipality_code} is not a PNG")
        return _flattened_data_url(data)
    raise SealImageError(f"seal image {file_name!r} of {municipality_code} not found")

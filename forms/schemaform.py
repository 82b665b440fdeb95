"""HTML forms generated from a procedure's JSON Schema, and form posts turned back into data.

The schema is the single source of the form: every input, label, hint, option and page comes
from it (and from the procedure's messages for titles), so a municipality adds a procedure
without writing a template. Field names are the JSON pointers of the values
(``/applicant/name/family``), so a validation error (``FieldError.path``) lands next to its
input without any mapping table.

UI hints (``x-ui``, optional, in any schema node; see docs/portal.md):

``page``      (top-level properties) the id of the page the property goes on; properties
              sharing a ``page`` are asked together. Default: one property per page.
``widget``    ``radios`` | ``select`` | ``textarea`` | ``text`` — overrides the default.
``help``      ``{"ja": ..., "en": ...}`` hint shown under the label.
``autocomplete``  the HTML autocomplete token.
``kana``      true: the field asks for a reading in katakana (shown as such).
``prepare``   (root) ``[{"ja": ..., "en": ...}]``: what to have at hand, on public pages.
``add_label`` (arrays) ``{"ja", "en"}``: text of the "add another" button.

``type: boolean`` is a yes/no question (kind ``boolean``: two radios, はい／いいえ); with
``const: true`` it is a declaration to agree to (kind ``consent``: one required checkbox).

What people type is made into what the schema expects before validation (:func:`normalize`):
dates written 令和8年9月10日, R8.9.10, 2026年9月10日, 2026/9/10 become ``2026-09-10``; amounts
lose their commas and 円; phone numbers lose hyphens and ``+81`` becomes ``0``; postal codes
lose 〒 and the hyphen; readings in katakana lose the spaces their pattern has no room for.

A field with ``x-attachment`` (see forms/attachments.py) becomes a file upload (kind
``files``): the files already uploaded, each with a remove button, then an
``<input type=file>``. Its value is the attachment ids, posted back as hidden inputs; the
page handler stores a newly chosen file (the API's upload code) and adds its id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from referencing import Registry
from referencing.jsonschema import DRAFT202012

from forms.attachments import ATTACHMENT_ID
from forms.limits import copy_data
from forms.municipalities import Municipality
from forms.pointers import assign, escape, remove, resolve, segments
from forms.schemas import common_registry, schema_chain
from forms.validation import FieldError

Text = dict[str, str]

_RADIOS_MAX = 6
_TEXTAREA_MIN = 200
_MAX_ITEMS_DEFAULT = 20
_KATAKANA = re.compile(r"ァ")
# Inputs whose purpose browsers can fill in (WCAG 1.3.5), by the shared schema's id or name.
_AUTOCOMPLETE = {
    "postal-code.schema.json": "postal-code",
    "phone.schema.json": "tel",
    "email.schema.json": "email",
}
_NAME_AUTOCOMPLETE = {"family": "family-name", "given": "given-name"}


@dataclass
class Option:
    value: str
    label: Text


@dataclass
class Field:
    """One input (or a fieldset / repeatable list of them) of a generated form."""

    pointer: str
    kind: str  # text textarea integer number date email tel radios select boolean consent
    #            group array files
    title: Text
    required: bool
    help: Text | None = None
    options: list[Option] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    items: list[list[Field]] = field(default_factory=list)  # arrays: one list per item
    kana: bool = False
    max_length: int | None = None
    autocomplete: str | None = None
    value: Any = None
    errors: list[FieldError] = field(default_factory=list)
    add_label: Text | None = None
    max_items: int = _MAX_ITEMS_DEFAULT
    attachment: dict | None = None  # x-attachment rule: types, max_bytes, max_count
    files: list[dict] = field(default_factory=list)  # uploaded: id, filename, size
    pattern: str = ""
    same_as: str | None = None  # an address group: the pointer of the address it may copy

    def chosen(self, option_value: str) -> bool:
        """Whether ``option_value`` is this field's value (``true``/``false`` for yes/no)."""
        if self.value is None:
            return False
        if isinstance(self.value, bool):
            return option_value == ("true" if self.value else "false")
        return str(self.value) == option_value

    @property
    def file_ids(self) -> list[str]:
        if isinstance(self.value, list):
            return [v for v in self.value if isinstance(v, str)]
        return [self.value] if isinstance(self.value, str) and self.value else []

    @property
    def accept(self) -> str:
        return ",".join((self.attachment or {}).get("types", []))

    @property
    def max_mb(self) -> str:
        return f"{(self.attachment or {}).get('max_bytes', 0) / (1024 * 1024):g}"

    @property
    def type_names(self) -> str:
        return ", ".join(t.split("/")[-1].upper() for t in (self.attachment or {}).get("types", []))

    @property
    def name(self) -> str:
        return self.pointer

    @property
    def id(self) -> str:
        return "f" + re.sub(r"[^A-Za-z0-9_-]", "-", self.pointer)

    @property
    def is_group(self) -> bool:
        return self.kind in ("group", "array")

    def display(self, lang: str) -> str:
        """The value as a person reads it (option labels, not codes)."""
        if self.value is None or self.value == "" or self.value == []:
            return ""
        if isinstance(self.value, bool):
            return (
                ("はい" if self.value else "いいえ")
                if lang == "ja"
                else ("Yes" if self.value else "No")
            )
        if self.kind == "files":
            names = {f["id"]: f["filename"] for f in self.files}
            if not names:  # no attachment store at hand (a document): say how many
                count = len(self.file_ids)
                return f"{count}件のファイル" if lang == "ja" else f"{count} file(s)"
            return (
                "、".join(names.get(i, i) for i in self.file_ids)
                if lang == "ja"
                else ", ".join(names.get(i, i) for i in self.file_ids)
            )
        if self.autocomplete == "postal-code" and re.fullmatch(r"\d{7}", str(self.value)):
            return f"〒{str(self.value)[:3]}-{str(self.value)[3:]}"
        for option in self.options:
            if option.value == str(self.value):
                return option.label.get(lang) or option.label["ja"]
        return str(self.value)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()
        for item in self.items:
            for child in item:
                yield from child.walk()


@dataclass
class Page:
    id: str
    fields: list[Field]
    title: Text

    def leaves(self) -> list[Field]:
        return [f for top in self.fields for f in top.walk() if not f.is_group]

    def all_fields(self) -> list[Field]:
        return [f for top in self.fields for f in top.walk()]


class SchemaForm:
    """The form of one schema, for one municipality (its choices) and one set of messages."""

    def __init__(
        self,
        schema: dict,
        *,
        messages: Mapping[str, Mapping[str, str]] | None = None,
        municipality: Municipality | None = None,
        registry: Registry | None = None,
        attachments: Any = None,
        owner: str | None = None,
    ) -> None:
        """``attachments`` (an ``AttachmentStore``) names uploaded files; only files of
        ``owner`` (the applicant key) are shown, others are left out as unknown."""
        self.schema = schema
        self.attachments = attachments
        self.owner = owner
        self.messages = messages or {}
        self.municipality = municipality
        self.registry = common_registry() if registry is None else registry
        self._root_chain, self._root_resolver = schema_chain(
            schema, self.registry.resolver_with_root(DRAFT202012.create_resource(schema))
        )

    # ---- structure --------------------------------------------------------------------

    def page_ids(self) -> list[str]:
        """Page ids in order: a top-level property's ``x-ui.page`` or its own name."""
        seen: list[str] = []
        for name, node in self._properties(self._root_chain):
            page = self._ui(self._chain(node, self._root_resolver)[0]).get("page") or name
            if page not in seen:
                seen.append(page)
        return seen

    def title(self) -> Text:
        return {
            "ja": _first(self._root_chain, "title") or "",
            "en": _first(self._root_chain, "x-title-en") or "",
        }

    def prepare(self) -> list[Text]:
        """What a resident needs at hand: ``x-ui.prepare`` or the page titles."""
        hinted = self._ui(self._root_chain).get("prepare")
        if isinstance(hinted, list):
            return [t for t in hinted if isinstance(t, dict) and "ja" in t]
        return [p.title for p in self.pages({})]

    def pages(self, data: Any, errors: list[FieldError] | None = None) -> list[Page]:
        required = set(_first(self._root_chain, "required", list) or [])
        grouped: dict[str, list[Field]] = {}
        for name, node in self._properties(self._root_chain):
            chain, resolver = self._chain(node, self._root_resolver)
            page = self._ui(chain).get("page") or name
            built = self._field(
                f"/{escape(name)}", chain, resolver, name in required, data, errors or []
            )
            grouped.setdefault(page, []).append(built)
        return [
            Page(
                id=pid,
                fields=fields,
                title=fields[0].title
                if len(fields) == 1 or pid == fields[0].pointer[1:]
                else {"ja": pid, "en": pid},
            )
            for pid, fields in grouped.items()
        ]

    def page(self, page_id: str, data: Any, errors: list[FieldError] | None = None) -> Page:
        for page in self.pages(data, errors):
            if page.id == page_id:
                return page
        raise KeyError(page_id)

    def all_fields(self, data: Any, errors: list[FieldError] | None = None) -> list[Field]:
        """Every field of every page, as one page (a single-page form such as a survey)."""
        return [f for p in self.pages(data, errors) for f in p.fields]

    def _chain(self, node: object, resolver):
        return schema_chain(node, resolver)

    @staticmethod
    def _properties(chain: list[dict]) -> list[tuple[str, object]]:
        seen: dict[str, object] = {}
        for link in chain:
            props = link.get("properties")
            if isinstance(props, dict):
                for name, child in props.items():
                    seen.setdefault(name, child)
        return list(seen.items())

    @staticmethod
    def _ui(chain_or_node: list[dict] | dict) -> dict:
        nodes = chain_or_node if isinstance(chain_or_node, list) else [chain_or_node]
        merged: dict = {}
        for node in reversed(nodes):  # local hints override the shared schema's
            hint = node.get("x-ui")
            if isinstance(hint, dict):
                merged.update(hint)
        return merged

    def _title(self, chain: list[dict], pointer: str) -> Text:
        key = f"field.{pointer}"
        ja = self.messages.get("ja", {}).get(key) or _first(chain, "title")
        en = self.messages.get("en", {}).get(key) or _first(chain, "x-title-en") or ja
        fallback = (segments(pointer) or [""])[-1]
        return {"ja": ja or fallback, "en": en or fallback}

    def _field(
        self,
        pointer: str,
        chain: list[dict],
        resolver,
        required: bool,
        data: Any,
        errors: list[FieldError],
    ) -> Field:
        ui = self._ui(chain)
        kind = _first(chain, "type") or "string"
        value = resolve(data, pointer, None)
        built = Field(
            pointer=pointer,
            kind="text",
            title=self._title(chain, pointer),
            required=required,
            value=value,
            errors=[e for e in errors if e.path == pointer],
        )
        if isinstance(ui.get("help"), dict):
            built.help = ui["help"]
        rule = _first(chain, "x-attachment", dict)
        if rule is not None:
            built.kind = "files"
            built.attachment = {
                "types": list(rule.get("types", [])),
                "max_bytes": int(rule.get("max_bytes", 0)),
                "max_count": int(rule.get("max_count", 1)),
            }
            built.max_items = built.attachment["max_count"]
            built.errors = [
                e for e in errors if e.path == pointer or e.path.startswith(pointer + "/")
            ]
            built.files = self._files(built.file_ids)
            return built
        if kind == "object":
            built.kind = "group"
            if _is_address(chain):
                first = self._first_address()
                if first is not None and first != pointer:
                    built.same_as = first
            child_required = set(_first(chain, "required", list) or [])
            for name, node in self._properties(chain):
                child_chain, child_resolver = self._chain(node, resolver)
                built.children.append(
                    self._field(
                        f"{pointer}/{escape(name)}",
                        child_chain,
                        child_resolver,
                        name in child_required,
                        data,
                        errors,
                    )
                )
            return built
        if kind == "array":
            built.kind = "array"
            items_node = _first(chain, "items", dict) or {}
            item_chain, item_resolver = self._chain(items_node, resolver)
            count = len(value) if isinstance(value, list) else 0
            count = max(count, _first(chain, "minItems", int) or 0)
            built.max_items = _first(chain, "maxItems", int) or _MAX_ITEMS_DEFAULT
            if isinstance(ui.get("add_label"), dict):
                built.add_label = ui["add_label"]
            for index in range(count):
                item_pointer = f"{pointer}/{index}"
                item = self._field(item_pointer, item_chain, item_resolver, True, data, errors)
                item.title = {
                    lang: f"{text} {index + 1}"
                    for lang, text in self._title(item_chain, pointer).items()
                }
                built.items.append([item])
            return built
        if kind == "boolean":
            if any(n.get("const") is True for n in chain):
                built.kind = "consent"
            else:
                built.kind = "boolean"
                built.options = [
                    Option("true", {"ja": "はい", "en": "Yes"}),
                    Option("false", {"ja": "いいえ", "en": "No"}),
                ]
            return built
        options = self._options(chain)
        if options is not None:
            built.options = options
            widget = ui.get("widget")
            built.kind = (
                widget
                if widget in ("radios", "select")
                else ("radios" if len(options) <= _RADIOS_MAX else "select")
            )
            return built
        fmt = _first(chain, "format")
        max_length = _first(chain, "maxLength", int)
        built.max_length = max_length
        if kind in ("integer", "number"):
            built.kind = kind
        elif fmt == "date":
            built.kind = "date"
        elif fmt == "email":
            built.kind = "email"
        elif ui.get("widget") == "textarea" or (max_length or 0) > _TEXTAREA_MIN:
            built.kind = "textarea"
        ids = [str(n.get("$id", "")) for n in chain]
        if any(i.endswith("phone.schema.json") for i in ids):
            built.kind = "tel"
        pattern = _first(chain, "pattern") or ""
        built.pattern = pattern
        built.kana = bool(ui.get("kana")) or bool(_KATAKANA.search(pattern))
        built.autocomplete = ui.get("autocomplete") or next(
            (
                token
                for suffix, token in _AUTOCOMPLETE.items()
                if any(i.endswith(suffix) for i in ids)
            ),
            None,
        )
        last = (segments(pointer) or [""])[-1]
        if built.autocomplete is None and not built.kana and "/name/" in pointer:
            built.autocomplete = _NAME_AUTOCOMPLETE.get(last)
        return built

    def _files(self, ids: list[str]) -> list[dict]:
        if self.attachments is None:
            return []
        found = []
        for attachment_id in ids:
            record = (
                self.attachments.get(attachment_id) if ATTACHMENT_ID.match(attachment_id) else None
            )
            if record is None or (self.owner is not None and record.owner != self.owner):
                continue
            found.append(
                {
                    "id": record.id,
                    "filename": record.filename,
                    "size": record.size,
                    "media_type": record.media_type,
                }
            )
        return found

    def _options(self, chain: list[dict]) -> list[Option] | None:
        source = _first(chain, "x-choices")
        if source == "disaster_events":
            events = self.municipality.disaster_events if self.municipality else []
            return [Option(e.id, {"ja": e.name.ja, "en": e.name.en}) for e in events]
        enum = _first(chain, "enum", list)
        if enum is None:
            return None
        titles = _first(chain, "x-enum-titles", dict) or {}
        if not titles and any(str(n.get("$id", "")).endswith("prefecture.schema.json")
                              for n in chain):
            titles = {ja: {"ja": ja, "en": en} for ja, en in _PREFECTURES_EN.items()}
        result = []
        for value in enum:
            label = titles.get(str(value))
            if not isinstance(label, dict):
                label = {"ja": str(value), "en": str(value)}
            result.append(
                Option(
                    str(value),
                    {
                        "ja": label.get("ja", str(value)),
                        "en": label.get("en") or label.get("ja", ""),
                    },
                )
            )
        return result

    def _first_address(self) -> str | None:
        """The pointer of the form's first address (the applicant's, as forms are written)."""
        if not hasattr(self, "_first_address_cache"):
            self._first_address_cache = _find_address(
                self._root_chain, self._root_resolver, "", self._chain)
        return self._first_address_cache

    def prefill(self, data: dict, claims: Mapping[str, Any]) -> dict:
        """``data`` with the sign-in's name (and reading) and address put into the first
        person name and the first address of the form, where nothing was typed yet.

        ``claims``: ``name``, ``name_kana``, ``address`` (one line) as the identity
        provider sent them; a claim that does not split cleanly is left out.
        """
        result = copy_data(data)
        groups = {f.pointer: f for top in self.all_fields(result) for f in top.walk()
                  if f.kind == "group"}
        # The person filing: a top-level group's ``name`` (申請者, 届出をする保護者, 請求者),
        # never a representative or a child further down.
        person = next((p for p in groups if len(segments(p)) == 2 and p.endswith("/name")
                       and {segments(c.pointer)[-1] for c in groups[p].children}
                       >= {"family", "given"}), None)
        values: dict[str, str] = {}
        name = _split_name(claims.get("name"))
        kana = _split_name(claims.get("name_kana"))
        if person is not None and name:
            values.update({person + "/family": name[0], person + "/given": name[1]})
            if kana and all(_KATAKANA_ONLY.fullmatch(k) for k in kana):
                values.update({person + "/family_kana": kana[0], person + "/given_kana": kana[1]})
        address = _split_address(claims.get("address"))
        home = person.rsplit("/", 1)[0] + "/address" if person is not None else None
        if home in groups and groups[home].same_as is None and address:
            values.update({f"{home}/{k}": v for k, v in address.items()})
        for pointer, value in values.items():
            if resolve(result, pointer, None) in (None, ""):
                assign(result, pointer, value)
        return result

    # ---- posts ------------------------------------------------------------------------

    def read(self, fields: list[Field], form: Mapping[str, Any], data: dict) -> dict:
        """``data`` with the values of ``fields`` replaced by what ``form`` holds.

        Empty inputs remove the value (so ``required`` reports them); a number that does
        not parse is kept as typed, so the page shows it again next to its error.
        """
        result = copy_data(data)
        for top in fields:
            remove(result, top.pointer)
            value = self._read_field(top, form)
            if value is not None:
                assign(result, top.pointer, value)
        for f in (f for top in fields for f in top.walk()):
            if f.kind == "group" and f.same_as and form.get(f"_same{f.pointer}") == "1":
                # 「申請者の住所と同じ」: a copy of that address as the form now holds it.
                source = resolve(result, f.same_as, None)
                if isinstance(source, dict) and source:
                    assign(result, f.pointer, copy_data(source))
        return result

    def _read_field(self, f: Field, form: Mapping[str, Any]) -> Any:
        if f.kind == "group":
            obj = {}
            for child in f.children:
                value = self._read_field(child, form)
                if value is not None:
                    obj[segments(child.pointer)[-1]] = value
            return obj or None
        if f.kind == "files":
            getlist = getattr(form, "getlist", None)
            raw_ids = getlist(f.pointer) if getlist else [form.get(f.pointer)]
            ids = [str(v) for v in raw_ids if isinstance(v, str) and ATTACHMENT_ID.match(v)]
            ids = list(dict.fromkeys(ids))
            if not ids:
                return None
            multiple = (f.attachment or {}).get("max_count", 1) > 1 or isinstance(f.value, list)
            return ids if multiple else ids[0]
        if f.kind == "array":
            count = _int(form.get(f"_count{f.pointer}"), len(f.items))
            values = []
            for index in range(min(count, f.max_items)):
                item = self._item_at(f, index)
                if item is None:
                    break
                value = self._read_field(item, form)
                values.append(value if value is not None else ({} if item.kind == "group" else ""))
            return values or None
        raw = form.get(f.pointer)
        if raw is None:
            return None
        text = str(raw).strip()
        if text == "":
            return None
        if f.kind in ("boolean", "consent"):
            # Anything but the two values the page offers stays as posted: refused.
            return {"true": True, "false": False}.get(text, text)
        if f.kind == "integer":
            text = _amount(text)
            return int(text) if re.fullmatch(r"-?\d+", text) else str(raw).strip()
        if f.kind == "number":
            text = _amount(text)
            try:
                number = float(text)
            except ValueError:
                return str(raw).strip()
            return int(number) if number.is_integer() and "." not in text else number
        return normalize(f, text)

    @staticmethod
    def _item_at(array: Field, index: int) -> Field | None:
        # Items are built from the data the page was rendered with, so every item the
        # browser posts back exists here; extra counts from a tampered form are ignored.
        return array.items[index][0] if index < len(array.items) else None

    def with_item_added(self, data: dict, pointer: str) -> dict:
        items = resolve(data, pointer, None)
        items = list(items) if isinstance(items, list) else []
        items.append({} if self._item_is_object(pointer) else "")
        result = copy_data(data)
        assign(result, pointer, items)
        return result

    def with_item_removed(self, data: dict, pointer: str, index: int) -> dict:
        items = resolve(data, pointer, None)
        result = copy_data(data)
        if isinstance(items, list) and 0 <= index < len(items):
            items = items[:index] + items[index + 1 :]
            if items:
                assign(result, pointer, items)
            else:
                remove(result, pointer)
        elif isinstance(items, str) and index == 0:  # a single attachment id
            remove(result, pointer)
        return result

    def _item_is_object(self, pointer: str) -> bool:
        chain, resolver = self._root_chain, self._root_resolver
        for segment in segments(pointer):
            node = None
            for link in chain:
                if segment.isdigit() and isinstance(link.get("items"), dict):
                    node = link["items"]
                    break
                props = link.get("properties")
                if isinstance(props, dict) and segment in props:
                    node = props[segment]
                    break
            if node is None:
                return False
            chain, resolver = schema_chain(node, resolver)
        items = _first(chain, "items", dict) or {}
        item_chain, _ = schema_chain(items, resolver)
        return _first(item_chain, "type") == "object"


@dataclass(frozen=True)
class Answer:
    """One answered question as a person reads it: group, label and value in one language."""

    group: str
    label: str
    value: str


def answers(fields: list[Field], lang: str, group: str = "") -> list[Answer]:
    """The answers of ``fields`` flattened in form order (what the check-answers page and
    the 申請控え show): groups name their rows, list items repeat them, empty values stay."""
    rows: list[Answer] = []
    for f in fields:
        if f.kind == "group":
            title = f.title.get(lang) or f.title.get("ja", "")
            rows += answers(f.children, lang, f"{group}／{title}" if group else title)
        elif f.kind == "array" and f.items:
            for item in f.items:
                rows += answers(item, lang, group)
        else:
            label = f.title.get(lang) or f.title.get("ja", "")
            rows.append(Answer(group=group, label=label, value=f.display(lang)))
    return rows


def errors_for(errors: list[FieldError], pointers: list[str]) -> list[FieldError]:
    """The errors at or under any of ``pointers``."""
    return [e for e in errors if any(e.path == p or e.path.startswith(p + "/") for p in pointers)]


def anchor(path: str) -> str:
    """The id of the input an error at ``path`` belongs to (for the error summary)."""
    return "f" + re.sub(r"[^A-Za-z0-9_-]", "-", path)


def _first(chain: list[dict], keyword: str, kind: type = str) -> Any:
    for node in chain:
        value = node.get(keyword)
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
    return None


def _int(value: Any, default: int) -> int:
    try:
        return max(0, min(int(str(value)), 1000))
    except (TypeError, ValueError):
        return default


_FULLWIDTH = str.maketrans("０１２３４５６７８９－．", "0123456789-.")


def _ascii_digits(text: str) -> str:
    """Full-width digits typed with a Japanese IME, as the ASCII the schema expects."""
    return text.translate(_FULLWIDTH)



_AMOUNT_NOISE = str.maketrans("", "", ",，、 　円¥￥")


def _amount(text: str) -> str:
    """An amount as typed (``1,200,000円``, full-width digits) as plain ASCII digits."""
    return _ascii_digits(text).translate(_AMOUNT_NOISE)


# 元号 and the Gregorian year before their first year (令和1年 = 2019).
_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"),
    re.compile(r"(?P<era>令和|平成|昭和|[RHS])\s*(?P<y>\d{1,2}|元)\s*[-/.年]\s*(?P<m>\d{1,2})"
               r"\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?", re.IGNORECASE),
)


def iso_date(text: str) -> str | None:
    """``2026-09-10`` for a date written 2026-09-10, 2026/9/10, 2026年9月10日, 令和8年9月10日,
    R8.9.10 (full-width digits too); None for anything else, or a day that does not exist."""
    from datetime import date

    cleaned = _ascii_digits(text.strip()).replace("／", "/")
    for pattern in _DATE_PATTERNS:
        found = pattern.fullmatch(cleaned)
        if found is None:
            continue
        parts = found.groupdict()
        year = 1 if parts["y"] == "元" else int(parts["y"])
        if parts.get("era"):
            year += _ERAS[parts["era"].upper() if len(parts["era"]) == 1 else parts["era"]]
        try:
            return date(year, int(parts["m"]), int(parts["d"])).isoformat()
        except ValueError:
            return None
    return None


_PHONE_NOISE = str.maketrans("", "", "-ー－‐ 　()（）.")


def normalize(f: Field, text: str) -> str:
    """What was typed into a text input of ``f``, as the schema expects it (see the module
    docstring); text that cannot be read is returned as typed, for its error to name it."""
    if f.kind == "date":
        return iso_date(text) or text
    if f.kind == "tel":
        digits = _ascii_digits(text).replace("＋", "+").translate(_PHONE_NOISE)
        if digits.startswith("+81"):
            rest = digits[3:]
            digits = rest if rest.startswith("0") else "0" + rest
        return digits
    if f.autocomplete == "postal-code":
        return _ascii_digits(text).replace("〒", "").translate(_PHONE_NOISE)
    if f.kana and " " not in f.pattern and "\u3000" not in f.pattern:
        return re.sub(r"[ \u3000]+", "", text)
    return text


def _is_address(chain: list[dict]) -> bool:
    return any(str(n.get("$id", "")).endswith("address.schema.json") for n in chain)


def _find_address(chain: list[dict], resolver, pointer: str, chain_of) -> str | None:
    """The pointer of the first address object under ``chain`` (objects only, not lists)."""
    for link in chain:
        props = link.get("properties")
        if not isinstance(props, dict):
            continue
        for name, node in props.items():
            child, child_resolver = chain_of(node, resolver)
            if _first(child, "type") != "object":
                continue
            here = f"{pointer}/{escape(name)}"
            if _is_address(child):
                return here
            found = _find_address(child, child_resolver, here, chain_of)
            if found is not None:
                return found
    return None


_KATAKANA_ONLY = re.compile(r"[ァ-ヶー・]+")


def _split_name(value: Any) -> tuple[str, str] | None:
    """``("山田", "太郎")`` from ``"山田 太郎"`` (a half- or full-width space between)."""
    if not isinstance(value, str):
        return None
    parts = value.replace("\u3000", " ").split()
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _split_address(value: Any) -> dict[str, str] | None:
    """都道府県, 市区町村 and the rest of a one-line address; None if it does not start with
    a prefecture and a city, ward, town or village."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    prefecture = next((p for p in _PREFECTURES_EN if text.startswith(p)), None)
    if prefecture is None:
        return None
    found = re.match(r"(.+?郡.+?[町村]|.+?市.+?区|.+?[市区町村])(.+)", text[len(prefecture):])
    if found is None:
        return None
    return {"prefecture": prefecture, "city": found.group(1), "street": found.group(2).strip()}


_PREFECTURES_EN = {
    "北海道": "Hokkaido", "青森県": "Aomori", "岩手県": "Iwate", "宮城県": "Miyagi",
    "秋田県": "Akita", "山形県": "Yamagata", "福島県": "Fukushima", "茨城県": "Ibaraki",
    "栃木県": "Tochigi", "群馬県": "Gunma", "埼玉県": "Saitama", "千葉県": "Chiba",
    "東京都": "Tokyo", "神奈川県": "Kanagawa", "新潟県": "Niigata", "富山県": "Toyama",
    "石川県": "Ishikawa", "福井県": "Fukui", "山梨県": "Yamanashi", "長野県": "Nagano",
    "岐阜県": "Gifu", "静岡県": "Shizuoka", "愛知県": "Aichi", "三重県": "Mie",
    "滋賀県": "Shiga", "京都府": "Kyoto", "大阪府": "Osaka", "兵庫県": "Hyogo",
    "奈良県": "Nara", "和歌山県": "Wakayama", "鳥取県": "Tottori", "島根県": "Shimane",
    "岡山県": "Okayama", "広島県": "Hiroshima", "山口県": "Yamaguchi", "徳島県": "Tokushima",
    "香川県": "Kagawa", "愛媛県": "Ehime", "高知県": "Kochi", "福岡県": "Fukuoka",
    "佐賀県": "Saga", "長崎県": "Nagasaki", "熊本県": "Kumamoto", "大分県": "Oita",
    "宮崎県": "Miyazaki", "鹿児島県": "Kagoshima", "沖縄県": "Okinawa",
}

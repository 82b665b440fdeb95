"""The OpenAPI documents of docs/adapters/: well formed, in step with adapters/models.py, and
answered by the development registry (every status and body it gives is one the document
declares, validated against the document's schema)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from adapters.models import HouseholdMember, PersonQuery, PublicFundsAccount, RegistryRecord
from identity.demo import DEMO_ACCOUNTS, DEMO_HOUSEHOLDS, DEMO_ROSTER

DOCS = Path(__file__).resolve().parents[2] / "docs" / "adapters"
REGISTRY_DOC = DOCS / "resident-registry.openapi.yaml"
FUNDS_DOC = DOCS / "public-funds-account.openapi.yaml"


class Document:
    """One OpenAPI document, its schemas usable by jsonschema (OpenAPI 3.1 schemas are
    JSON Schema 2020-12)."""

    def __init__(self, path: Path) -> None:
        self.spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.uri = f"urn:madoguchi:{path.stem}"
        self.registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.spec, default_specification=DRAFT202012))

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry,
                                    format_checker=FormatChecker())

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.registry.resolver(self.uri).lookup(self.uri + node["$ref"]).contents
        return node

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The templated path and the operation that ``method path`` is."""
        for template, item in self.spec["paths"].items():
            pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method.lower() in item:
                return template, item[method.lower()]
        raise AssertionError(f"{method} {path} is not in the document")

    def check(self, method: str, path: str, reply: httpx.Response) -> None:
        """``reply`` is one the document declares for ``method path``, with that body."""
        template, operation = self.operation(method, path)
        declared = operation["responses"].get(str(reply.status_code))
        assert declared is not None, f"{method} {template}: {reply.status_code} not declared"
        declared = self.resolve(declared)
        media = declared["content"]["application/json"]["schema"]
        assert reply.headers["content-type"].startswith("application/json")
        errors = list(self.validator(media["$ref"].removeprefix("#")).iter_errors(reply.json()))
        assert not errors, f"{method} {template} {reply.status_code}: {errors[0].message}"


@pytest.fixture(scope="module")
def registry_doc() -> Document:
    return Document(REGISTRY_DOC)


@pytest.fixture(scope="module")
def funds_doc() -> Document:
    return Document(FUNDS_DOC)


@pytest.mark.parametrize("path", [REGISTRY_DOC, FUNDS_DOC], ids=lambda p: p.stem)
def test_the_documents_are_openapi_3_1_with_valid_schemas(path):
    doc = Document(path)
    assert doc.spec["openapi"].startswith("3.1.")
    assert doc.spec["components"]["securitySchemes"]["bearer"] == {"type": "http",
                                                                  "scheme": "bearer"}
    assert doc.spec["security"] == [{"bearer": []}]
    for name, schema in doc.spec["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        doc.validator(f"/components/schemas/{name}")  # every $ref inside resolves below
    for template, item in doc.spec["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"] and operation["summary"], (method, template)
            assert "401" in operation["responses"] and "200" in operation["responses"]
            for status, response in operation["responses"].items():
                schema = doc.resolve(response)["content"]["application/json"]["schema"]
                doc.resolve(schema)  # resolves
                assert status.isdigit()


def _fields(model: type[BaseModel]) -> tuple[set[str], set[str]]:
    fields = model.model_fields
    return set(fields), {name for name, info in fields.items() if info.is_required()}


@pytest.mark.parametrize(("path", "model"), [
    (REGISTRY_DOC, PersonQuery), (REGISTRY_DOC, HouseholdMember),
    (REGISTRY_DOC, RegistryRecord), (FUNDS_DOC, PublicFundsAccount),
], ids=lambda v: getattr(v, "__name__", getattr(v, "stem", "")))
def test_the_documents_match_the_models(path, model):
    schema = Document(path).spec["components"]["schemas"][model.__name__]
    names, required = _fields(model)
    assert set(schema["properties"]) == names
    assert set(schema["required"]) == required
    generated = model.model_json_schema()["properties"]
    for name, prop in schema["properties"].items():
        if "pattern" in generated[name]:
            assert prop["pattern"] == generated[name]["pattern"], name
        if "enum" in generated[name]:
            assert prop["enum"] == generated[name]["enum"], name


async def test_the_dev_registry_answers_as_the_documents_say(dev_registry, registry_doc,
                                                             funds_doc):
    auth = {"Authorization": f"Bearer {dev_registry.token}"}
    async with httpx.AsyncClient(base_url=dev_registry.base_url, timeout=5) as http:

        async def call(doc: Document, prefix: str, method: str, path: str, *,
                       headers: dict[str, str] | None = None, json: Any = None) -> int:
            reply = await http.request(method, prefix + path, json=json,
                                       headers=auth if headers is None else headers)
            doc.check(method, path, reply)
            return reply.status_code

        search = registry_doc.validator("/components/schemas/PersonQuery")
        statuses = []
        for person in (p for p in DEMO_ROSTER if p.kind == "resident"):
            query = {"name": person.name, "birthdate": person.birthdate.isoformat(),
                     "address": person.address, "gender": person.gender,
                     "name_kana": person.name_kana}
            assert not list(search.iter_errors(query))  # what the client sends is documented
            statuses.append(await call(registry_doc, "/registry", "POST", "/v1/persons/search",
                                       json=query))
        assert set(statuses) == {200}
        nobody = {"name": "誰 でもない", "birthdate": "2000-01-01", "address": "どこか"}
        assert await call(registry_doc, "/registry", "POST", "/v1/persons/search",
                          json=nobody) == 404
        assert await call(registry_doc, "/registry", "POST", "/v1/persons/search",
                          json={"name": "山田 太郎"}) == 422
        assert await call(registry_doc, "/registry", "POST", "/v1/persons/search",
                          json={**nobody, "birthdate": "2000-02-30"}) == 422
        assert await call(registry_doc, "/registry", "POST", "/v1/persons/search", json=nobody,
                          headers={}) == 401
        for household in DEMO_HOUSEHOLDS:
            for member in household.members:
                assert await call(registry_doc, "/registry", "GET",
                                  f"/v1/persons/{member.person_id}") == 200
                expected = 200 if any(a.person_id == member.person_id
                                      for a in DEMO_ACCOUNTS) else 404
                assert await call(funds_doc, "/public-funds", "GET",
                                  f"/v1/persons/{member.person_id}/account") == expected
        assert await call(registry_doc, "/registry", "GET", "/v1/persons/RR-none") == 404
        assert await call(registry_doc, "/registry", "GET", "/v1/persons/RR-131016-0001",
                          headers={"Authorization": "Bearer wrong"}) == 401
        assert await call(funds_doc, "/public-funds", "GET", "/v1/persons/RR-131016-0001/account",
                          headers={"Authorization": "Basic eDp5"}) == 401
        unauthorized = await http.get("/registry/v1/persons/RR-131016-0001")
        assert unauthorized.headers["www-authenticate"] == "Bearer"

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog, UnknownProcedure
from forms.packages import NOTICE_EVENTS, check_package, load_package, required_message_keys
from forms.problems import CatalogError
from forms.schemacheck import check_common

PACKAGE = DEFAULT_ROOT / "disaster-certificate"


def _copy(root: Path, name: str, version: str = "1.0.0") -> Path:
    target = root / name
    shutil.copytree(PACKAGE, target)
    _edit(target / "procedure.json", lambda d: d.update(version=version))
    return target


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_packaged_catalogue_loads_without_problems():
    catalog = Catalog.load()
    assert catalog.problems == []
    procedure = catalog.get("disaster-certificate")
    assert procedure.definition.version == procedure.version
    assert procedure.form_schema["properties"]["disaster_event"]["type"] == "string"
    assert set(procedure.step_schemas) == {"survey.schema.json"}
    assert procedure.message("notice.submitted.title", "ja") == "申請が届きました"
    assert "disaster-certificate" in [p.id for p in catalog.procedures()]


def test_shared_schemas_are_clean():
    assert check_common() == []


def test_check_package_of_the_packaged_procedure_is_clean():
    assert check_package(PACKAGE) == []


def test_message_falls_back_to_japanese_and_refuses_unknown_keys(tmp_path):
    package = _copy(tmp_path, "pkg")
    _edit(package / "messages.en.json", lambda m: m.pop("error.unknown_disaster_event"))
    procedure = load_package(package)
    assert procedure.message("error.unknown_disaster_event", "en") == procedure.message(
        "error.unknown_disaster_event", "ja"
    )
    assert procedure.message("notice.issued.title", "fr") == "証明書ができました"
    with pytest.raises(KeyError, match="no message"):
        procedure.message("nope", "en")


def test_broken_package_is_refused_with_every_problem_while_sibling_loads(tmp_path):
    _copy(tmp_path, "good")
    broken = _copy(tmp_path, "broken")
    _edit(broken / "procedure.json", lambda d: d.update(colour="blue"))
    (broken / "templates" / "certificate.html").unlink()
    _edit(
        broken / "form.schema.json",
        lambda s: s["properties"]["applicant"]["properties"]["phone"].update(
            {"$ref": "https://madoguchi.example/schemas/common/telephone.schema.json"}
        ),
    )
    (broken / "survey.schema.json").write_text('{"type": "object",', encoding="utf-8")

    catalog = Catalog.load(tmp_path)

    assert [p.directory.name for p in catalog.procedures()] == ["good"]
    found = {(p.file, p.pointer) for p in catalog.problems}
    assert found == {
        ("broken/procedure.json", "/colour"),
        ("broken/procedure.json", "/documents/0/template"),
        ("broken/form.schema.json", "/properties/applicant/properties/phone/$ref"),
        ("broken/survey.schema.json", ""),
    }
    messages = {p.pointer: p.message for p in catalog.problems}
    assert "unknown key 'colour'" in messages["/colour"]
    assert "templates/certificate.html" in messages["/documents/0/template"]
    assert "telephone.schema.json" in messages["/properties/applicant/properties/phone/$ref"]
    assert "invalid JSON" in messages[""]

    with pytest.raises(CatalogError) as raised:
        load_package(broken)
    assert len(raised.value.problems) == 4
    lines = str(raised.value).splitlines()
    assert len(lines) == 4
    assert "broken/procedure.json#/colour: unknown key 'colour'" in lines
    assert sorted(check_package(broken), key=str) == sorted(raised.value.problems, key=str)


def test_invalid_procedure_json_still_checks_the_rest(tmp_path):
    package = _copy(tmp_path, "pkg")
    (package / "procedure.json").write_text("{not json", encoding="utf-8")
    _edit(package / "messages.ja.json", lambda m: m.pop("notice.issued.body"))
    problems = check_package(package)
    assert {(p.file, p.pointer) for p in problems} == {
        ("pkg/procedure.json", ""),
        ("pkg/messages.ja.json", ""),
    }
    assert any("notice.issued.body" in p.message for p in problems)


def test_schema_and_reference_mistakes_are_located(tmp_path):
    package = _copy(tmp_path, "pkg")

    def break_form(schema):
        schema["properties"]["copies"]["minimum"] = "one"
        schema["properties"]["damage"]["properties"]["description"]["pattern"] = "(["

    _edit(package / "form.schema.json", break_form)
    _edit(package / "survey.schema.json", lambda s: s["properties"]["notes"].pop("x-title-en"))
    _edit(package / "survey.schema.json", lambda s: s["properties"]["notes"].pop("title"))

    def break_procedure(d):
        d["dedupe"]["fields"] = ["/disaster_evnet"]
        survey = d["stages"][1]["actions"][1]
        survey["compute"]["damage_grade"] = {"function": "damage_grad", "input": "/ratio"}

    _edit(package / "procedure.json", break_procedure)
    found = {(p.file, p.pointer) for p in check_package(package)}
    assert found == {
        ("pkg/form.schema.json", "/properties/copies/minimum"),
        ("pkg/form.schema.json", "/properties/damage/properties/description/pattern"),
        ("pkg/survey.schema.json", "/properties/notes"),
        ("pkg/procedure.json", "/stages/1/actions/1/compute/damage_grade/function"),
    }
    titles = [p.message for p in check_package(package) if p.pointer == "/properties/notes"]
    assert sorted(titles) == ["field has no 'title'", "field has no 'x-title-en'"]
    # Pointers into schemas are checked only against schemas that loaded: fix them.
    shutil.copy(PACKAGE / "form.schema.json", package / "form.schema.json")
    shutil.copy(PACKAGE / "survey.schema.json", package / "survey.schema.json")
    found = {(p.file, p.pointer) for p in check_package(package)}
    assert found == {
        ("pkg/procedure.json", "/dedupe/fields/0"),
        ("pkg/procedure.json", "/stages/1/actions/1/compute/damage_grade/function"),
        ("pkg/procedure.json", "/stages/1/actions/1/compute/damage_grade/input"),
    }


def test_a_format_nothing_checks_is_a_problem_not_a_field_that_takes_anything(tmp_path):
    # jsonschema skips a format it has no checker for: "iri" here (its checker's package
    # is not installed), or a typo. A property that is itself called "format" is a name.
    package = _copy(tmp_path, "pkg")

    def add_fields(schema):
        schema["properties"]["homepage"] = {"type": "string", "format": "iri",
                                            "title": "ホームページ", "x-title-en": "Homepage"}
        schema["properties"]["format"] = {"type": "string", "format": "emial",
                                          "title": "形式", "x-title-en": "Format",
                                          "examples": [{"format": "not-a-schema"}]}

    _edit(package / "form.schema.json", add_fields)
    problems = {(p.pointer, p.message.split(" (")[0]) for p in check_package(package)}
    assert problems == {
        ("/properties/homepage/format", "format 'iri' is not checked here"),
        ("/properties/format/format", "format 'emial' is not checked here"),
    }


def test_no_process_pays_for_grammars_of_formats_no_form_uses():
    # rfc3987-syntax compiled 39 Lark grammars on import (~0.8 CPU s per process).
    probe = "import sys, forms.validation, jsonschema; print('rfc3987_syntax' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "False"


def test_messages_need_every_notice_and_known_placeholders(tmp_path):
    package = _copy(tmp_path, "pkg")
    _edit(
        package / "messages.en.json",
        lambda m: m.update({"notice.issued.body": "Ready: {document_url}"}),
    )
    _edit(package / "messages.ja.json", lambda m: m.pop("notice.deadline_escalation.title"))
    problems = check_package(package)
    assert {(p.file, p.pointer) for p in problems} == {
        ("pkg/messages.en.json", "/notice.issued.body"),
        ("pkg/messages.ja.json", ""),
    }
    assert len(required_message_keys()) == 2 * len(NOTICE_EVENTS)
    assert required_message_keys(["issued"]) == ["notice.issued.title", "notice.issued.body"]


def test_invalid_example_is_a_problem(tmp_path):
    package = _copy(tmp_path, "pkg")
    _edit(package / "examples" / "valid-basic.json", lambda d: d["applicant"].pop("phone"))
    [problem] = check_package(package)
    assert (problem.file, problem.pointer) == ("pkg/examples/valid-basic.json", "/applicant/phone")


def test_paths_must_stay_inside_the_package(tmp_path):
    package = _copy(tmp_path, "pkg")
    _edit(
        package / "procedure.json",
        lambda d: d["documents"][0].update(template="../../etc/passwd"),
    )
    [problem] = check_package(package)
    assert problem.pointer == "/documents/0/template"
    assert "inside the package" in problem.message


def test_duplicate_key_in_json_is_refused(tmp_path):
    package = _copy(tmp_path, "pkg")
    text = (package / "procedure.json").read_text(encoding="utf-8")
    (package / "procedure.json").write_text(
        text.replace('"version": "1.0.0",', '"version": "1.0.0", "version": "2.0.0",', 1),
        encoding="utf-8",
    )
    [problem] = check_package(package)
    assert "duplicate key 'version'" in problem.message


def test_versions_and_duplicates(tmp_path):
    _copy(tmp_path, "v1")
    v2 = _copy(tmp_path, "v2")
    _edit(v2 / "procedure.json", lambda d: d.update(version="1.10.0"))
    catalog = Catalog.load(tmp_path)
    assert catalog.problems == []
    assert catalog.get("disaster-certificate").version == "1.10.0"
    assert catalog.get("disaster-certificate", "1.0.0").directory.name == "v1"
    with pytest.raises(UnknownProcedure):
        catalog.get("disaster-certificate", "9.9.9")
    with pytest.raises(UnknownProcedure):
        catalog.get("moving-notification")

    _copy(tmp_path, "v1-copy")
    catalog = Catalog.load(tmp_path)
    assert [p.directory.name for p in catalog.procedures()] == ["v2"]
    assert {p.file for p in catalog.problems} == {"v1/procedure.json", "v1-copy/procedure.json"}


def test_four_eyes_rule_must_name_a_real_action(tmp_path):
    package = _copy(tmp_path, "pkg")
    _edit(
        package / "procedure.json",
        lambda d: d["stages"][2]["actions"][0].update(distinct_from=["servey"]),
    )
    [problem] = check_package(package)
    assert (problem.file, problem.pointer) == (
        "pkg/procedure.json",
        "/stages/2/actions/0/distinct_from/0",
    )


def test_issue_on_submit_must_name_each_known_document_once(tmp_path):
    for wrong, says in (
        (["application-copy", "application-copy"], "twice"),
        (["no-such-document"], "unknown document"),
    ):
        package = _copy(tmp_path, f"pkg-{len(says)}")
        _edit(package / "procedure.json", lambda d, w=wrong: d.update(issue_on_submit=w))
        problems = check_package(package)
        assert any(says in p.message for p in problems), problems


def test_answers_read_as_a_person_reads_them():
    from forms.schemaform import Field

    def shown(value, kind="text"):
        return Field(pointer="/x", kind=kind, title={"ja": "x"}, required=False,
                     value=value).display("ja")

    assert shown([], "files") == "" and shown([], "array") == ""
    assert shown(True) == "はい" and shown(False) == "いいえ"
    assert shown(["att-1", "att-2"], "files") == "2件のファイル"

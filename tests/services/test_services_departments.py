"""Departments and their queues: every Chiyoda procedure routed to one department, the
visibility query of a department's queue, and a department's caseworker kept to theirs."""

from __future__ import annotations

import pytest

from forms.catalog import Catalog
from identity.devissuer import DEV_STAFF_ISSUER
from identity.principals import Caseworker
from services.bundle_dedupe import bundle_cases_for
from services.catalogue import CatalogueService
from services.departments import departments, departments_for, scope_of
from services.keys import ApplicantKeys
from services.queues import CaseFilter, visibility_query
from services.refusals import Refused

TOKYO = "131016"


@pytest.fixture(scope="module")
def catalogue() -> CatalogueService:
    return CatalogueService(Catalog.load())


def staff(*departments: str, municipality: str = TOKYO) -> Caseworker:
    return Caseworker(issuer=DEV_STAFF_ISSUER, subject="cw", roles=frozenset({"reviewer"}),
                      municipalities=frozenset({municipality}),
                      departments=frozenset(departments))


def test_every_chiyoda_procedure_has_exactly_one_department(catalogue):
    listed = departments(catalogue, TOKYO)
    routed = [p for d in listed for p in d.procedures]
    assert sorted(routed) == sorted(p.id for p in catalogue.latest(TOKYO))
    by_id = {d.id: d for d in listed}
    assert by_id["hoken-nenkin"].procedures == [
        "funeral-expenses", "nhi-loss-of-eligibility", "nhi-premium-reduction"]
    assert by_id["kaigo-hoken"].title.ja.startswith("介護保険課")
    assert by_id["korei-kaigo"].procedures == ["elderly-welfare-services-end"]


def test_a_municipality_without_department_ids_has_none(catalogue):
    assert departments(catalogue, "141003") == []


def test_a_departments_queue_is_a_query_over_its_procedures(catalogue):
    scope = scope_of(catalogue, [TOKYO, "141003", "999999"], ["kaigo-hoken"])
    assert scope == ((TOKYO, ("ltc-loss-of-eligibility",)), ("141003", ()), ("999999", ()))
    query = visibility_query(CaseFilter(municipalities=(TOKYO,), departments=scope))
    assert "MadoMunicipality = '131016' AND MadoProcedure IN ('ltc-loss-of-eligibility')" in query
    assert "141003" not in query  # nothing of this department there


def test_a_departments_caseworker_lists_only_their_departments(catalogue):
    assert [d.id for d in departments_for(staff("kaigo-hoken"), catalogue, TOKYO)] == [
        "kaigo-hoken"]
    assert len(departments_for(staff(), catalogue, TOKYO)) == 6
    with pytest.raises(Refused) as refused:
        departments_for(staff(municipality="141003"), catalogue, TOKYO)
    assert refused.value.kind == "forbidden"


def test_a_department_id_is_a_plain_identifier():
    with pytest.raises(ValueError):
        staff("保険年金課")


def test_a_direct_filing_names_the_bundle_case_it_repeats(catalogue):
    keys = ApplicantKeys(b"k" * 32)
    form = {"deceased": {"name": {"family": "佐藤", "given": "一郎", "family_kana": "サトウ",
                                  "given_kana": "イチロウ"}, "birth_date": "1954-03-15"}}
    spaced = {"deceased": {**form["deceased"], "name": {**form["deceased"]["name"],
                                                          "family": "佐藤　"}}}
    first = list(bundle_cases_for(catalogue.catalog, keys, "funeral-expenses", TOKYO, form))
    assert len(first) == 1 and first[0].startswith("lev-") and first[0].endswith(
        "-funeral-expenses")
    assert list(bundle_cases_for(catalogue.catalog, keys, "funeral-expenses", TOKYO,
                                 spaced)) == first  # normalized as the bundle's key is
    # A life event keyed by household cannot be found from a form: nothing to check.
    assert list(bundle_cases_for(catalogue.catalog, keys, "disaster-condolence-money", TOKYO,
                                 {"disaster_event": "x"})) == []

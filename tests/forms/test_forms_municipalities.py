import datetime as dt
import json

import pytest

from forms.municipalities import load_municipalities


def test_packaged_municipalities():
    municipalities = load_municipalities()
    chiyoda = municipalities["131016"]
    assert chiyoda.name.ja == "千代田区"
    assert chiyoda.name.en == "Chiyoda City"
    assert chiyoda.prefecture == "東京都"
    typhoon = chiyoda.disaster_event("2026-typhoon-15")
    assert typhoon is not None
    assert typhoon.name.ja == "令和8年台風第15号"
    assert typhoon.date == dt.date(2026, 9, 20)
    rain = chiyoda.disaster_event("2026-heavy-rain-07")
    assert rain is not None and rain.date == dt.date(2026, 7, 5)
    yokohama = municipalities["141003"]
    assert yokohama.prefecture == "神奈川県"
    assert len(yokohama.disaster_events) == 1


def _write(tmp_path, municipalities):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"municipalities": municipalities}), encoding="utf-8")
    return path


def _entry(code="131016", events=()):
    return {
        "code": code,
        "name": {"ja": "千代田区", "en": "Chiyoda City"},
        "prefecture": "東京都",
        "disaster_events": list(events),
    }


def test_code_with_a_wrong_check_digit_is_refused(tmp_path):
    with pytest.raises(ValueError, match="131017"):
        load_municipalities(_write(tmp_path, [_entry("131017")]))


def test_code_as_a_number_is_refused(tmp_path):
    with pytest.raises(ValueError):
        load_municipalities(_write(tmp_path, [_entry(131016)]))


def test_duplicate_codes_and_event_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="twice"):
        load_municipalities(_write(tmp_path, [_entry(), _entry()]))
    event = {"id": "e", "name": {"ja": "台風", "en": "Typhoon"}, "date": "2026-01-01"}
    with pytest.raises(ValueError, match="unique"):
        load_municipalities(_write(tmp_path, [_entry(events=[event, event])]))


def test_contacts_and_mayor():
    from forms.catalog import Catalog

    chiyoda = load_municipalities()["131016"]
    assert chiyoda.mayor is not None and chiyoda.mayor.title.ja == "千代田区長"
    catalog = Catalog.load()
    # The procedure's department comes from the municipality's overlay of it...
    local = catalog.get("disaster-certificate", municipality="131016")
    certificate = chiyoda.contact_for(local)
    assert certificate is not None and certificate.department.ja == "防災課"
    # ... else the municipality's own contact.
    yokohama = load_municipalities()["141003"]
    standard = catalog.get("disaster-certificate", municipality="141003")
    assert yokohama.contact_for(standard) == yokohama.contact is not None
    assert chiyoda.contact_for() == chiyoda.contact


def test_a_contact_with_a_bad_phone_number_is_refused(tmp_path):
    entry = _entry()
    entry["contact"] = {"department": {"ja": "区民課", "en": "Residents"},
                        "phone": "call us", "hours": {"ja": "平日", "en": "Weekdays"}}
    with pytest.raises(ValueError, match="phone"):
        load_municipalities(_write(tmp_path, [entry]))

import pytest

from forms.checkdigits import (
    is_valid_corporate_number,
    is_valid_individual_number,
    is_valid_municipality_code,
    municipality_check_digit,
)


@pytest.mark.parametrize(
    "code",
    [
        "131016",  # 千代田区
        "141003",  # 横浜市
        "011002",  # 札幌市
        "130001",  # 東京都
        "220001",  # 静岡県: remainder 0, 11 - 0 = 11 -> last digit 1
        "090000",  # 栃木県: remainder 1, 11 - 1 = 10 -> last digit 0
    ],
)
def test_known_municipality_codes_are_valid(code):
    assert is_valid_municipality_code(code)


@pytest.mark.parametrize(
    "code", ["131017", "141004", "13101", "1310160", "１３１０１６", "13101a", " 13101", ""]
)
def test_bad_municipality_codes_are_refused(code):
    assert not is_valid_municipality_code(code)


def test_municipality_codes_accept_exactly_one_check_digit():
    for body in ("13101", "14100", "01100", "47201", "99999", "00000"):
        valid = [d for d in "0123456789" if is_valid_municipality_code(body + d)]
        assert valid == [str(municipality_check_digit(body))]


def test_municipality_check_digit_refuses_bad_body():
    with pytest.raises(ValueError):
        municipality_check_digit("1310")


def test_corporate_number_of_the_national_tax_agency_is_valid():
    assert is_valid_corporate_number("7000012050002")


@pytest.mark.parametrize(
    "number",
    ["8000012050002", "7000012050003", "700001205000", "70000120500020", "７000012050002", ""],
)
def test_bad_corporate_numbers_are_refused(number):
    assert not is_valid_corporate_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "123456789018",
        "000000000060",  # remainder 1 -> check digit 0
        "000000000140",  # remainder 0 -> check digit 0
    ],
)
def test_known_individual_numbers_are_valid(number):
    assert is_valid_individual_number(number)


@pytest.mark.parametrize(
    "number", ["123456789019", "000000000061", "12345678901", "1234567890180", "１23456789018"]
)
def test_bad_individual_numbers_are_refused(number):
    assert not is_valid_individual_number(number)


def test_individual_numbers_accept_exactly_one_check_digit():
    for base in ("12345678901", "00000000006", "98765432109", "55555555555"):
        assert sum(is_valid_individual_number(base + d) for d in "0123456789") == 1

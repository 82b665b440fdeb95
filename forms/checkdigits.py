"""Check digits of the public identifiers Japanese procedures ask for.

Pure functions, no I/O: they are used by the JSON Schema formats ``municipality-code``,
``corporate-number`` and ``individual-number`` (registered in :mod:`forms.validation`) and
by the municipality data loader. Each function accepts only ASCII digits of the exact
length: full-width digits (``"１３１０１６"``), spaces or hyphens are refused, because the
caller is expected to normalise input before it is stored.
"""

from __future__ import annotations

__all__ = [
    "is_valid_corporate_number",
    "is_valid_individual_number",
    "is_valid_municipality_code",
    "municipality_check_digit",
]


def _ascii_digits(value: object, length: int) -> bool:
    # str.isdigit() accepts "１" and "²": check the ASCII range explicitly.
    return isinstance(value, str) and len(value) == length and all("0" <= c <= "9" for c in value)


def municipality_check_digit(first_five: str) -> int:
    """The 検査数字 of a 地方公共団体コード from its first five digits.

    Rule (総務省「全国地方公共団体コード」, JIS X 0402): multiply the five digits from
    the left by 6, 5, 4, 3, 2, add the products, take the remainder modulo 11 and
    subtract it from 11; the check digit is the last digit of that result (so a
    remainder of 0 gives 1 and a remainder of 1 gives 0).

    :raises ValueError: if ``first_five`` is not five ASCII digits.
    """
    if not _ascii_digits(first_five, 5):
        raise ValueError("a municipality code body is five ASCII digits")
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def is_valid_municipality_code(code: str) -> bool:
    """Whether ``code`` is a six-digit 地方公共団体コード with a correct check digit.

    ``131016`` (千代田区) and ``141003`` (横浜市) are valid; ``131017`` is not.
    See :func:`municipality_check_digit` for the rule.
    """
    if not _ascii_digits(code, 6):
        return False
    return municipality_check_digit(code[:5]) == int(code[5])


def is_valid_corporate_number(number: str) -> bool:
    """Whether ``number`` is a 13-digit 法人番号 with a correct check digit.

    Rule (法人番号の指定等に関する省令 (平成26年財務省令第70号) 第2条): the check
    digit is the *first* digit and equals ``9 - (Σ Pn × Qn mod 9)`` for n = 1..12,
    where Pn is the n-th digit of the 12-digit base number counted from its last
    (rightmost) digit, and Qn is 1 when n is odd and 2 when n is even.
    Example: ``7000012050002`` (国税庁).
    """
    if not _ascii_digits(number, 13):
        return False
    base = number[1:]
    total = sum(int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base), start=1))
    return int(number[0]) == 9 - total % 9


def is_valid_individual_number(number: str) -> bool:
    """Whether ``number`` is a 12-digit 個人番号 (My Number) with a correct check digit.

    Rule (番号法施行令第8条が定める総務省令 — 通知カード及び個人番号カード並びに
    情報提供ネットワークシステムによる特定個人情報の提供等に関する省令 第5条): the
    check digit is the *last* digit and equals
    ``11 - (Σ Pn × Qn mod 11)`` for n = 1..11, or 0 when that remainder is 0 or 1.
    Pn is the n-th digit of the 11-digit base counted from its last (rightmost) digit;
    Qn is n + 1 for 1 ≤ n ≤ 6 and n - 5 for 7 ≤ n ≤ 11. Example: ``123456789018``.

    The engine never stores a 個人番号; this check exists for procedures that must
    accept one and hand it straight to a back-office system.
    """
    if not _ascii_digits(number, 12):
        return False
    base = number[:11]
    total = sum(
        int(digit) * (n + 1 if n <= 6 else n - 5) for n, digit in enumerate(reversed(base), start=1)
    )
    remainder = total % 11
    expected = 0 if remainder <= 1 else 11 - remainder
    return int(number[11]) == expected

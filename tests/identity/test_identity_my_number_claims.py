"""A 個人番号 claim is refused however it is named and wherever it is nested (#15)."""

from __future__ import annotations

import pytest

from identity import ClaimForbidden, IdentityError


@pytest.mark.parametrize(
    ("claims", "named"),
    [
        ({"address.my_number": "123456789018"}, "address.my_number"),
        ({"ｍｙ＿ｎｕｍｂｅｒ": "123456789018"}, "ｍｙ＿ｎｕｍｂｅｒ"),
        ({"individual_number_x": "123456789018"}, "individual_number_x"),
        ({"address": {"my_number": "123456789018"}}, "address/my_number"),
        ({"family": [{"name": "花子", "MyNumber": "123456789018"}]}, "family/0/MyNumber"),
    ],
)
def test_a_renamed_or_nested_my_number_claim_is_refused(issuers, claims, named):
    token = issuers.sign(issuers.resident_claims(**claims))
    with pytest.raises(IdentityError) as info:
        issuers.verifier().verify(token)
    assert type(info.value) is ClaimForbidden
    assert info.value.claim == named
    assert "123456789018" not in str(info.value)


def test_claims_that_only_look_alike_are_accepted(issuers):
    token = issuers.sign(
        issuers.resident_claims(phone_number="0312345678", ext={"number_of_children": 2})
    )
    assert issuers.verifier().verify(token).subject == "pseudonym-0001"

"""`POST /merchants/validate` checks each field exactly as `POST /merchants` does."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.registry.api import MerchantDraftIn, MerchantIn

GOOD: dict[str, Any] = {
    "name": "商户",
    "market_id": "mkt_1",
    "stall_no": "A-1",
    "credit_code": "914403001922038216",
    "food_licence": "JY13706020012345",
    "licence_valid_until": "2030-01-01",
    "categories": ["蔬菜"],
}


def _errors(model: type[Any], body: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return [(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
    return []


def test_the_draft_has_the_fields_of_a_merchant() -> None:
    assert set(MerchantDraftIn.model_fields) == set(MerchantIn.model_fields)


@pytest.mark.parametrize(
    "change",
    [
        {"credit_code": "914403001922038217"},  # wrong check character
        {"credit_code": "91440300192203821"},  # 17 characters
        {"credit_code": "91440300192203821I"},  # a letter the code never uses
        {"food_licence": "JY1370602001234"},
        {"food_licence": "SC13706020012345"},
        {"stall_no": ""},
        {"name": "x" * 201},
        {"licence_valid_until": "2030-02-30"},
        {"categories": [""]},
        {"extra": 1},
    ],
)
def test_a_bad_field_gets_the_same_error_from_both(change: dict[str, Any]) -> None:
    expected = _errors(MerchantIn, GOOD | change)
    assert expected, change
    assert _errors(MerchantDraftIn, GOOD | change) == expected
    # On its own, too: the fields not typed yet are not required.
    assert _errors(MerchantDraftIn, change) == expected


def test_a_good_field_alone_passes_and_is_normalised_as_for_a_merchant() -> None:
    assert _errors(MerchantDraftIn, {}) == []
    draft = MerchantDraftIn.model_validate({"credit_code": " 914403001922038216 "})
    merchant = MerchantIn.model_validate(GOOD | {"credit_code": " 914403001922038216 "})
    assert draft.credit_code == merchant.credit_code

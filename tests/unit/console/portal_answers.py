"""What the citizens' portal's services answer in the unit tests (the stubs of test_portal.py and
test_public_forms_every_problem.py), by path."""

from __future__ import annotations

from typing import Any

MARKET = {
    "id": "mkt_1",
    "name": "幸福农贸市场",
    "district": "zhifu",
    "district_name": "芝罘区",
    "kind": "farmers",
    "address": "幸福路 1 号",
    "opening_hours": {"open": "06:00", "close": "19:00"},
    "renovation_status": "in_progress",
}
ANSWERS: dict[str, Any] = {
    "/public/markets/mkt_1": MARKET,
    "/public/markets": {"items": [MARKET], "total": 1},
    "/public/districts": [{"code": "zhifu", "name": "芝罘区"}],
    "/public/markets/mkt_1/grades": {
        "shares": {"A": 0.5, "B": 0.25, "C": 0.25, "D": 0.0},
        "merchants": 4,
        "rank": {
            "position": 2,
            "of": 7,
            "period": {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        },
    },
    "/public/markets/mkt_1/merchants": {
        "items": [{"id": "mer_1", "name": "老王鲜肉", "stall_no": "A-1"}]
    },
    "/public/merchants": {"items": [{"id": "mer_1", "grade": "B"}], "total": 1},
    "/public/disclosures": {"items": []},
    "/public/suggestions": [
        {"id": "s1", "about": "market", "market_id": "mkt_1", "text": "请回电 13912345678",
         "answer": "已整改", "answered_at": "2026-12-01T00:00:00Z"}
    ],
}  # fmt: skip

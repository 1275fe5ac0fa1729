"""`GET /findings`, the catalogue for the console's checklist with Chinese labels: it needs no
infrastructure, so the app is built, not started."""

from __future__ import annotations

from typing import Any

import httpx

from services.inspection.app import build
from services.inspection.policy_files import default_catalogue
from services.inspection.settings import InspectionSettings
from tests.support.signing import LocalSigner

SIGNER = LocalSigner()
APP = build(SIGNER.offline(InspectionSettings))


async def _get(path: str, role: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP), base_url="http://svc"
    ) as http:
        return await http.get(path, headers=SIGNER.bearer(role, "zhifu"))


async def test_the_catalogue_has_a_chinese_label_severity_and_category_per_code() -> None:
    r = await _get("/findings", "inspector")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    catalogue = default_catalogue()
    assert body["version"] == catalogue.version
    assert [i["code"] for i in body["items"]] == [f.code for f in catalogue]
    cch = next(i for i in body["items"] if i["code"] == "CCH-01")
    assert cch == {
        "code": "CCH-01",
        "label_zh": "冷藏冷冻设备温度超出规定范围",
        "label_en": "Refrigerator or freezer outside its temperature range",
        "severity": "major",
        "category": "cold_chain",
        "category_zh": "冷链管理",
    }
    assert all(i["label_zh"] and i["category_zh"] for i in body["items"])
    groups = {g["code"]: g for g in body["categories"]}
    assert groups["cold_chain"]["label_zh"] == "冷链管理"
    assert "CCH-01" in groups["cold_chain"]["codes"]


async def test_every_reader_of_inspection_work_may_read_it_others_not() -> None:
    for role in ("inspector", "leader", "department", "handler", "admin"):
        assert (await _get("/findings", role)).status_code == 200, role
    for role in ("clerk", "operator"):
        assert (await _get("/findings", role)).status_code == 403, role

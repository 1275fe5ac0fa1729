"""The simulated city: its markets and terminals (with their one-time keys), provisioned through
the registry API or loaded from a city file.

Two file shapes are read:
- the simulator's own (`provision` writes it):
  `{"version": 1, "markets": [...], "terminals": [...]}`, with each market's capacity, kind and
  opening hours;
- the demo launcher's `.run/demo/terminals.json`: a list of terminals
  `{id, kind, market_id, merchant_id, profile, key}`. Market details are then asked of the
  registry when a URL and token are at hand (`enrich`), else defaults are assumed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from contracts.identifiers import credit_code_check_char
from simulator.clock import SHANGHAI, OpeningHours

TERMINAL_KINDS = ("cold_chain", "footfall", "payment")
DEFAULT_CAPACITY = 800
DEFAULT_INTERVAL_S = 60


class CityError(Exception):
    """A city file or a registry answer the simulator cannot use."""


@dataclass(frozen=True)
class Market:
    id: str
    name: str = ""
    kind: str = "farmers"
    capacity: int = DEFAULT_CAPACITY
    opens: str = "06:00"
    closes: str = "19:00"
    district: str | None = None
    known: bool = True  # False: details assumed, not read from the registry

    @property
    def hours(self) -> OpeningHours:
        return OpeningHours.of(self.opens, self.closes)


@dataclass(frozen=True)
class Terminal:
    id: str
    kind: str
    market_id: str
    key: bytes = field(repr=False)
    merchant_id: str | None = None
    stall_no: str | None = None
    profile: str | None = None
    interval_s: int = DEFAULT_INTERVAL_S


@dataclass(frozen=True)
class City:
    markets: Mapping[str, Market]
    terminals: Sequence[Terminal]

    def terminal(self, terminal_id: str) -> Terminal | None:
        for terminal in self.terminals:
            if terminal.id == terminal_id:
                return terminal
        return None

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for terminal in self.terminals:
            label = terminal.profile or terminal.kind
            kinds[label] = kinds.get(label, 0) + 1
        return {"markets": len(self.markets), "terminals": len(self.terminals), "by_kind": kinds}


# -- files -----------------------------------------------------------------------------------


def _terminal(raw: Mapping[str, Any], where: str) -> Terminal:
    try:
        kind = str(raw["kind"])
        if kind not in TERMINAL_KINDS:
            raise CityError(f"{where}: kind {kind!r} is not one of {', '.join(TERMINAL_KINDS)}")
        profile = raw.get("profile")
        if kind == "cold_chain" and profile not in ("chilled", "frozen"):
            raise CityError(f"{where}: a cold_chain terminal needs profile chilled or frozen")
        return Terminal(
            id=str(raw["id"]),
            kind=kind,
            market_id=str(raw["market_id"]),
            key=bytes.fromhex(str(raw["key"])),
            merchant_id=raw.get("merchant_id"),
            stall_no=raw.get("stall_no"),
            profile=profile if kind == "cold_chain" else None,
            interval_s=int(raw.get("interval_s") or DEFAULT_INTERVAL_S),
        )
    except KeyError as exc:
        raise CityError(f"{where}: missing {exc.args[0]!r}") from None
    except ValueError as exc:
        raise CityError(f"{where}: {exc}") from None


def _market(raw: Mapping[str, Any]) -> Market:
    hours = raw.get("opening_hours") or {}
    return Market(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        kind=str(raw.get("kind", "farmers")),
        capacity=int(raw.get("capacity", DEFAULT_CAPACITY)),
        opens=str(hours.get("open", raw.get("opens", "06:00"))),
        closes=str(hours.get("close", raw.get("closes", "19:00"))),
        district=raw.get("district"),
    )


def parse_city(data: Any) -> City:
    if isinstance(data, list):
        raw_terminals, raw_markets = data, []
    elif isinstance(data, dict):
        raw_terminals, raw_markets = data.get("terminals", []), data.get("markets", [])
    else:
        raise CityError("a city file is a list of terminals or an object with `terminals`")
    terminals = [_terminal(t, f"terminal #{i}") for i, t in enumerate(raw_terminals)]
    if not terminals:
        raise CityError("the city has no terminals")
    markets = {m.id: m for m in map(_market, raw_markets)}
    for terminal in terminals:
        markets.setdefault(terminal.market_id, Market(terminal.market_id, known=False))
    return City(markets, terminals)


def load_city(path: Path) -> City:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CityError(f"cannot read city file {path}: {exc}") from None
    return parse_city(data)


def city_document(city: City) -> dict[str, Any]:
    markets = []
    for market in city.markets.values():
        entry = asdict(market)
        entry.pop("known")
        entry["opening_hours"] = {"open": entry.pop("opens"), "close": entry.pop("closes")}
        markets.append(entry)
    terminals = [asdict(t) | {"key": t.key.hex()} for t in city.terminals]
    return {"version": 1, "markets": markets, "terminals": terminals}


def save_city(city: City, path: Path) -> None:
    """Write the city with its keys, readable by the owner only (0600) from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(orjson.dumps(city_document(city), option=orjson.OPT_INDENT_2))
    os.chmod(tmp, 0o600)  # O_CREAT's mode is ignored when the file already existed
    os.replace(tmp, path)


async def enrich(city: City, client: httpx.AsyncClient) -> City:
    """Fill in market details (capacity, kind, hours) the city file lacks from the registry."""
    markets = dict(city.markets)
    for market_id, market in city.markets.items():
        if market.known:
            continue
        response = await client.get(f"/markets/{market_id}")
        if response.status_code != 200:
            raise CityError(f"GET /markets/{market_id}: {response.status_code} {response.text}")
        markets[market_id] = _market(response.json())
    return replace(city, markets=markets)


# -- provisioning ----------------------------------------------------------------------------

# 芝罘区, Yantai: the administrative division code in the demo's credit codes and licences.
DIVISION = "370602"
# What stalls sell, and the cold cabinets each kind of stall runs: (name, categories, chilled,
# frozen). Every stall also has a payment terminal.
STALL_KINDS: tuple[tuple[str, tuple[str, ...], int, int], ...] = (
    ("鲜肉", ("pork", "beef"), 1, 0),
    ("海鲜", ("seafood",), 1, 1),
    ("冻品", ("frozen_food",), 0, 2),
    ("熟食", ("deli",), 1, 0),
    ("蔬菜", ("vegetables",), 0, 0),
    ("豆制品", ("tofu",), 1, 0),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭"
GIVEN = ("建国", "海燕", "志强", "秀英", "伟", "芳", "磊", "静", "军", "丽")


ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body: str) -> str:
    """An 8-digit organisation code with its GB 11714 check character (0-9 or X)."""
    check = 11 - sum(int(d) * w for d, w in zip(body, ORGANISATION_WEIGHTS, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(division: str = DIVISION) -> str:
    """A fresh, well-formed 统一社会信用代码: registered by 工商 (9) as 个体工商户 (2), the
    division, an organisation code, and the GB 32100-2015 check character."""
    first17 = f"92{division}{organisation_code(f'{secrets.randbelow(10**8):08d}')}"
    return first17 + credit_code_check_char(first17)


def food_licence(division: str = DIVISION) -> str:
    """食品经营许可证编号: JY, the principal category (1: retail), the division, a serial."""
    return f"JY1{division}{secrets.randbelow(10**7):07d}"


@dataclass(frozen=True)
class CityPlan:
    markets: int = 2
    stalls: int = 4
    district: str = "sim"
    district_name: str = "模拟区"
    interval_s: int = DEFAULT_INTERVAL_S
    name_prefix: str = "模拟"


def _person(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


async def _post(client: httpx.AsyncClient, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    if response.status_code not in (200, 201):
        raise CityError(f"POST {path}: {response.status_code} {response.text}")
    result: dict[str, Any] = response.json()
    return result


async def provision(client: httpx.AsyncClient, plan: CityPlan) -> City:
    """Create a district (or reuse it), markets with task forces, licensed merchants in stalls,
    and their terminals, through the registry API; the client carries an admin or clerk token."""
    response = await client.post(
        "/districts", json={"code": plan.district, "name": plan.district_name}
    )
    if response.status_code not in (201, 409):  # 409: the district exists, which is fine
        raise CityError(f"POST /districts: {response.status_code} {response.text}")
    valid_until = (datetime.now(SHANGHAI).date() + timedelta(days=365)).isoformat()
    markets: dict[str, Market] = {}
    terminals: list[Terminal] = []

    async def terminal(body: dict[str, Any]) -> None:
        created = await _post(client, "/terminals", body | {"interval_s": plan.interval_s})
        terminals.append(_terminal(created, "POST /terminals"))

    for m in range(plan.markets):
        kind = "wholesale" if m % 3 == 2 else "farmers"
        label = "果蔬批发市场" if kind == "wholesale" else "农贸市场"
        name = f"{plan.name_prefix}{m + 1}号{label}"
        market = await _post(
            client,
            "/markets",
            {
                "name": name,
                "district": plan.district,
                "kind": kind,
                "operator": f"{name}管理有限公司",
                "address": f"{plan.district_name}模拟路{m + 1}号",
                "capacity": 2000 if kind == "wholesale" else 600 + 100 * (m % 5),
                "opening_hours": {"open": "06:00", "close": "19:00"},
            },
        )
        await client.put(
            f"/markets/{market['id']}/task-force",
            json={"leader": _person(3 * m), "members": [_person(3 * m + 1), _person(3 * m + 2)]},
        )
        markets[market["id"]] = _market(market)
        await terminal({"kind": "footfall", "market_id": market["id"]})
        for s in range(plan.stalls):
            what, categories, chilled, frozen = STALL_KINDS[s % len(STALL_KINDS)]
            stall_no = f"A-{s + 1:02d}"
            merchant = await _post(
                client,
                "/merchants",
                {
                    "name": f"{_person(7 * m + s)}{what}",
                    "market_id": market["id"],
                    "stall_no": stall_no,
                    "credit_code": credit_code(),
                    "food_licence": food_licence(),
                    "licence_valid_until": valid_until,
                    "categories": list(categories),
                },
            )
            placement = {"market_id": market["id"], "merchant_id": merchant["id"]}
            for profile, count in (("chilled", chilled), ("frozen", frozen)):
                for _ in range(count):
                    await terminal({"kind": "cold_chain", "profile": profile, **placement})
            await terminal({"kind": "payment", **placement})
    return City(markets, terminals)

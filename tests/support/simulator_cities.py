"""Small synthetic cities for the simulator's unit tests: keys made up, markets fully known."""

from __future__ import annotations

import hashlib

from simulator.city import City, Market, Terminal


def key(terminal_id: str) -> bytes:
    return hashlib.sha256(f"test-key|{terminal_id}".encode()).digest()


def city(markets: int = 2, capacity: int = 800) -> City:
    """Per market: a gate counter, a chilled fridge, a frozen freezer and two payment terminals."""
    market_map: dict[str, Market] = {}
    terminals: list[Terminal] = []
    for m in range(markets):
        market_id = f"mkt_{m}"
        market_map[market_id] = Market(market_id, f"市场{m}", "farmers", capacity)
        terminals += [
            Terminal(f"trm_gate_{m}", "footfall", market_id, key(f"trm_gate_{m}")),
            Terminal(
                f"trm_fridge_{m}",
                "cold_chain",
                market_id,
                key(f"trm_fridge_{m}"),
                merchant_id=f"mer_{m}_1",
                stall_no="A-01",
                profile="chilled",
            ),
            Terminal(
                f"trm_freezer_{m}",
                "cold_chain",
                market_id,
                key(f"trm_freezer_{m}"),
                merchant_id=f"mer_{m}_2",
                stall_no="A-02",
                profile="frozen",
            ),
            Terminal(
                f"trm_till_{m}_1",
                "payment",
                market_id,
                key(f"trm_till_{m}_1"),
                merchant_id=f"mer_{m}_1",
                stall_no="A-01",
            ),
            Terminal(
                f"trm_till_{m}_2",
                "payment",
                market_id,
                key(f"trm_till_{m}_2"),
                merchant_id=f"mer_{m}_2",
                stall_no="A-02",
            ),
        ]
    return City(market_map, terminals)

"""examples/consumer.py: imports only `contracts`, aiokafka and the standard library, and turns
records into lines — risks printed once, other types skipped, broken events reported."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import orjson
import pytest

from tests.unit.cli.samples import broken_risk_event, risk_event

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "consumer.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_needs_nothing_of_the_services() -> None:
    tree = ast.parse(EXAMPLE.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"contracts", "aiokafka"}


def test_a_risk_is_printed_once_with_what_it_is_about(example: ModuleType) -> None:
    printer = example.RiskPrinter()
    value = risk_event(terminal_id="trm_9", risk_id="risk_9")
    line = printer.handle(value)
    assert line is not None
    for part in ("raised", "major", "cold_chain_excursion", "trm_9", "mer_1", "peak 14.5"):
        assert part in line
    assert printer.handle(value) is None  # redelivered: same CloudEvent id


def test_other_types_are_skipped_and_broken_events_reported(example: ModuleType) -> None:
    printer = example.RiskPrinter()
    unknown = orjson.dumps({"type": "telemetry.risk.teleported", "id": "x"})
    assert printer.handle(unknown) is None
    line = printer.handle(broken_risk_event())
    assert line is not None and line.startswith("skipped an event that breaks its contract")
    assert line.endswith("data.severity: Field required")
    assert (printer.handle(b"{oops") or "").startswith("skipped a record that is not JSON")
    newer = orjson.loads(risk_event(risk_id="risk_newer"))
    newer["data"]["weather"] = "hot"  # a new optional field the local models do not know yet
    line = printer.handle(orjson.dumps(newer))
    assert line is not None and "newer than these contracts (data.weather)" in line


def test_its_command_line_parses(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, bool]] = []

    async def consume(bootstrap: str, group: str, from_beginning: bool) -> None:
        seen.append((bootstrap, group, from_beginning))

    monkeypatch.setattr(example, "consume", consume)
    assert example.main(["--bootstrap", "k:9092", "--group", "dept", "--from-beginning"]) == 0
    assert seen == [("k:9092", "dept", True)]

"""examples/consumer.py: imports only `contracts`, aiokafka, the standard library and the one
Kafka login helper (services/runtime/kafka_login.py), and turns records into lines — risks printed
once, other types skipped, broken events reported."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from tests.support.cli_records import broken_risk_event, risk_event

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "consumer.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_needs_nothing_of_the_services_but_their_kafka_login() -> None:
    tree = ast.parse(EXAMPLE.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
    third_party = {
        name
        for name in imported
        if name.split(".")[0] not in set(sys.stdlib_module_names) | {"__future__"}
    }
    assert {name.split(".")[0] for name in third_party} == {"contracts", "aiokafka", "services"}
    assert {n for n in third_party if n.startswith("services")} == {"services.runtime.kafka_login"}


def test_loading_it_starts_nothing_of_the_services_runtime() -> None:
    """The login helper is light: no FastStream, Postgres driver or web framework comes with it."""
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('example', {str(EXAMPLE)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "heavy = {'faststream', 'asyncpg', 'fastapi', 'services.runtime.messaging'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


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
    seen: list[tuple[Any, ...]] = []

    async def consume(
        bootstrap: str,
        group: str,
        from_beginning: bool,
        login: dict[str, Any],
        max_records: int | None,
    ) -> None:
        seen.append((bootstrap, group, from_beginning, login, max_records))

    monkeypatch.setattr(example, "consume", consume)
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    assert example.main(["--bootstrap", "k:9092", "--group", "dept", "--from-beginning"]) == 0
    assert seen == [("k:9092", "dept", True, {}, None)]


def test_it_logs_in_as_the_integrator_from_the_services_variables(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    async def consume(
        bootstrap: str, group: str, from_beginning: bool, login: dict[str, Any], _max: Any
    ) -> None:
        seen.append(login)

    monkeypatch.setattr(example, "consume", consume)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("INTEGRATOR_KAFKA_SASL_USERNAME", "integrator")
    monkeypatch.setenv("INTEGRATOR_KAFKA_SASL_PASSWORD", "pw")
    assert example.main(["--group", "integrator-x", "--max", "3"]) == 0
    assert seen == [
        {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "integrator",
            "sasl_plain_password": "pw",
        }
    ]


def test_sasl_without_a_login_fails_at_once_naming_the_variables(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    for name in ("INTEGRATOR_KAFKA_SASL_USERNAME", "INTEGRATOR_KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert example.main(["--group", "integrator-x"]) == 2
    err = capsys.readouterr().err
    assert "INTEGRATOR_KAFKA_SASL_USERNAME" in err and "INTEGRATOR_KAFKA_SASL_PASSWORD" in err

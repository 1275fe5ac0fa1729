"""`sentinel dlq` refuses what it cannot do before it touches Kafka: conflicting or missing
selections, an unreadable corrections file, a discard without a reason, and a secured broker
without the admin's login (exit status 2, one line naming what is wrong)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentinel_cli.__main__ import app

DLQ = "telemetry.risks.v1.dlq"
# Nothing listens here: a command that got as far as Kafka would say it is not reachable.
NOWHERE = "127.0.0.1:9"


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    env_file = tmp_path / "env"
    env_file.write_text("")
    result = CliRunner().invoke(
        app, ["--env-file", str(env_file), "dlq", *args, "--bootstrap", NOWHERE], env=env
    )
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("republish", DLQ, "--offset", "1", "--all"), "give --offset or --all, not both"),
        (("republish", DLQ), "say which: --offset N"),
        (("republish", DLQ, "--file", "/nonexistent/fix.jsonl"), "--file /nonexistent/fix.jsonl"),
        (("discard", DLQ, "--offset", "1", "--reason", "  "), "--reason: say why"),
        (("discard", DLQ, "--reason", "a test"), "--offset: give the offsets to discard"),
    ],
)
def test_a_wrong_command_is_refused_before_kafka(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    code, err = run(tmp_path, *args)
    assert code == 2
    assert says in err and "not reachable" not in err


def test_an_unreadable_correction_is_refused_naming_its_line(tmp_path: Path) -> None:
    fix = tmp_path / "fix.jsonl"
    fix.write_text('{"topic": "telemetry.risks.v1.dlq", "offset": 0, "value": {}}\n{oops\n')
    code, err = run(tmp_path, "republish", DLQ, "--file", str(fix))
    assert code == 2 and "line 2: <line>: not JSON" in err


def test_a_discard_needs_a_reason(tmp_path: Path) -> None:
    code, err = run(tmp_path, "discard", DLQ, "--offset", "1")
    assert code == 2 and "--reason" in err


def test_a_secured_broker_needs_the_admins_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ADMIN_KAFKA_SASL_USERNAME", "ADMIN_KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    code, err = run(tmp_path, "list", env={"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    assert code == 2
    assert "ADMIN_KAFKA_SASL_USERNAME" in err and "ADMIN_KAFKA_SASL_PASSWORD" in err


@pytest.mark.parametrize("command", ["list", "republish", "discard"])
def test_a_topic_that_is_no_dead_letter_topic_is_refused(tmp_path: Path, command: str) -> None:
    extra = {"list": (), "republish": ("--all",), "discard": ("--offset", "0", "--reason", "r")}
    code, err = run(tmp_path, command, "telemetry.risks.v1", *extra[command])
    assert code == 2 and "'telemetry.risks.v1' is not a dead-letter topic" in err

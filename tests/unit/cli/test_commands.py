"""The `sentinel` commands that need no broker: topics, token, simulate, argument checks, config."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from contracts import topics
from sentinel_cli import config
from sentinel_cli.__main__ import app
from sentinel_cli.kafka import CliError, parse_start, parse_time

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No stack settings leak in from the developer's shell or a running `make demo`."""
    for name in [
        *config.DEFAULTS,
        "OIDC_ISSUER",
        "SENTINEL_DEMO_PASSWORD",
        "SENTINEL_OPS_CLIENT_SECRET",
        "SENTINEL_ADMIN_TOKEN",
        "SENTINEL_ENV_FILE",
    ]:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "none.env"
    monkeypatch.setenv("SENTINEL_ENV_FILE", str(empty))
    return empty


def test_topics_lists_every_catalog_topic_as_a_table_and_as_json() -> None:
    table = runner.invoke(app, ["topics"])
    assert table.exit_code == 0, table.output
    for topic in topics.TOPICS:
        assert topic.name in table.output
        for event_type in topic.event_types:
            assert event_type in table.output
    assert ".dlq" not in table.output

    listed = orjson.loads(runner.invoke(app, ["topics", "--json"]).stdout)
    assert [t["name"] for t in listed] == [t.name for t in topics.TOPICS]
    risks = next(t for t in listed if t["name"] == "telemetry.risks.v1")
    assert risks["key"] == "terminal id"
    assert risks["partitions"] == 3 and risks["cleanup_policy"] == "delete"
    assert risks["retention"] == "forever"
    assert risks["producers"] == ["telemetry"] and "inspection" in risks["consumers"]
    readings = next(t for t in listed if t["name"] == "telemetry.readings.v1")
    assert readings["retention"] == "7 days"

    with_dlq = orjson.loads(runner.invoke(app, ["topics", "--json", "--dlq"]).stdout)
    assert {t["name"] for t in with_dlq} == {t.name for t in topics.all_topics()}


def test_token_says_what_is_missing_before_it_asks_the_provider(tmp_path: Path) -> None:
    no_issuer = runner.invoke(app, ["token", "--user", "inspector.zhifu"])
    assert no_issuer.exit_code == 2 and "OIDC_ISSUER" in no_issuer.stderr
    env = tmp_path / "env"
    env.write_text("export OIDC_ISSUER='http://127.0.0.1:1/realms/sentinel'\n")
    for args, reason in [
        (["token"], "say who"),
        (["token", "--role", "inspector"], "--role needs --district"),
        (["token", "--user", "inspector.zhifu"], "SENTINEL_DEMO_PASSWORD"),
        (["token", "--client", "sentinel-ops"], "SENTINEL_OPS_CLIENT_SECRET"),
    ]:
        result = runner.invoke(app, ["--env-file", str(env), *args])
        assert result.exit_code == 2, result.output
        assert reason in result.stderr


def test_token_reports_an_unreachable_provider(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text(
        "export OIDC_ISSUER='http://127.0.0.1:1/realms/sentinel'\n"
        "export SENTINEL_DEMO_PASSWORD='pw'\n"
    )
    result = runner.invoke(app, ["--env-file", str(env), "token", "--role", "admin"])
    assert result.exit_code == 2 and "sentinel:" in result.stderr


def test_simulate_passes_its_arguments_to_the_simulator() -> None:
    result = runner.invoke(app, ["simulate", "run", "--help"])
    assert result.exit_code == 0
    assert "usage:" in result.stdout and "--fault" in result.stdout
    assert runner.invoke(app, ["simulate", "--help"]).exit_code == 0
    assert runner.invoke(app, ["simulate", "no-such-command"]).exit_code == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_status_shows_every_service_down_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in config.SERVICES:
        monkeypatch.setenv(f"{name.upper()}_URL", f"http://127.0.0.1:{_closed_port()}")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1  # documented: 1 when any service is not ready
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for name in config.SERVICES:
        assert name in result.stdout
    assert result.stdout.count("down") >= len(config.SERVICES)
    assert "0/6 services ready" in result.stdout

    as_json = orjson.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert [s["state"] for s in as_json["services"]] == ["down"] * 6
    assert as_json["all_ready"] is False
    assert as_json["readings_per_s"] is None and as_json["grades"] is None


@pytest.mark.parametrize(
    "args",
    [
        ["tail", "telemetry.risks.v1", "--from", "yesterday"],
        ["tail", "telemetry.risks.v1", "--from", "2026-05-01T08:00:00"],  # no offset
        ["replay", "telemetry.risks.v1", "--from", "-1h"],  # neither --out nor --handler
        ["replay", "telemetry.risks.v1", "--from", "-1h", "--out", "x", "--handler", "m:f"],
        ["replay", "telemetry.risks.v1", "--from", "-1h", "--to", "-2h", "--out", "x"],
        ["replay", "telemetry.risks.v1", "--from", "-1h", "--handler", "no_such_module:f"],
        ["replay", "telemetry.risks.v1", "--from", "-1h", "--handler", "nocolon"],
    ],
)
def test_bad_arguments_are_one_line_errors(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("sentinel: ")
    assert "Traceback" not in result.output


def test_times_are_rfc3339_with_an_offset_or_relative() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_time("2026-05-01T08:00:00Z") == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    assert parse_time("2026-05-01T16:00:00+08:00") == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    assert parse_time("-90m", now=now) == datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    assert parse_time("-1d", now=now) == datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    assert parse_start("beginning") == "beginning" and parse_start("END") == "end"
    with pytest.raises(CliError, match="needs an offset"):
        parse_time("2026-05-01T08:00:00")


def test_settings_come_from_the_environment_before_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = tmp_path / "env"
    env.write_text(
        "export KAFKA_BOOTSTRAP_SERVERS=file:9092\n"
        "export REGISTRY_URL='http://file:8101'\n"
        'export SENTINEL_ADMIN_TOKEN="tok en"\n'
        "DATABASE_URL=postgresql://x@127.0.0.1:15432/postgres\n"
    )
    monkeypatch.setenv("REGISTRY_URL", "http://env:8101/")
    conf = config.load(env)
    assert conf.bootstrap == "file:9092"
    assert conf.url("registry") == "http://env:8101"
    assert conf.url("credit") == "http://127.0.0.1:8105"  # the local stack's default
    assert conf.admin_token == "tok en"
    assert conf.with_bootstrap("flag:9092").bootstrap == "flag:9092"
    assert conf.missing_from_environ()["DATABASE_URL"].endswith("/postgres")
    assert "REGISTRY_URL" not in conf.missing_from_environ()


KAFKA_LOGIN_VARS = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "INTEGRATOR_KAFKA_SASL_USERNAME",
    "INTEGRATOR_KAFKA_SASL_PASSWORD",
)


@pytest.fixture
def no_kafka_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """A login the environment running the tests may carry is unset: only the env file gives
    one."""
    for name in KAFKA_LOGIN_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_kafka_login")
def test_the_kafka_login_comes_from_the_env_file_and_the_environment_before_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = tmp_path / "env"
    env.write_text(
        "export KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n"
        "export KAFKA_SASL_MECHANISM=SCRAM-SHA-512\n"
        "export TERMINALS_KAFKA_SASL_USERNAME=terminals\n"
        "export INTEGRATOR_KAFKA_SASL_USERNAME=integrator\n"
        "export INTEGRATOR_KAFKA_SASL_PASSWORD=from-file\n"
    )
    assert config.load(env).kafka_login() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "integrator",
        "sasl_plain_password": "from-file",
    }
    monkeypatch.setenv("INTEGRATOR_KAFKA_SASL_PASSWORD", "from-env")
    assert config.load(env).kafka_login()["sasl_plain_password"] == "from-env"
    assert config.load(tmp_path / "none.env").kafka_login() == {}  # PLAINTEXT


@pytest.mark.usefixtures("no_kafka_login")
def test_tail_on_sasl_without_a_login_says_which_variables_to_set(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("export KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n")
    result = runner.invoke(app, ["--env-file", str(env), "tail", "telemetry.risks.v1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("sentinel: Kafka login: ")
    assert "INTEGRATOR_KAFKA_SASL_USERNAME" in result.stderr
    assert "Traceback" not in result.output

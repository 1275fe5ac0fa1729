"""The operator's and integrators' tools on the secured broker (issue 18, point 6): the simulator
(as `terminals`), `sentinel tail` and examples/consumer.py (as `integrator`) log in with SCRAM
from the services' variables (services/runtime/kafka_login.py) and do their work; without a
login, or with a wrong password, each stops within seconds with an error naming the
authentication problem — never a hang. Each tool runs as its own process, as a user runs it."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from contracts.topics import TELEMETRY_READINGS, TELEMETRY_RISKS
from simulator.city import save_city
from tests.integration.security.conftest import SecureStack
from tests.support.cli_records import risk_event
from tests.support.simulator_cities import city

ROOT = Path(__file__).resolve().parents[3]
# A refusal must come well within this: START_TIMEOUT_S (20 s) plus one probe of the broker.
PROMPT_S = 60.0


def _kafka_login_var(name: str) -> bool:
    return name.startswith("KAFKA_") or "_KAFKA_" in name


def tool_env(stack: SecureStack, login: dict[str, str] | None = None) -> dict[str, str]:
    """A user's shell: the broker's address, and `login` (the secure stack's env file's Kafka
    variables, or some of them) — nothing of the developer's own Kafka settings or .run/env."""
    env = {k: v for k, v in os.environ.items() if not _kafka_login_var(k)}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "PYTHONPATH": str(ROOT),
        "SENTINEL_ENV_FILE": str(ROOT / ".run" / "no-such-env-file"),
    }
    return env | (login or {})


def full_login(stack: SecureStack) -> dict[str, str]:
    return {k: v for k, v in stack.env.items() if _kafka_login_var(k)}


async def run(
    args: list[str], env: dict[str, str], timeout_s: float = PROMPT_S
) -> tuple[int, str, str, float]:
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{args[:2]} still running after {timeout_s}s: a hang") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode(), time.monotonic() - began


def simulate(path: Path, bootstrap: str, count: int) -> list[str]:
    return [
        "-m", "simulator", "run", "--city", str(path), "--kafka", bootstrap,
        "--start", "-2h", "--seed", "7", "--count", str(count),
    ]  # fmt: skip


def tail(since: datetime, timeout_s: float = 8.0) -> list[str]:
    return [
        "-m", "sentinel_cli", "tail", TELEMETRY_READINGS.name,
        "--from", since.isoformat().replace("+00:00", "Z"), "--json",
        "--timeout", str(timeout_s),
    ]  # fmt: skip


def consumer(group: str) -> list[str]:
    return [str(ROOT / "examples" / "consumer.py"), "--group", group, "--from-beginning"]


async def test_with_their_logins_the_simulator_sends_and_the_cli_and_the_example_read(
    secure_stack: SecureStack, tmp_path: Path
) -> None:
    env = tool_env(secure_stack, full_login(secure_stack))
    suffix = uuid.uuid4().hex[:8]
    plain_town = city(markets=1)
    town = dataclasses.replace(  # ids of this run's own, on the shared topic
        plain_town,
        terminals=[dataclasses.replace(t, id=f"{t.id}_{suffix}") for t in plain_town.terminals],
    )
    path = tmp_path / "city.json"
    save_city(town, path)
    ids = {t.id for t in town.terminals}
    count = 3 * len(ids)

    # The simulator writes readings as `terminals` ...
    since = datetime.now(UTC) - timedelta(seconds=5)
    code, _, err, _ = await run(simulate(path, secure_stack.bootstrap, count), env)
    assert code == 0, err[-3000:]

    # ... and `sentinel tail` reads them as `integrator`.
    code, out, err, _ = await run(tail(since), env)
    assert code == 0, err[-3000:]
    mine = [line for line in map(orjson.loads, out.splitlines()) if line["key"] in ids]
    assert len(mine) == count
    assert all(line["topic"] == TELEMETRY_READINGS.name for line in mine)

    # examples/consumer.py, in an `integrator-` group, prints a risk telemetry published.
    risk_id = f"risk_{suffix}"
    producer = AIOKafkaProducer(
        bootstrap_servers=secure_stack.bootstrap, acks="all", **secure_stack.login("telemetry")
    )
    await asyncio.wait_for(producer.start(), 30)
    try:
        await producer.send_and_wait(
            TELEMETRY_RISKS.name,
            risk_event(f"trm_{suffix}", risk_id),
            key=f"trm_{suffix}".encode(),
        )
    finally:
        await producer.stop()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *consumer(f"integrator-tools-{suffix}"),
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:

        async def line_about_the_risk() -> str:
            assert proc.stdout is not None
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    assert proc.stderr is not None
                    problem = (await proc.stderr.read()).decode()
                    raise AssertionError(f"the consumer ended: {problem[-3000:]}")
                if risk_id in raw.decode():
                    return raw.decode()

        line = await asyncio.wait_for(line_about_the_risk(), PROMPT_S)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
    assert "raised" in line and f"terminal trm_{suffix}" in line


async def test_without_a_login_each_tool_stops_at_once_naming_the_authentication_problem(
    secure_stack: SecureStack, tmp_path: Path
) -> None:
    path = tmp_path / "city.json"
    save_city(city(markets=1), path)
    since = datetime.now(UTC)
    group = f"integrator-tools-{uuid.uuid4().hex[:8]}"
    bootstrap = secure_stack.bootstrap
    plain = tool_env(secure_stack)  # no KAFKA_SECURITY_PROTOCOL: PLAINTEXT
    sasl_only = tool_env(secure_stack, {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    wrong = tool_env(
        secure_stack,
        full_login(secure_stack)
        | {"TERMINALS_KAFKA_SASL_PASSWORD": "wrong", "INTEGRATOR_KAFKA_SASL_PASSWORD": "wrong"},
    )
    simulator, cli, example = simulate(path, bootstrap, 5), tail(since), consumer(group)
    required, failed = "authentication required", "authentication failed"
    # (tool, situation): (command, environment, expected exit status, what its error must say)
    cases = {
        ("simulator", "plaintext"): (simulator, plain, 1, required),
        ("cli", "plaintext"): (cli, plain, 2, required),
        ("consumer", "plaintext"): (example, plain, 2, required),
        ("simulator", "no password"): (simulator, sasl_only, 1, "TERMINALS_KAFKA_SASL_PASSWORD"),
        ("cli", "no password"): (cli, sasl_only, 2, "INTEGRATOR_KAFKA_SASL_PASSWORD"),
        ("consumer", "no password"): (example, sasl_only, 2, "INTEGRATOR_KAFKA_SASL_PASSWORD"),
        ("simulator", "wrong password"): (simulator, wrong, 1, failed),
        ("cli", "wrong password"): (cli, wrong, 2, failed),
        ("consumer", "wrong password"): (example, wrong, 2, failed),
    }
    results = await asyncio.gather(*(run(command, env) for command, env, _, _ in cases.values()))
    problems = []
    for (name, (_, _, status, needle)), (code, _, err, took) in zip(
        cases.items(), results, strict=True
    ):
        if code != status or needle not in err or "Traceback" in err:
            problems.append(f"{name}: exit {code} after {took:.1f}s: {err[-1500:]}")
    assert not problems, "\n".join(problems)

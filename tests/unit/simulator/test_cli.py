"""`python -m simulator` as a process: reproducible output, faults on command while it runs live,
and a clean exit 0 on SIGTERM with everything flushed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from contracts.telemetry import verify
from simulator.city import save_city
from tests.support.simulator_cities import city, key

ROOT = Path(__file__).resolve().parents[3]
DEADLINE = 30.0


@pytest.fixture
def city_file(tmp_path: Path) -> Path:
    path = tmp_path / "city.json"
    save_city(city(), path)
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    return env | {"PYTHONPATH": str(ROOT)}


async def simulator(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        *args,
        cwd=ROOT,
        env=_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finished(*args: str) -> tuple[int, bytes, bytes]:
    proc = await simulator(*args)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=DEADLINE)
    assert proc.returncode is not None
    return proc.returncode, out, err


async def log_line(stream: asyncio.StreamReader, msg: str) -> dict[str, Any]:
    """The next JSON log line with this `msg`, within the deadline."""
    while True:
        line = await asyncio.wait_for(stream.readline(), timeout=DEADLINE)
        assert line, f"stream ended before a {msg!r} line"
        entry: dict[str, Any] = json.loads(line)
        if entry.get("msg") == msg:
            return entry


async def test_a_seeded_replay_gives_the_same_readings_every_time(city_file: Path) -> None:
    args = ("run", "--city", str(city_file), "--stdout", "--replay-day", "2026-05-04")
    first = await finished(*args, "--seed", "3", "--count", "200", "--fault", "forge@08:00")
    again = await finished(*args, "--seed", "3", "--count", "200", "--fault", "forge@08:00")
    other = await finished(*args, "--seed", "4", "--count", "200", "--fault", "forge@08:00")
    assert first[0] == again[0] == other[0] == 0, first[2].decode()
    lines = first[1].splitlines()
    assert len(lines) == 200 and first[1] == again[1] != other[1]
    readings = [orjson.loads(line) for line in lines]
    assert readings[0]["ts"] == "2026-05-03T16:00:00Z" or readings[0]["ts"] > "2026-05-03T16"
    assert all(verify(r, key(r["terminal_id"])) for r in readings)
    logged = [json.loads(line) for line in first[2].splitlines()]
    assert logged[0]["msg"] == "started" and logged[0]["seed"] == 3
    assert logged[-1]["msg"] == "finished" and logged[-1]["sent"] == 200


async def test_live_run_takes_faults_on_command_and_exits_cleanly_on_sigterm(
    city_file: Path,
) -> None:
    proc = await simulator(
        "run", "--city", str(city_file), "--stdout", "--interval", "1", "--control",
        "127.0.0.1:0", "--summary-every", "1s",
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        started = await log_line(proc.stderr, "started")
        assert started["speed"] == 1.0 and started["end"] is None
        first = orjson.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=DEADLINE))
        assert verify(first, key(first["terminal_id"]))

        code, out, err = await finished(
            "fault", "door_open:terminal=trm_fridge_0,duration=1h", "--control", started["control"]
        )
        assert code == 0, err.decode()
        [fault] = json.loads(out)
        assert (fault["kind"], fault["terminals"]) == ("door_open", ["trm_fridge_0"])
        fault_started = await log_line(proc.stderr, "fault_started")
        assert fault_started["fault"]["id"] == fault["id"]
        await log_line(proc.stderr, "summary")

        listed = json.loads((await finished("fault", "--list", "--control", started["control"]))[1])
        assert [f["state"] for f in listed] == ["active"]
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=DEADLINE)
    assert proc.returncode == 0
    # Flushed: every line written is a whole, signed reading.
    for line in rest.splitlines():
        reading = orjson.loads(line)
        assert verify(reading, key(reading["terminal_id"]))


async def test_unusable_input_fails_with_a_reason(city_file: Path, tmp_path: Path) -> None:
    code, _, err = await finished("run", "--city", str(tmp_path / "missing.json"), "--stdout")
    assert code == 2 and b"cannot read city file" in err
    code, _, err = await finished("run", "--city", str(city_file), "--fault", "melt_down")
    assert code == 2 and b"unknown fault" in err
    code, _, err = await finished(
        "run", "--city", str(city_file), "--fault", "crowd_surge:market=x"
    )
    assert code == 2 and b"no footfall terminal in market x" in err
    code, _, err = await finished("run", "--city", str(city_file), "--count", "1")
    assert code != 0 and b"KAFKA_BOOTSTRAP_SERVERS" in err


def free_address() -> str:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


async def test_a_fault_command_with_no_simulator_running_says_so_without_a_traceback() -> None:
    # README's `make fault` after the demo's simulator stopped: the user needs to hear that no
    # simulator answers there, not an httpx traceback.
    address = free_address()
    for args in (("door_open:terminal=auto",), ("--list",), ("--stop", "f1")):
        code, out, err = await finished("fault", *args, "--control", address)
        assert code == 1 and out == b"", err.decode()
        assert f"no simulator answers at http://{address}".encode() in err, err.decode()
        assert b"Traceback" not in err, err.decode()


async def test_a_fault_command_without_a_spec_says_how_to_give_one() -> None:
    # `make fault crowd_surge` runs `simulator fault ''` (the spec goes in SPEC=, not as a make
    # target): the user needs to hear how to write it, not that the body held no spec.
    address = free_address()
    code, out, err = await finished("fault", "", "--control", address)
    assert code != 0 and out == b"", err.decode()
    assert b"make fault SPEC=crowd_surge" in err and b"no simulator answers" not in err, err

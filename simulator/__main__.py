"""`python -m simulator` (console script `sentinel-simulator`): provision a city, run its
terminals, inject faults on command. `python -m simulator --help` and `... run --help` explain."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import secrets
import signal
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson

from services.runtime.kafka_login import TERMINALS, KafkaLoginError, client_options
from services.runtime.logging import JsonFormatter
from simulator.city import City, CityError, CityPlan, enrich, load_city, provision, save_city
from simulator.clock import DAY, Pacer, day_start, iso, live_start, parse_duration, parse_instant
from simulator.control import Controller, ControlServer
from simulator.engine import Engine
from simulator.faults import DESCRIPTIONS, FaultError, FaultSpec, parse_spec, read_schedule
from simulator.runner import RunLimits, Runner, log_fault
from simulator.sink import READINGS_TOPIC, HttpIngestSink, KafkaSink, Sink, StdoutSink

log = logging.getLogger("simulator")
DEFAULT_CONTROL = "127.0.0.1:8190"
DEFAULT_CITY = Path(".run/sim/city.json")

EPILOG = "faults:\n" + "\n".join(f"  {k:<13} {v}" for k, v in DESCRIPTIONS.items())


def configure_logging(level: str) -> None:
    # Logs go to stderr: stdout may be carrying readings (--stdout).
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("simulator"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _speed(text: str) -> float:
    if text in ("max", "inf"):
        return math.inf
    return _positive_float(text)


def _fault(text: str) -> FaultSpec:
    try:
        return parse_spec(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="sentinel-simulator",
        description="Terminal simulator: cold-chain sensors, gate counters and payment terminals "
        "of a city's markets, sending signed readings to telemetry.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        parents=[common],
        help="run the terminals of a city",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    city = run.add_argument_group("city")
    city.add_argument(
        "--city",
        type=Path,
        default=DEFAULT_CITY,
        help="city file (provision writes one; the demo's .run/demo/terminals.json works too)",
    )
    city.add_argument(
        "--registry-url",
        default=os.environ.get("REGISTRY_URL"),
        help="to look up market capacity and hours the city file lacks (default $REGISTRY_URL)",
    )
    city.add_argument(
        "--token",
        default=os.environ.get("SENTINEL_ADMIN_TOKEN"),
        help="bearer token for the registry (default $SENTINEL_ADMIN_TOKEN, else one for the "
        "sentinel-simulator client from $OIDC_ISSUER with $SENTINEL_SIMULATOR_CLIENT_SECRET)",
    )
    timing = run.add_argument_group("time")
    timing.add_argument(
        "--seed", type=int, help="same seed + same start = same readings (default: random, logged)"
    )
    timing.add_argument(
        "--interval",
        type=_positive_int,
        metavar="SECONDS",
        help="reporting interval of every terminal (default: each terminal's, 60)",
    )
    timing.add_argument(
        "--start",
        help="event time to start at: RFC 3339, a date, or -2h; "
        "runs fast (--speed max) unless --speed is given; never ahead of now",
    )
    timing.add_argument(
        "--replay-day",
        metavar="YYYY-MM-DD",
        help="a whole day (Shanghai) of history, as fast as possible",
    )
    timing.add_argument("--duration", type=_duration, help="event time to cover, e.g. 2h")
    timing.add_argument(
        "--speed",
        type=_speed,
        help="event seconds per wall second, or max "
        "(default 1 live, max with --start/--replay-day)",
    )
    timing.add_argument(
        "--rate",
        type=_positive_float,
        metavar="N",
        help="N readings per second overall (benchmarks); live, event time "
        "moves with the wall clock and each terminal reports every "
        "terminals/N seconds",
    )
    timing.add_argument("--count", type=_positive_int, help="stop after N messages")
    out = run.add_argument_group(
        "output (default: Kafka at $KAFKA_BOOTSTRAP_SERVERS; on a SASL/SCRAM broker, "
        "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT with TERMINALS_KAFKA_SASL_USERNAME/_PASSWORD)"
    )
    out.add_argument(
        "--kafka",
        nargs="?",
        const=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        metavar="BOOTSTRAP",
        help="produce to Kafka (default $KAFKA_BOOTSTRAP_SERVERS)",
    )
    out.add_argument("--topic", default=READINGS_TOPIC)
    out.add_argument(
        "--ingest-url",
        nargs="?",
        const=os.environ.get("TELEMETRY_URL", ""),
        metavar="URL",
        help="POST JSON arrays to URL/ingest (default $TELEMETRY_URL)",
    )
    out.add_argument("--stdout", action="store_true", help="JSON lines on stdout")
    faults = run.add_argument_group("faults")
    faults.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="SPEC",
        help="KIND[@WHEN][:terminal=ID|auto|all,market=ID,duration=30m,mode=M], "
        "e.g. door_open@+5m:terminal=auto (repeatable)",
    )
    faults.add_argument("--faults", type=Path, metavar="FILE", help="a schedule: one SPEC a line")
    faults.add_argument(
        "--control",
        nargs="?",
        const=DEFAULT_CONTROL,
        metavar="HOST:PORT",
        help=f"serve the fault control endpoint (default {DEFAULT_CONTROL})",
    )
    run.add_argument(
        "--summary-every",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="wall time between summary log lines (default 60s)",
    )

    prov = sub.add_parser(
        "provision", parents=[common], help="create a city through the registry API"
    )
    prov.add_argument("--registry-url", default=os.environ.get("REGISTRY_URL"))
    prov.add_argument("--token", default=os.environ.get("SENTINEL_ADMIN_TOKEN"))
    prov.add_argument("--markets", type=_positive_int, default=2)
    prov.add_argument("--stalls", type=_positive_int, default=4, help="per market")
    prov.add_argument("--district", default="sim", help="district code (created if missing)")
    prov.add_argument("--district-name", default="模拟区")
    prov.add_argument("--interval", type=_positive_int, default=60, metavar="SECONDS")
    prov.add_argument("--out", type=Path, default=DEFAULT_CITY)

    fault = sub.add_parser(
        "fault",
        parents=[common],
        help="inject faults into a running simulator",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fault.add_argument("specs", nargs="*", metavar="SPEC")
    fault.add_argument("--stop", metavar="FAULT_ID", help="stop a fault instead")
    fault.add_argument("--list", action="store_true", help="list the run's faults")
    fault.add_argument(
        "--control", default=os.environ.get("SIMULATOR_CONTROL_URL", f"http://{DEFAULT_CONTROL}")
    )
    return top


# -- run -------------------------------------------------------------------------------------


def _sinks(args: argparse.Namespace) -> list[Sink]:
    sinks: list[Sink] = []
    kafka = args.kafka
    if kafka is None and args.ingest_url is None and not args.stdout:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if kafka is not None:
        if not kafka:
            raise SystemExit(
                "no Kafka bootstrap: pass --kafka HOST:PORT or set "
                "KAFKA_BOOTSTRAP_SERVERS (or use --ingest-url / --stdout)"
            )
        try:
            login = client_options(TERMINALS)
        except KafkaLoginError as exc:
            raise SystemExit(f"Kafka login: {exc}") from None
        sinks.append(KafkaSink(kafka, args.topic, login))
    if args.ingest_url is not None:
        if not args.ingest_url:
            raise SystemExit("no ingest URL: pass --ingest-url URL or set TELEMETRY_URL")
        sinks.append(HttpIngestSink(args.ingest_url))
    if args.stdout:
        sinks.append(StdoutSink())
    return sinks


def plan_time(args: argparse.Namespace, now: float, terminals: int) -> dict[str, Any]:
    """Start, end, pacing and schedule step of a run from its options."""
    if args.replay_day and args.start:
        raise SystemExit("--replay-day and --start exclude each other")
    live = not (args.replay_day or args.start)
    if args.replay_day:
        try:
            day = date.fromisoformat(args.replay_day)
        except ValueError:
            raise SystemExit(f"--replay-day {args.replay_day!r}: use YYYY-MM-DD") from None
        start = day_start(day)
        duration = args.duration if args.duration is not None else DAY
    elif args.start:
        # Whole seconds, as live runs: `-1h` from a fractional now would give fractional stamps.
        start = float(math.floor(parse_instant(args.start, now)))
        duration = args.duration
    else:
        start, duration = live_start(now), args.duration
    speed = args.speed if args.speed is not None else (1.0 if live else math.inf)
    step = terminals / args.rate if args.rate and live else None
    return {
        "start": start,
        "end": start + duration if duration is not None else None,
        "pacer": Pacer(event0=start, wall0=now, speed=speed, rate=args.rate),
        "step_s": step,
        "live": live,
        "speed": speed,
    }


SIMULATOR_CLIENT = "sentinel-simulator"


async def _registry_token(args: argparse.Namespace) -> str | None:
    """--token, else a token of the simulator's own machine client (client credentials)."""
    if args.token:
        return str(args.token)
    issuer = os.environ.get("OIDC_ISSUER")
    secret = os.environ.get("SENTINEL_SIMULATOR_CLIENT_SECRET")
    if not (issuer and secret):
        return None
    from sentinel_cli.identity import IdentityError, client_grant

    try:
        return await asyncio.to_thread(client_grant, issuer, SIMULATOR_CLIENT, secret)
    except (IdentityError, httpx.HTTPError) as exc:
        log.warning("identity_unavailable", extra={"error": str(exc)})
        return None


async def _load(args: argparse.Namespace) -> City:
    city = load_city(args.city)
    if all(m.known for m in city.markets.values()):
        return city
    token = await _registry_token(args) if args.registry_url else None
    if args.registry_url and token:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with httpx.AsyncClient(
                base_url=args.registry_url, headers=headers, timeout=10
            ) as client:
                return await enrich(city, client)
        except (httpx.HTTPError, CityError) as exc:
            log.warning("registry_unavailable", extra={"error": str(exc)})
    log.warning(
        "market_details_assumed",
        extra={
            "markets": [m for m, v in city.markets.items() if not v.known],
            "assumed": {"capacity": 800, "opening_hours": "06:00-19:00", "kind": "farmers"},
        },
    )
    return city


def _control_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def run_command(args: argparse.Namespace) -> int:
    try:
        city = await _load(args)
        specs = list(args.fault)
        if args.faults:
            specs += read_schedule(args.faults.read_text().splitlines())
    except (CityError, FaultError, OSError) as exc:
        log.error("cannot_start", extra={"error": str(exc)})
        return 2
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    when = plan_time(args, time.time(), len(city.terminals))
    engine = Engine(
        city,
        seed=seed,
        start=when["start"],
        interval_s=args.interval,
        step_s=when["step_s"],
        on_fault=log_fault,
    )
    try:
        for spec in specs:
            engine.schedule(spec)
    except FaultError as exc:
        log.error("cannot_start", extra={"error": str(exc)})
        return 2
    sinks = _sinks(args)
    runner = Runner(
        engine,
        sinks,
        when["pacer"],
        RunLimits(count=args.count, end=when["end"], summary_every_s=args.summary_every),
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, runner.stop)
    control = None
    if args.control:
        host, port = _control_address(args.control)
        control = ControlServer(host, port, Controller(engine, runner.status).handle)
        await control.start()
    log.info(
        "started",
        extra={
            "seed": seed,
            "city": city.summary(),
            "start": iso(when["start"]),
            "end": iso(when["end"]) if when["end"] else None,
            "speed": "max" if math.isinf(when["speed"]) else when["speed"],
            "rate": args.rate,
            "count": args.count,
            "sinks": [s.name for s in sinks],
            "faults": engine.faults.describe(),
            "control": control.url if control else None,
        },
    )
    try:
        await runner.run()
    except Exception as exc:  # a sink that cannot deliver: say so, and fail the process
        log.error("failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return 1
    finally:
        if control is not None:
            await control.close()
    return 0


# -- provision -------------------------------------------------------------------------------


async def provision_command(args: argparse.Namespace) -> int:
    if not args.registry_url or not args.token:
        raise SystemExit(
            "provision needs --registry-url and --token "
            "(or REGISTRY_URL and SENTINEL_ADMIN_TOKEN, e.g. `source .run/env`)"
        )
    plan = CityPlan(
        markets=args.markets,
        stalls=args.stalls,
        district=args.district,
        district_name=args.district_name,
        interval_s=args.interval,
    )
    headers = {"Authorization": f"Bearer {args.token}"}
    try:
        async with httpx.AsyncClient(
            base_url=args.registry_url, headers=headers, timeout=30
        ) as client:
            city = await provision(client, plan)
    except (CityError, httpx.HTTPError) as exc:
        log.error("provision_failed", extra={"error": str(exc)})
        return 1
    save_city(city, args.out)
    print(orjson.dumps({"city": str(args.out), **city.summary()}).decode())
    return 0


# -- fault -----------------------------------------------------------------------------------


def fault_command(args: argparse.Namespace) -> int:
    base = args.control if "://" in args.control else f"http://{args.control}"
    # `make fault` passes its SPEC as one argument, empty when none was given (as with `make
    # fault crowd_surge`, which takes the spec for a make target).
    specs = [spec for spec in args.specs if spec.strip()]
    if not (args.list or args.stop or specs):
        raise SystemExit(
            "give fault SPECs, --stop FAULT_ID or --list (with make: make fault SPEC=crowd_surge; "
            "`python -m simulator fault --help` lists the faults)"
        )
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            if args.list:
                response = client.get("/faults")
            elif args.stop:
                response = client.delete(f"/faults/{args.stop}")
            else:
                response = client.post("/faults", content="\n".join(specs).encode())
    except httpx.TransportError as exc:
        # README's `make fault` is typed long after `make demo`: a stopped simulator must read
        # as one, not as an httpx traceback.
        print(
            f"no simulator answers at {base} ({exc}): is it running? `make status` shows the "
            "demo's; a run of your own takes faults with `--control`",
            file=sys.stderr,
        )
        return 1
    print(orjson.dumps(response.json(), option=orjson.OPT_INDENT_2).decode())
    return 0 if response.is_success else 1


def _joined(argv: Sequence[str]) -> list[str]:
    """`--start -2h` as `--start=-2h`: argparse would take `-2h` for an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--start" and arg.startswith("-"):
            out[-1] = f"--start={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(_joined(sys.argv[1:] if argv is None else argv))
    configure_logging(args.log_level)
    if args.command == "run":
        return asyncio.run(run_command(args))
    if args.command == "provision":
        return asyncio.run(provision_command(args))
    return fault_command(args)


if __name__ == "__main__":
    raise SystemExit(main())

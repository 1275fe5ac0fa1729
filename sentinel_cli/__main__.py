"""`sentinel` (or `python -m sentinel_cli`): the command line of Market Sentinel.

Settings come from the environment, else from `.run/env` (written by `make up` / `make demo`):
`KAFKA_BOOTSTRAP_SERVERS`, the services' `*_URL`, `OIDC_ISSUER`, `SENTINEL_DEMO_PASSWORD`,
`SENTINEL_ADMIN_TOKEN`; on a broker that requires SASL/SCRAM, `KAFKA_SECURITY_PROTOCOL` and the
integrator's `INTEGRATOR_KAFKA_SASL_USERNAME` / `_PASSWORD` (as `.run/secure/env` sets them);
`sentinel dlq` logs in as `admin` instead (`ADMIN_KAFKA_SASL_USERNAME` / `_PASSWORD`).
Exit status: 0 success; 1 `status` found a service not ready; 2 a usage or connection problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import orjson
import typer
from rich.live import Live

from contracts import topics as catalog
from sentinel_cli import config as cfg
from sentinel_cli import dead_letters, kafka, render, status
from sentinel_cli import dlq as dead_letter_kafka
from sentinel_cli.events import Decoded
from sentinel_cli.kafka import CliError
from services.runtime.kafka_login import KafkaLoginError

WATCH_PERIOD_S = 2.0

app = typer.Typer(
    name="sentinel",
    help="Market Sentinel: topics, tail, replay, dlq, token, simulate, status.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EnvFile = Annotated[
    Path | None,
    typer.Option("--env-file", help="read settings from this file instead of .run/env"),
]
Bootstrap = Annotated[
    str | None,
    typer.Option("--bootstrap", help="Kafka bootstrap servers [env KAFKA_BOOTSTRAP_SERVERS]"),
]


@app.callback()
def settings(ctx: typer.Context, env_file: EnvFile = None) -> None:
    """Market Sentinel's command line: the topic catalog, tailing and replaying topics with
    every event validated against its contract, tokens, the terminal simulator, and a
    one-screen status of the running stack."""
    ctx.obj = env_file


def _config(ctx: typer.Context, bootstrap: str | None = None) -> cfg.Config:
    env_file: Path | None = ctx.obj
    return cfg.load(env_file).with_bootstrap(bootstrap)


def _login(conf: cfg.Config) -> dict[str, Any]:
    try:
        return conf.kafka_login()
    except KafkaLoginError as exc:
        raise CliError(f"Kafka login: {exc}") from None


def _fail(message: str) -> typer.Exit:
    render.console(stderr=True).print(
        f"sentinel: {message}", style="red", markup=False, soft_wrap=True
    )
    return typer.Exit(2)


@app.command("topics")
def topics_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    dlq: Annotated[bool, typer.Option("--dlq", help="include the <topic>.dlq topics")] = False,
) -> None:
    """The topic catalog: key, partitions, cleanup, retention, producers, consumers, types."""
    listed = catalog.all_topics() if dlq else catalog.TOPICS
    if as_json:
        typer.echo(orjson.dumps([render.topic_json(t) for t in listed], option=orjson.OPT_INDENT_2))
        return
    render.console().print(render.topics_table(listed))


@app.command("tail")
def tail_command(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="e.g. telemetry.risks.v1")],
    start: Annotated[
        str,
        typer.Option(
            "--from",
            help="beginning | end | an RFC 3339 time (2026-05-01T08:00:00Z) | -10m, -2h, -1d",
        ),
    ] = "end",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of pretty")] = False,
    max_records: Annotated[
        int | None, typer.Option("--max", min=1, help="stop after this many records")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.0, help="stop after this many seconds with no record"),
    ] = None,
    bootstrap: Bootstrap = None,
) -> None:
    """Print a topic's records, decoded and validated against their contract."""
    conf = _config(ctx, bootstrap)
    out = render.console()
    err = render.console(stderr=True)

    def emit(decoded: Decoded) -> None:
        if as_json:
            sys.stdout.write(render.json_line(decoded) + "\n")
            sys.stdout.flush()
        else:
            render.print_event(out, decoded)

    def ready() -> None:
        if not as_json:
            err.print(
                f"tailing {topic} from {start} on {conf.bootstrap} (Ctrl-C stops)",
                style="dim",
                markup=False,
            )

    try:
        position = kafka.parse_start(start)
        login = _login(conf)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                kafka.tail(
                    conf.bootstrap,
                    topic,
                    position,
                    emit,
                    max_records=max_records,
                    idle_timeout_s=timeout,
                    on_ready=ready,
                    login=login,
                )
            )
    except CliError as exc:
        raise _fail(str(exc)) from None


def load_handler(spec: str) -> Callable[[Decoded], Any]:
    """`package.module:function`, importable from the current directory too."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CliError(f"--handler wants module:function, not {spec!r}")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise CliError(f"cannot load handler {spec!r}: {exc}") from exc
    if not callable(target):
        raise CliError(f"handler {spec!r} is not callable")
    handler: Callable[[Decoded], Any] = target
    return handler


@app.command("replay")
def replay_command(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="e.g. inspection.events.v1")],
    since: Annotated[
        str, typer.Option("--from", help="RFC 3339 time (inclusive), or -10m, -2h, -1d")
    ],
    until: Annotated[
        str | None, typer.Option("--to", help="RFC 3339 time (exclusive); default: the end")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write JSON lines (as tail --json) to this file")
    ] = None,
    handler: Annotated[
        str | None,
        typer.Option("--handler", help="module:function called with each record (may be async)"),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="give up after this many idle seconds")
    ] = 30.0,
    bootstrap: Bootstrap = None,
) -> None:
    """Re-read a topic between two times into a JSON-lines file or a Python callable.

    The handler gets a record with `topic`, `partition`, `offset`, `timestamp_ms`, `key`,
    `headers`, `value` (the event as JSON), `type`, `valid` and `error`."""
    conf = _config(ctx, bootstrap)
    err = render.console(stderr=True)
    try:
        if (out is None) == (handler is None):
            raise CliError("give exactly one of --out FILE or --handler module:function")
        start = kafka.parse_time(since)
        end = kafka.parse_time(until) if until else None
        if end is not None and end <= start:
            raise CliError("--to must be after --from")
        with contextlib.ExitStack() as stack:
            if out is not None:
                sink = stack.enter_context(out.open("w", encoding="utf-8"))

                async def handle(decoded: Decoded) -> None:
                    sink.write(render.json_line(decoded) + "\n")

            else:
                assert handler is not None
                function = load_handler(handler)

                async def handle(decoded: Decoded) -> None:
                    result = function(decoded)
                    if inspect.isawaitable(result):
                        await result

            login = _login(conf)
            began = time.monotonic()
            result = asyncio.run(
                kafka.replay(
                    conf.bootstrap,
                    topic,
                    start,
                    end,
                    handle,
                    idle_timeout_s=timeout,
                    login=login,
                )
            )
    except CliError as exc:
        raise _fail(str(exc)) from None
    where = str(out) if out is not None else handler
    err.print(
        f"replayed {result.records} records of {topic} ({result.invalid} invalid) into {where}"
        f" in {time.monotonic() - began:.1f}s",
        markup=False,
    )


@app.command("token")
def token_command(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--user", help="a person to sign in as, e.g. inspector.zhifu")
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="with --district: that demo person (role.district)")
    ] = None,
    district: Annotated[str | None, typer.Option("--district", help="a district code")] = None,
    client: Annotated[
        str | None, typer.Option("--client", help="a machine client, e.g. sentinel-ops")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option("--password", help="the person's password [env SENTINEL_DEMO_PASSWORD]"),
    ] = None,
) -> None:
    """Print an access token from the identity provider: a person's (--user, or --role and
    --district for a demo person) through the direct-grant client, or a machine client's
    (--client) through client credentials. Tokens live 5 minutes (machine clients' as set)."""
    from sentinel_cli import identity

    config = _config(ctx)
    oidc = config.get("OIDC_ISSUER")
    if not oidc:
        raise _fail("OIDC_ISSUER is not set and no .run/env has it (make up first)")
    try:
        if client:
            secret = config.get(identity.client_secret_name(client))
            if not secret:
                raise _fail(f"{identity.client_secret_name(client)} is not set (make up first)")
            typer.echo(identity.client_grant(oidc, client, secret))
            return
        if not user:
            if not role:
                raise _fail("say who: --user NAME, --role ROLE --district CODE, or --client ID")
            if role != "admin" and not district:
                raise _fail("--role needs --district (or use --user)")
            user = identity.demo_username(role, district or "*")
        secret = password or config.get("SENTINEL_DEMO_PASSWORD")
        if not secret:
            raise _fail("no password: --password, or SENTINEL_DEMO_PASSWORD in .run/env")
        typer.echo(identity.password_grant(oidc, user, secret)["access_token"])
    except (identity.IdentityError, httpx.HTTPError) as exc:
        raise _fail(str(exc)) from None


@app.command(
    "simulate",
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "help_option_names": [],
    },
    add_help_option=False,
)
def simulate_command(ctx: typer.Context) -> None:
    """The terminal simulator (python -m simulator): sentinel simulate run --help."""
    from simulator.__main__ import main as simulator_main

    for key, value in _config(ctx).missing_from_environ().items():
        os.environ[key] = value
    raise typer.Exit(simulator_main(list(ctx.args)))


@app.command("status")
def status_command(
    ctx: typer.Context,
    watch: Annotated[bool, typer.Option("--watch", help="refresh until Ctrl-C")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="seconds between metric scrapes")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="the snapshot as JSON")] = False,
) -> None:
    """One screen: service health, readings/s, open risks, tasks, complaints, grades.

    Exit status 0 when every service is ready, 1 when any is down or not ready."""
    conf = _config(ctx)
    console = render.console()
    if watch:
        with (
            contextlib.suppress(KeyboardInterrupt),
            Live(console=console, auto_refresh=False) as live,
        ):
            while True:
                began = time.monotonic()
                live.update(status.render(asyncio.run(status.gather(conf, interval))), refresh=True)
                # At most one refresh every two seconds, even when nothing answers at all.
                time.sleep(max(0.0, WATCH_PERIOD_S - (time.monotonic() - began)))
        return
    snapshot = asyncio.run(status.gather(conf, interval))
    if as_json:
        typer.echo(orjson.dumps(snapshot.to_json(), option=orjson.OPT_INDENT_2))
    else:
        console.print(status.render(snapshot))
    raise typer.Exit(0 if snapshot.all_ready else 1)


dlq_app = typer.Typer(
    help="Dead letters: list the unresolved ones, republish them to their source topic, or "
    "discard them. Resolved means behind the watermark the consumer group `sentinel-dlq` "
    "commits on each <topic>.dlq, which every operator and the services' gauge read. On a "
    "secured broker this logs in as `admin` (ADMIN_KAFKA_SASL_USERNAME / _PASSWORD).",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")

Offsets = Annotated[
    list[int] | None,
    typer.Option("--offset", min=0, help="a record's offset on the .dlq topic (repeatable)"),
]


def _dlq_run(
    ctx: typer.Context, bootstrap: str | None, topic: str | None, work: Callable[..., Any]
) -> Any:
    """Run `work(consumer, conf, login)` with the CLI's settings and an `admin` login; a
    CliError or a refused login ends the command with its reason (exit status 2)."""
    conf = _config(ctx, bootstrap)
    try:
        if topic is not None:
            dead_letter_kafka.check_topic(topic)
        try:
            login = conf.kafka_login(dead_letter_kafka.ADMIN)
        except KafkaLoginError as exc:
            raise CliError(f"Kafka login: {exc}") from None

        async def run() -> Any:
            async with dead_letter_kafka.resolver(conf.bootstrap, login) as consumer:
                return await work(consumer, conf, login)

        return asyncio.run(run())
    except (CliError, dead_letters.SelectionError, dead_letters.CorrectionError) as exc:
        raise _fail(str(exc)) from None


@dlq_app.command("list")
def dlq_list_command(
    ctx: typer.Context,
    topic: Annotated[
        str | None, typer.Argument(help="a dead-letter topic, e.g. complaints.intake.v1.dlq")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
    bootstrap: Bootstrap = None,
) -> None:
    """The unresolved dead letters of one .dlq topic, or of every one: one line per source
    record (a record parked twice is listed once, with both offsets)."""

    async def work(consumer: Any, conf: cfg.Config, login: Any) -> list[Any]:
        names = [topic] if topic else await dead_letter_kafka.dead_letter_topics(consumer)
        return [p for name in names for p in await dead_letter_kafka.read(consumer, name)]

    partitions = _dlq_run(ctx, bootstrap, topic, work)
    shown = [(p, dead_letters.entries(p.records, p.mark)) for p in partitions]
    if as_json:
        for _, listed in shown:
            for entry in listed:
                typer.echo(orjson.dumps(entry.to_json()))
        return
    out = render.console()
    for part, listed in shown:
        if part.unresolved or topic:
            out.print(render.dead_letters_table(part, listed))
    if not any(p.unresolved for p in partitions):
        out.print("no unresolved dead letters", markup=False)


def _one_partition(partitions: list[Any]) -> Any:
    if len(partitions) != 1:
        raise CliError("a dead-letter topic has one partition (contracts/topics.py)")
    return partitions[0]


@dlq_app.command("republish")
def dlq_republish_command(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="the dead-letter topic, e.g. x.v1.dlq")],
    offsets: Offsets = None,
    every: Annotated[
        bool, typer.Option("--all", help="every unresolved record of the topic")
    ] = False,
    corrected: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="corrected values as JSON lines (as `tail --json` / `replay --out` write "
            "them; matched by offset); without --offset or --all: the offsets in the file",
        ),
    ] = None,
    bootstrap: Bootstrap = None,
) -> None:
    """Send parked records (or their corrections) back to their source topic with their key
    and original headers, wait for Kafka's acknowledgement, then mark them resolved.

    A corrected value is checked against its contract first: if one fails, nothing is sent or
    marked. Records are resolved in offset order: an earlier unresolved record must be given
    too (or discarded), or use --all."""
    try:
        corrections: dict[int, dead_letters.Correction] = {}
        if corrected is not None:
            try:
                lines = corrected.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CliError(f"--file {corrected}: {exc.strerror or exc}") from None
            corrections = dead_letters.read_corrections(lines, topic)
        if every and offsets:
            raise CliError("give --offset or --all, not both")
        if not (every or offsets or corrections):
            raise CliError("say which: --offset N (repeatable), --all, or --file with offsets")
    except (CliError, dead_letters.CorrectionError) as exc:
        raise _fail(str(exc)) from None
    skipped: tuple[int, ...] = ()

    async def work(consumer: Any, conf: cfg.Config, login: Any) -> tuple[Any, Any]:
        nonlocal corrections, skipped
        letters = _one_partition(await dead_letter_kafka.read(consumer, topic))
        corrections, skipped = dead_letters.still_open(corrections, letters.mark)
        chosen: list[int] | Literal["all"] = "all" if every else list(offsets or corrections)
        if not chosen:
            raise CliError(f"--file: every record in it is already resolved ({len(skipped)})")
        plan = dead_letters.plan(letters.records, letters.mark, chosen, sending=True)
        by_offset = {r.offset: r for r in letters.records}
        for offset, correction in sorted(corrections.items()):
            if offset not in {r.offset for r in plan.send}:
                raise CliError(
                    f"--file: offset {offset} is not among the records republished now "
                    f"({', '.join(str(r.offset) for r in plan.send) or 'none'})"
                )
            dead_letters.check_correction(by_offset[offset], correction)
        await dead_letter_kafka.republish(conf.bootstrap, login, plan.send, corrections)
        note = f"republished {','.join(str(r.offset) for r in plan.send)} by sentinel dlq"
        now = await dead_letter_kafka.resolve(consumer, letters, plan.watermark, note)
        return plan, now

    plan, now = _dlq_run(ctx, bootstrap, topic, work)
    err = render.console(stderr=True)
    if skipped:
        err.print(
            f"left out {len(skipped)} line(s) of --file already resolved "
            f"(offsets {', '.join(map(str, skipped))})",
            markup=False,
            soft_wrap=True,
        )
    for record in plan.send:
        how = "corrected" if record.offset in corrections else "as parked"
        err.print(
            f"republished {topic}@{record.offset} ({how}) to {record.source_topic}",
            markup=False,
            soft_wrap=True,
        )
    if plan.copies:
        err.print(
            f"passed copies {', '.join(map(str, plan.copies))} (the same source records)",
            markup=False,
        )
    err.print(f"resolved up to offset {now} of {topic}", markup=False)


@dlq_app.command("discard")
def dlq_discard_command(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="the dead-letter topic, e.g. x.v1.dlq")],
    reason: Annotated[
        str, typer.Option("--reason", help="why they need no republishing (kept and printed)")
    ],
    offsets: Offsets = None,
    bootstrap: Bootstrap = None,
) -> None:
    """Mark parked records resolved without republishing them, with a reason."""
    if not reason.strip():
        raise _fail("--reason: say why these records need no republishing")
    if not offsets:
        raise _fail("--offset: give the offsets to discard (repeatable)")

    async def work(consumer: Any, conf: cfg.Config, login: Any) -> tuple[Any, Any]:
        letters = _one_partition(await dead_letter_kafka.read(consumer, topic))
        plan = dead_letters.plan(letters.records, letters.mark, offsets, sending=False)
        note = f"discarded {','.join(map(str, plan.resolved))}: {reason.strip()}"
        return plan, await dead_letter_kafka.resolve(consumer, letters, plan.watermark, note)

    plan, now = _dlq_run(ctx, bootstrap, topic, work)
    render.console(stderr=True).print(
        f"discarded {topic} offsets {', '.join(map(str, plan.resolved))} "
        f"(reason: {reason.strip()}); resolved up to offset {now}",
        markup=False,
        soft_wrap=True,
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()

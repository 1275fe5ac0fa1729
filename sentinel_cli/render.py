"""How the CLI prints: rich tables and event views for people, JSON for programs.

Everything that comes from a topic is printed as `Text` or `JSON`, never as console markup, so
a `[` in a merchant's name cannot restyle (or break) the output.
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Console
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from contracts.topics import FOREVER, Topic
from sentinel_cli.events import TOMBSTONE, Decoded

RAW_PREVIEW = 2000


def retention(topic: Topic) -> str:
    ms = topic.retention_ms
    if ms == FOREVER:
        return "forever"
    days, rest = divmod(ms, 86_400_000)
    return f"{days} days" if not rest else f"{ms / 3_600_000:g} h"


def topic_json(topic: Topic) -> dict[str, Any]:
    return {
        "name": topic.name,
        "key": topic.key,
        "partitions": topic.partitions,
        "cleanup_policy": topic.cleanup_policy,
        "retention_ms": topic.retention_ms,
        "retention": retention(topic),
        "producers": list(topic.producers),
        "consumers": list(topic.consumers),
        "event_types": list(topic.event_types),
        "description": topic.description,
    }


def topics_table(catalog: tuple[Topic, ...]) -> Table:
    table = Table(title="Market Sentinel topics (contracts/topics.py)")
    table.add_column("topic", style="bold cyan", no_wrap=True)
    table.add_column("key")
    table.add_column("part.", justify="right")
    table.add_column("cleanup")
    table.add_column("retention")
    table.add_column("producers → consumers")
    table.add_column("event types", no_wrap=True)
    for t in catalog:
        types = "\n".join(t.event_types) or (
            "as the source topic" if t.name.endswith(".dlq") else "readings (no envelope)"
        )
        flow = f"{', '.join(t.producers) or '—'} → {', '.join(t.consumers) or '—'}"
        table.add_row(t.name, t.key, str(t.partitions), t.cleanup_policy, retention(t), flow, types)
    return table


def console(*, stderr: bool = False) -> Console:
    """A console; when not writing to a terminal, wide enough that tables do not fold."""
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else 200
    return Console(stderr=stderr, width=width, highlight=False)


def json_line(decoded: Decoded) -> str:
    return orjson.dumps(decoded.to_json()).decode()


def _header(d: Decoded) -> Text:
    when = d.time
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if when else "—"
    head = Text()
    head.append(stamp, style="dim")
    head.append(f"  {d.topic}[{d.partition}]@{d.offset}", style="cyan")
    head.append(f"  key={d.key}" if d.key is not None else "  key=∅", style="magenta")
    head.append(f"  {d.type or '?'}", style="bold")
    head.append("  ✓ valid" if d.valid else "  ✗ invalid", style="green" if d.valid else "bold red")
    return head


def print_event(console: Console, d: Decoded) -> None:
    console.print(_header(d), soft_wrap=True)
    if d.error:
        console.print(Text(f"  error: {d.error}", style="red"), soft_wrap=True)
    dlq_error = d.headers.get("dlq.error")
    if dlq_error:
        console.print(Text(f"  dead-lettered: {dlq_error}", style="yellow"), soft_wrap=True)
    if d.type == TOMBSTONE:
        console.print(Text("  (tombstone: the key was deleted)", style="dim"))
        return
    value = d.value
    if isinstance(value, dict) and "specversion" in value:
        meta = Text("  ")
        for name in ("subject", "source", "id", "correlationid", "causationid"):
            if value.get(name) is not None:
                meta.append(f"{name}=", style="dim")
                meta.append(f"{value[name]}  ")
        meta.rstrip()
        console.print(meta, soft_wrap=True)
        value = value.get("data")
    if isinstance(value, dict | list) and d.valid and d.type != "telemetry.reading":
        highlighted = JSON.from_data(value, indent=2).text
        console.print(Text("\n").join(Text("  ") + line for line in highlighted.split("\n")))
    else:
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        if len(text) > RAW_PREVIEW:
            text = text[:RAW_PREVIEW] + f"… ({len(text)} characters)"
        console.print(Text("  " + text), soft_wrap=True)


def dead_letters_table(letters: Any, listed: list[Any]) -> Table:
    """`sentinel dlq list`: one row per unresolved source record (sentinel_cli/dead_letters.py)."""
    table = Table(
        title=f"{letters.topic}: {letters.unresolved} unresolved "
        f"(resolved up to offset {letters.mark}, end {letters.end})"
    )
    table.add_column("offset", justify="right", no_wrap=True)
    table.add_column("source", style="cyan")
    table.add_column("group")
    table.add_column("error")
    table.add_column("failed at", no_wrap=True)
    table.add_column("key", style="magenta")
    table.add_column("event")
    for entry in listed:
        row = entry.to_json()
        copies = len(row["copies"]) - 1
        offsets = (
            f"{row['offset']} (+{copies} {'copy' if copies == 1 else 'copies'})"
            if copies
            else str(row["offset"])
        )
        if row["resolved_as"] is not None:
            offsets += f"\n(copy of resolved {row['resolved_as']})"
        source = f"{row['source_topic']}[{row['source_partition']}]@{row['source_offset']}"
        error = f"{row['error_type'] or '?'}: {row['error'] or ''}".strip()
        event = " ".join(str(row[k]) for k in ("type", "id") if row[k]) or "unreadable"
        table.add_row(
            *(
                Text(str(cell) if cell is not None else "—")
                for cell in (
                    offsets,
                    source,
                    ", ".join(row["consumer_groups"]) or None,
                    error,
                    row["failed_at"],
                    row["key"],
                    event,
                )
            )
        )
    return table

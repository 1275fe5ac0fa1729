"""The integrators' README must not drift from the catalog and the schemas it describes."""

from __future__ import annotations

import json
import re

from contracts import generate
from contracts.events import spec
from contracts.topics import DAY_MS, FOREVER, TOPICS, dead_letter_topics
from tests.support.schema_subset import validate

README = (generate.CONTRACTS_DIR / "README.md").read_text(encoding="utf-8")


def _topic_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    section = README.split("## Topics", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def _retention(ms: int) -> str:
    return "forever" if ms == FOREVER else f"{ms // DAY_MS} days"


def test_topics_table_matches_the_catalog() -> None:
    rows = _topic_rows()
    assert set(rows) == {t.name for t in TOPICS} | {"<topic>.dlq"}
    for topic in TOPICS:
        key, partitions, cleanup, retention, producers, consumers, types = rows[topic.name]
        assert key == topic.key, topic.name
        assert int(partitions) == topic.partitions, topic.name
        assert cleanup == topic.cleanup_policy, topic.name
        assert retention == _retention(topic.retention_ms), topic.name
        assert producers == ", ".join(topic.producers), topic.name
        assert consumers == (", ".join(topic.consumers) or "—"), topic.name
        assert re.findall(r"`([^`]+)`", types) == list(topic.event_types), topic.name
    dlq = dead_letter_topics()[0]
    assert rows["<topic>.dlq"][1:4] == [str(dlq.partitions), "delete", _retention(dlq.retention_ms)]


def test_example_event_validates_against_its_published_schema() -> None:
    example = json.loads(README.split("```json\n", 1)[1].split("```", 1)[0])
    schema = generate.envelope_schema(spec(example["type"]))
    assert validate(example, schema) == []

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from contracts import compat, generate, topics
from contracts.events import EVENTS, EventSpec
from contracts.registry import MarketUpserted


def test_committed_contract_files_are_current() -> None:
    problems = generate.check()
    assert problems == [], (
        "contracts/ is stale; run `make contracts` and commit the result:\n" + "\n".join(problems)
    )


@pytest.fixture
def contracts_copy(tmp_path: Path) -> Path:
    generate.write(tmp_path)
    return tmp_path


def test_check_names_stale_missing_and_extra_files(contracts_copy: Path) -> None:
    assert generate.check(contracts_copy) == []
    stale = contracts_copy / "schemas" / EVENTS[0].schema_file
    stale.write_text(stale.read_text() + " ", encoding="utf-8")
    (contracts_copy / "asyncapi.yaml").unlink()
    (contracts_copy / "schemas" / "nobody.v1.json").write_text("{}\n", encoding="utf-8")

    assert generate.check(contracts_copy) == [
        f"stale: schemas/{EVENTS[0].schema_file}",
        "missing: asyncapi.yaml",
        "extra: schemas/nobody.v1.json (no event declares it)",
    ]


def test_check_command_exits_1_and_writes_nothing(
    contracts_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = contracts_copy / "schemas" / EVENTS[0].schema_file
    target.write_text("{}\n", encoding="utf-8")

    assert generate.main(["--check", "--dir", str(contracts_copy)]) == 1

    assert target.read_text() == "{}\n"
    err = capsys.readouterr().err
    assert "make contracts" in err
    assert f"stale: schemas/{EVENTS[0].schema_file}" in err


def test_generate_repairs_and_removes_extra_files(contracts_copy: Path) -> None:
    (contracts_copy / "schemas" / EVENTS[0].schema_file).write_text("{}\n", encoding="utf-8")
    (contracts_copy / "schemas" / "nobody.v1.json").write_text("{}\n", encoding="utf-8")

    assert generate.main(["--dir", str(contracts_copy)]) == 0

    assert generate.check(contracts_copy) == []
    assert not (contracts_copy / "schemas" / "nobody.v1.json").exists()
    assert generate.main(["--check", "--dir", str(contracts_copy)]) == 0


def test_output_is_deterministic_and_canonical() -> None:
    first, second = generate.render(), generate.render()
    assert first == second
    for spec in EVENTS:
        text = first[f"schemas/{spec.schema_file}"]
        assert text.endswith("}\n")
        assert (
            text
            == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.schema_file)
def test_schema_is_the_whole_envelope_pinned_to_its_event(spec: EventSpec) -> None:
    schema = generate.envelope_schema(spec)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == spec.schema_id
    props = schema["properties"]
    assert props["type"]["const"] == spec.type
    assert props["dataschema"]["const"] == spec.schema_id
    assert props["specversion"]["const"] == "1.0"
    assert {"specversion", "id", "source", "type", "time", "data"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    data = props["data"]
    assert data == {"$ref": f"#/$defs/{spec.data.__name__}"}
    assert schema["$defs"][spec.data.__name__]["title"] == spec.data.__name__


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.schema_file)
def test_schemas_use_only_keywords_the_compat_checker_understands(spec: EventSpec) -> None:
    # A keyword the checker ignores is a change it could wave through as compatible.
    assert compat.unknown_keywords(generate.envelope_schema(spec)) == set()


def _ref_nodes(node: object) -> list[dict[str, object]]:
    if isinstance(node, list):
        return [r for item in node for r in _ref_nodes(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if "$ref" in node else []
    return own + [r for value in node.values() for r in _ref_nodes(value)]


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.schema_file)
def test_refs_have_only_annotations_beside_them(spec: EventSpec) -> None:
    # draft-07 tools (the AsyncAPI default) ignore a $ref's siblings; 2020-12 applies them.
    # With only annotations there, both read the schema the same way.
    for node in _ref_nodes(generate.envelope_schema(spec)):
        assert set(node) - {"$ref"} <= compat.ANNOTATIONS, node


def test_an_event_on_the_wrong_topic_is_refused() -> None:
    wrong = EventSpec("registry.market.upserted", 1, MarketUpserted, topics.CREDIT_SCORES)
    with pytest.raises(
        generate.ContractError, match=re.escape("not among credit.scores.v1's event types")
    ):
        generate.render([wrong])


def test_an_event_declared_twice_is_refused() -> None:
    with pytest.raises(generate.ContractError, match="declared twice"):
        generate.render([EVENTS[0], EVENTS[0]])


def test_a_topic_that_differs_from_the_catalog_is_refused() -> None:
    impostor = topics.Topic(
        name="registry.markets.v1",
        key="market id",
        description="",
        producers=("registry",),
        consumers=(),
        event_types=("registry.market.upserted",),
    )
    with pytest.raises(generate.ContractError, match="not in the catalog"):
        generate.render([EventSpec("registry.market.upserted", 1, MarketUpserted, impostor)])


def test_every_event_spec_is_picked_up_including_new_versions() -> None:
    v2 = EventSpec("registry.market.upserted", 2, MarketUpserted, topics.REGISTRY_MARKETS)
    files = generate.render([*EVENTS, v2])

    assert set(files) == {f"schemas/{s.schema_file}" for s in (*EVENTS, v2)} | {"asyncapi.yaml"}
    assert json.loads(files["schemas/registry.market.upserted.v2.json"])["$id"] == v2.schema_id
    document = generate.asyncapi_document([*EVENTS, v2])
    assert "registry.market.upserted.v2" in document["components"]["messages"]

"""The released baseline: the gate against it (`python -m contracts.compat`, in `make test`) and
`make contracts-release` (`python -m contracts.release`), which alone writes it."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contracts import compat, generate, release

MARKET = "registry.market.upserted.v1.json"
RISK = "telemetry.risk.raised.v1.json"
DAY = date(2026, 5, 1)


@functools.cache
def _schema_texts() -> dict[str, str]:
    return generate.render_schemas()


@pytest.fixture
def contracts_dir(tmp_path: Path) -> Path:
    """A contracts directory with the current schemas, released as 1.7.0."""
    (tmp_path / "schemas").mkdir()
    for name, text in _schema_texts().items():
        (tmp_path / "schemas" / name).write_text(text, encoding="utf-8")
    release.release(tmp_path, compat.schemas_on_disk(tmp_path), version="1.7.0", today=DAY)
    return tmp_path


def _edit(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a committed schema file as a model change would."""
    path = directory / "schemas" / name
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(generate.dump_json(schema), encoding="utf-8")


def _market(schema: dict[str, Any]) -> dict[str, Any]:
    market: dict[str, Any] = schema["$defs"]["MarketUpserted"]
    return market


def _gate(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = compat.main(["--dir", str(directory)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the gate against the release -------------------------------------------------------------


def test_the_released_files_are_the_schemas_with_a_manifest(contracts_dir: Path) -> None:
    released = contracts_dir / "released"
    for name, text in _schema_texts().items():
        assert (released / "schemas" / name).read_text(encoding="utf-8") == text
    manifest = json.loads((released / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["contract_version"] == "1.7.0"
    assert manifest["released_on"] == "2026-05-01"
    assert manifest["retired"] == []
    assert manifest["schemas"][MARKET] == compat.sha256(_schema_texts()[MARKET])


def test_an_unchanged_contract_passes(
    contracts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _gate(contracts_dir, capsys)
    assert code == 0, err
    assert "no breaking change since release 1.7.0 (2026-05-01)" in out


def test_a_removed_field_fails(contracts_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def drop_address(schema: dict[str, Any]) -> None:
        market = _market(schema)
        del market["properties"]["address"]
        market["required"] = [r for r in market.get("required", []) if r != "address"]

    _edit(contracts_dir, MARKET, drop_address)
    code, _, err = _gate(contracts_dir, capsys)
    assert code == 1
    assert err.splitlines()[:2] == [
        "breaking schema changes, committed files against release 1.7.0:",
        "registry.market.upserted: $.data.address: property removed",
    ], err


def test_a_removed_enum_value_fails(
    contracts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def narrow_kind(schema: dict[str, Any]) -> None:
        kind = _market(schema)["properties"]["kind"]
        assert "farmers" in kind["enum"], kind
        kind["enum"] = [v for v in kind["enum"] if v != "farmers"]

    _edit(contracts_dir, MARKET, narrow_kind)
    code, _, err = _gate(contracts_dir, capsys)
    assert code == 1
    assert 'registry.market.upserted: $.data.kind: enum narrowed: "farmers" no longer allowed' in (
        err.splitlines()
    ), err


def test_a_string_that_became_an_integer_fails(
    contracts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def name_as_number(schema: dict[str, Any]) -> None:
        _market(schema)["properties"]["name"] = {"title": "Name", "type": "integer"}

    _edit(contracts_dir, MARKET, name_as_number)
    code, _, err = _gate(contracts_dir, capsys)
    assert code == 1
    assert (
        "registry.market.upserted: $.data.name: type changed from string to integer"
        in err.splitlines()
    ), err


def test_an_added_optional_field_passes(
    contracts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def add_nickname(schema: dict[str, Any]) -> None:
        properties = _market(schema)["properties"]
        properties["nickname"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}

    _edit(contracts_dir, MARKET, add_nickname)
    code, out, err = _gate(contracts_dir, capsys)
    assert code == 0, err
    assert (
        "compatible (committed files against release 1.7.0): "
        "registry.market.upserted: $.data.nickname: new optional property"
    ) in out


def test_a_breaking_change_fails_the_release_too(contracts_dir: Path) -> None:
    _edit(contracts_dir, MARKET, lambda s: _market(s)["properties"].pop("address"))
    with pytest.raises(release.ReleaseError, match=r"\$\.data\.address: property removed"):
        release.release(
            contracts_dir, compat.schemas_on_disk(contracts_dir), version="1.8.0", today=DAY
        )
    assert compat.load_baseline(contracts_dir).schemas[MARKET]["$defs"]["MarketUpserted"][
        "properties"
    ]["address"]


# -- releasing --------------------------------------------------------------------------------


def test_a_release_moves_the_baseline_and_needs_a_new_version(
    contracts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(contracts_dir, MARKET, lambda s: _market(s)["properties"].update(nickname={}))
    current = compat.schemas_on_disk(contracts_dir)
    with pytest.raises(release.ReleaseError, match="bump CONTRACT_VERSION"):
        release.release(contracts_dir, current, version="1.7.0", today=DAY)
    with pytest.raises(release.ReleaseError, match=re.escape("older than release 1.7.0")):
        release.release(contracts_dir, current, version="1.6.9", today=DAY)

    outcome = release.release(contracts_dir, current, version="1.8.0", today=date(2026, 6, 1))

    assert outcome.written
    baseline = compat.load_baseline(contracts_dir)
    assert (baseline.contract_version, baseline.released_on) == ("1.8.0", "2026-06-01")
    assert "nickname" in baseline.schemas[MARKET]["$defs"]["MarketUpserted"]["properties"]
    # From now on, dropping the field is breaking: it was released.
    _edit(contracts_dir, MARKET, lambda s: _market(s)["properties"].pop("nickname"))
    code, _, err = _gate(contracts_dir, capsys)
    assert code == 1
    assert "registry.market.upserted: $.data.nickname: property removed" in err.splitlines()


def test_releasing_nothing_new_writes_nothing(contracts_dir: Path) -> None:
    manifest = contracts_dir / "released" / "manifest.json"
    before = manifest.read_text(encoding="utf-8")
    outcome = release.release(
        contracts_dir, compat.schemas_on_disk(contracts_dir), version="1.7.0", today=date.today()
    )
    assert not outcome.written
    assert manifest.read_text(encoding="utf-8") == before


@pytest.fixture
def risk_dropped(contracts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The models (and so the committed files) no longer declare `telemetry.risk.raised.v1`."""
    (contracts_dir / "schemas" / RISK).unlink()
    models = {k: v for k, v in compat.generated_schemas().items() if k != RISK}
    monkeypatch.setattr(compat, "generated_schemas", lambda: models)
    return contracts_dir


def test_a_dropped_schema_stays_in_the_baseline_until_retired(
    risk_dropped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _gate(risk_dropped, capsys)
    assert code == 1
    assert (
        f"telemetry.risk.raised: $: schema {RISK} removed since release 1.7.0; retire it "
        f"explicitly: make contracts-release RETIRE={RISK} REASON='...'"
    ) in err.splitlines()
    current = compat.schemas_on_disk(risk_dropped)
    with pytest.raises(
        release.ReleaseError, match=re.escape(f"schema {RISK} removed since release")
    ):
        release.release(risk_dropped, current, version="1.8.0", today=DAY)
    assert RISK in compat.load_baseline(risk_dropped).schemas


def test_retiring_a_schema_records_why_and_it_never_comes_back(
    risk_dropped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "replaced by telemetry.risk.raised v2; every consumer moved on 2026-06-01"
    outcome = release.release(
        risk_dropped,
        compat.schemas_on_disk(risk_dropped),
        version="1.8.0",
        today=date(2026, 6, 2),
        retire={RISK: reason},
    )

    assert f"retired {RISK}: {reason}" in outcome.notes
    assert not (risk_dropped / "released" / "schemas" / RISK).exists()
    manifest = json.loads((risk_dropped / "released" / "manifest.json").read_text())
    assert manifest["retired"] == [
        {
            "schema": RISK,
            "event_type": "telemetry.risk.raised",
            "reason": reason,
            "retired_in": "1.8.0",
            "retired_on": "2026-06-02",
        }
    ]
    assert _gate(risk_dropped, capsys)[0] == 0

    (risk_dropped / "schemas" / RISK).write_text(_schema_texts()[RISK], encoding="utf-8")
    code, _, err = _gate(risk_dropped, capsys)
    assert code == 1
    assert f"schema {RISK} was retired in 1.8.0 ({reason})" in err


def test_only_a_dropped_released_schema_can_be_retired(contracts_dir: Path) -> None:
    current = compat.schemas_on_disk(contracts_dir)
    for retire, problem in (
        ({RISK: "no longer needed"}, "the models still declare it"),
        ({"nobody.v1.json": "typo"}, "not a released schema"),
        ({RISK: " "}, "a reason is needed"),
    ):
        with pytest.raises(release.ReleaseError, match=problem):
            release.release(contracts_dir, current, version="1.8.0", today=DAY, retire=retire)


def test_the_command_refuses_stale_files_and_writes_the_first_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate.write(tmp_path)
    (tmp_path / "schemas" / MARKET).write_text("{}\n", encoding="utf-8")
    assert release.main(["--dir", str(tmp_path)]) == 1
    assert f"stale: schemas/{MARKET}" in capsys.readouterr().err
    assert not (tmp_path / "released").exists()

    (tmp_path / "schemas" / MARKET).write_text(_schema_texts()[MARKET], encoding="utf-8")
    assert release.main(["--dir", str(tmp_path), "--date", "2026-05-01"]) == 0
    out = capsys.readouterr().out
    assert f"first release: {len(_schema_texts())} schema(s)" in out
    assert f"released {generate.CONTRACT_VERSION}" in out
    assert compat.main(["--dir", str(tmp_path)]) == 0
    assert release.main(["--dir", str(tmp_path)]) == 0
    assert "is already released" in capsys.readouterr().out


def test_the_command_wants_a_reason_for_every_retirement(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        release.main(["--dir", str(tmp_path), "--retire", RISK])

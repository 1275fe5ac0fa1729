"""Schema changes against the released baseline, and the `python -m contracts.compat` command."""

from __future__ import annotations

import functools
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from contracts import compat, generate
from contracts import release as contracts_release


def test_the_released_baseline_matches_its_manifest() -> None:
    baseline = compat.load_baseline(generate.CONTRACTS_DIR)  # raises when edited by hand
    assert baseline.schemas
    assert baseline.contract_version == generate.CONTRACT_VERSION or _older(
        baseline.contract_version, generate.CONTRACT_VERSION
    )


def _older(a: str, b: str) -> bool:
    return tuple(map(int, a.split("."))) < tuple(map(int, b.split(".")))


def test_model_changes_are_backward_compatible_with_the_release() -> None:
    found = compat.against_baseline(
        compat.load_baseline(generate.CONTRACTS_DIR), compat.generated_schemas()
    )
    breaking = [change.render(event_type) for event_type, change in found if change.breaking]
    assert breaking == [], "a breaking change needs a new major version:\n" + "\n".join(breaking)


def test_model_changes_are_backward_compatible_with_the_files_on_disk() -> None:
    found = compat.compare_sets(
        compat.schemas_on_disk(generate.CONTRACTS_DIR),
        compat.generated_schemas(),
        missing_reason="the models no longer declare this schema",
    )
    assert [c.render(t) for t, c in found if c.breaking] == []


# -- the command -----------------------------------------------------------------------------

EVENT_FILE = "registry.market.upserted.v1.json"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@functools.cache
def _generated_files() -> dict[str, str]:
    return generate.render()


def write_generated(directory: Path) -> None:
    """What `generate.write` writes, rendered once for the module (rendering takes a second)."""
    (directory / "schemas").mkdir(parents=True, exist_ok=True)
    for path, text in _generated_files().items():
        (directory / path).write_text(text, encoding="utf-8")


def release(directory: Path, version: str = "1.7.0") -> None:
    """Release what is on disk in `directory` (as `make contracts-release` would)."""
    contracts_release.release(
        directory, compat.schemas_on_disk(directory), version=version, today=date(2026, 5, 1)
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout whose released, committed market schema has a property the models dropped."""
    write_generated(tmp_path)
    path = tmp_path / "schemas" / EVENT_FILE
    schema = json.loads(path.read_text())
    market = schema["$defs"]["MarketUpserted"]
    market["properties"]["legacy_code"] = {"type": "string"}
    market["required"].append("legacy_code")
    path.write_text(generate.dump_json(schema), encoding="utf-8")
    release(tmp_path)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "old contracts")
    return tmp_path


REMOVED = "registry.market.upserted: $.data.legacy_code: property removed"


def test_command_reports_a_breaking_change_against_the_release(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_generated(checkout)  # the files follow the models: legacy_code is gone
    assert compat.main(["--dir", str(checkout)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        "breaking schema changes, committed files against release 1.7.0:",
        REMOVED,
    ], err


def test_a_committed_breaking_change_still_fails(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_generated(checkout)
    _git(checkout, "commit", "-q", "-am", "drop legacy_code")
    # Nothing differs from HEAD any more, but the release still has the property.
    assert compat.main(["--dir", str(checkout), "--against", "HEAD"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        "breaking schema changes, committed files against release 1.7.0:",
        REMOVED,
    ], err
    assert "against HEAD:" not in err


def test_stale_files_are_checked_and_so_are_the_models(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The files on disk are the released ones; the models already dropped the property.
    assert compat.main(["--dir", str(checkout)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        "breaking schema changes, the models against release 1.7.0:",
        REMOVED,
    ], err
    assert "committed files against" not in err


def test_command_reports_a_breaking_change_against_a_git_ref(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_generated(tmp_path)
    release(tmp_path)  # released without legacy_code...
    path = tmp_path / "schemas" / EVENT_FILE
    schema = json.loads(path.read_text())
    schema["$defs"]["MarketUpserted"]["properties"]["legacy_code"] = {"type": "string"}
    path.write_text(generate.dump_json(schema), encoding="utf-8")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "...but the base branch has it")
    write_generated(tmp_path)
    assert compat.main(["--dir", str(tmp_path)]) == 0
    assert compat.main(["--dir", str(tmp_path), "--against", "HEAD"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        "breaking schema changes, committed files against HEAD:",
        REMOVED,
    ], err
    assert "against release" not in err


def test_a_schema_new_since_the_ref_and_the_release_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_generated(tmp_path)
    (tmp_path / "schemas" / EVENT_FILE).unlink()
    release(tmp_path)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "pretend the market event is new")
    write_generated(tmp_path)
    assert compat.main(["--dir", str(tmp_path), "--against", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "registry.market.upserted: $: new since release 1.7.0" in out


def test_a_deleted_schema_is_breaking(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "schemas" / EVENT_FILE).unlink()
    assert compat.main(["--dir", str(checkout), "--against", "HEAD"]) == 1
    err = capsys.readouterr().err
    assert (
        f"registry.market.upserted: $: schema {EVENT_FILE} removed since release 1.7.0; "
        f"retire it explicitly: make contracts-release RETIRE={EVENT_FILE} REASON='...'" in err
    )
    assert "registry.market.upserted: $: schema removed since HEAD" in err


def test_without_a_released_baseline_the_command_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_generated(tmp_path)
    assert compat.main(["--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no released baseline" in err
    assert "make contracts-release" in err


@pytest.mark.parametrize("edit", ["change", "delete", "add"])
def test_a_baseline_edited_by_hand_fails(
    checkout: Path, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    released = checkout / "released" / "schemas"
    if edit == "change":
        (released / EVENT_FILE).write_text("{}\n", encoding="utf-8")
    elif edit == "delete":
        (released / EVENT_FILE).unlink()
    else:
        (released / "extra.v1.json").write_text("{}\n", encoding="utf-8")
    assert compat.main(["--dir", str(checkout)]) == 1
    err = capsys.readouterr().err
    assert "was changed by hand" in err
    assert "changes only through `make contracts-release`" in err


def test_outside_a_git_checkout_a_ref_is_a_warning_and_the_release_still_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    write_generated(tmp_path)
    release(tmp_path)
    assert compat.main(["--dir", str(tmp_path), "--against", "HEAD"]) == 0
    captured = capsys.readouterr()
    assert (
        "warning: cannot compare with git ref 'HEAD' (fatal: not a git repository" in captured.err
    )
    assert "no breaking change since release 1.7.0" in captured.out


def test_without_git_installed_the_command_warns_but_still_checks_the_release(
    checkout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_generated(checkout)
    monkeypatch.setenv("PATH", str(checkout / "no-bin"))
    assert compat.main(["--dir", str(checkout), "--against", "HEAD"]) == 1
    captured = capsys.readouterr()
    assert "warning: cannot compare with git ref 'HEAD' (git cannot run" in captured.err
    assert captured.err.splitlines()[1:3] == [
        "breaking schema changes, committed files against release 1.7.0:",
        REMOVED,
    ], captured.err


def test_an_unknown_ref_is_a_warning_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_generated(tmp_path)
    release(tmp_path)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "current")
    assert compat.main(["--dir", str(tmp_path), "--against", "no-such-branch"]) == 0
    assert "cannot compare with git ref 'no-such-branch' (unknown ref)" in capsys.readouterr().err


def test_the_repository_itself_has_no_breaking_change_since_its_release(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert compat.main([]) == 0, capsys.readouterr().err

"""Schema changes against what is committed, and the `python -m contracts.compat` command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from contracts import compat, generate


def _generated() -> dict[str, Any]:
    return {
        path.removeprefix("schemas/"): json.loads(text)
        for path, text in generate.render().items()
        if path.startswith("schemas/")
    }


def _committed() -> dict[str, Any]:
    # The schemas of the last commit; in an unpacked source tree without git, the files shipped.
    try:
        return compat.schemas_at_ref("HEAD", generate.CONTRACTS_DIR)
    except compat.GitUnavailable:
        return compat.schemas_on_disk(generate.CONTRACTS_DIR)


def test_model_changes_are_backward_compatible_with_the_committed_schemas() -> None:
    found = compat.compare_sets(
        _committed(), _generated(), missing_reason="the models no longer declare this schema"
    )
    breaking = [change.render(event_type) for event_type, change in found if change.breaking]
    assert breaking == [], "a breaking change needs a new major version:\n" + "\n".join(breaking)


def test_model_changes_are_backward_compatible_with_the_files_on_disk() -> None:
    found = compat.compare_sets(
        compat.schemas_on_disk(generate.CONTRACTS_DIR),
        _generated(),
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


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout whose committed market schema still has a property the models dropped."""
    generate.write(tmp_path)
    path = tmp_path / "schemas" / EVENT_FILE
    schema = json.loads(path.read_text())
    market = schema["$defs"]["MarketUpserted"]
    market["properties"]["legacy_code"] = {"type": "string"}
    market["required"].append("legacy_code")
    path.write_text(generate.dump_json(schema), encoding="utf-8")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "old contracts")
    return tmp_path


def test_command_reports_a_breaking_change_against_the_models(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compat.main(["--dir", str(checkout)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        "breaking schema changes, committed files against the models:",
        "registry.market.upserted: $.data.legacy_code: property removed",
    ], err


def test_command_reports_a_breaking_change_against_a_git_ref(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate.write(checkout)  # regenerating makes the files match the models again...
    assert compat.main(["--dir", str(checkout), "--against", "HEAD"]) == 1
    err = capsys.readouterr().err  # ...but not the committed version
    assert err.splitlines()[:2] == [
        "breaking schema changes, committed files against HEAD:",
        "registry.market.upserted: $.data.legacy_code: property removed",
    ], err
    assert "against the models" not in err


def test_command_passes_once_the_change_is_committed(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate.write(checkout)
    _git(checkout, "commit", "-q", "-am", "drop legacy_code")
    assert compat.main(["--dir", str(checkout)]) == 0
    assert compat.main(["--dir", str(checkout), "--against", "HEAD~1"]) == 1
    assert "committed files against HEAD~1:" in capsys.readouterr().err


def test_a_schema_new_since_the_ref_is_fine(checkout: Path) -> None:
    generate.write(checkout)
    _git(checkout, "commit", "-q", "-am", "current")
    _git(checkout, "rm", "-q", f"schemas/{EVENT_FILE}")
    _git(checkout, "commit", "-q", "-m", "pretend the market event is new")
    generate.write(checkout)
    assert compat.main(["--dir", str(checkout), "--against", "HEAD"]) == 0


def test_a_deleted_schema_is_breaking(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "schemas" / EVENT_FILE).unlink()
    assert compat.main(["--dir", str(checkout), "--against", "HEAD"]) == 1
    assert "registry.market.upserted: $: schema removed since HEAD" in capsys.readouterr().err


def test_outside_a_git_checkout_the_command_warns_and_checks_only_the_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    generate.write(tmp_path)
    assert compat.main(["--dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert (
        "warning: cannot compare with git ref 'HEAD' (fatal: not a git repository" in captured.err
    )
    assert "no breaking change" in captured.out


def test_without_git_installed_the_command_warns_but_still_checks_the_models(
    checkout: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(checkout / "no-bin"))
    assert compat.main(["--dir", str(checkout)]) == 1
    captured = capsys.readouterr()
    assert "warning: cannot compare with git ref 'HEAD' (git cannot run" in captured.err
    assert captured.err.splitlines()[1:3] == [
        "breaking schema changes, committed files against the models:",
        "registry.market.upserted: $.data.legacy_code: property removed",
    ], captured.err


def test_an_unknown_ref_is_a_warning_not_a_failure(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate.write(checkout)
    assert compat.main(["--dir", str(checkout), "--against", "no-such-branch"]) == 0
    assert "cannot compare with git ref 'no-such-branch' (unknown ref)" in capsys.readouterr().err


def test_the_repository_itself_has_no_breaking_change(capsys: pytest.CaptureFixture[str]) -> None:
    assert compat.main([]) == 0, capsys.readouterr().err

"""Where schemas to compare come from: the files on disk, a git ref, the models, and the released
baseline in contracts/released/ (the schemas as last released and a manifest with the release's
contract version, date and retired schemas), written only by `make contracts-release`
(`python -m contracts.release`) and checked against its manifest whenever it is read.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.schema_diff import JSON, Change, compare_schemas, event_type_of


class GitUnavailable(RuntimeError):
    pass


def _git(directory: Path, *args: str, silent: str | None = None) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )
    except OSError as exc:
        raise GitUnavailable(f"git cannot run: {exc}") from exc
    if result.returncode != 0:
        raise GitUnavailable(result.stderr.strip() or silent or f"git {' '.join(args)} failed")
    return result.stdout


def schemas_at_ref(ref: str, contracts_dir: Path) -> dict[str, Any]:
    """The schema files under contracts/schemas as they are at `ref`, by file name."""
    # `--quiet` leaves stderr empty for a ref that does not exist, so that case gets its own words.
    _git(
        contracts_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", silent="unknown ref"
    )
    listing = _git(contracts_dir, "ls-tree", "--name-only", ref, "--", "./schemas/")
    found: dict[str, Any] = {}
    for line in listing.splitlines():
        name = Path(line).name
        if name.endswith(".json"):
            found[name] = json.loads(_git(contracts_dir, "show", f"{ref}:./schemas/{name}"))
    return found


def schemas_on_disk(contracts_dir: Path) -> dict[str, Any]:
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((contracts_dir / "schemas").glob("*.json"))
    }


def compare_sets(
    old: Mapping[str, Any], new: Mapping[str, Any], *, missing_reason: str
) -> list[tuple[str, Change]]:
    """Compare schema files by name; a file only in `new` is a new event and fine."""
    found: list[tuple[str, Change]] = []
    for name in sorted(old):
        event_type = event_type_of(old[name], name)
        if name not in new:
            found.append((event_type, Change("$", missing_reason)))
            continue
        found += [(event_type, change) for change in compare_schemas(old[name], new[name])]
    return found


# -- the released baseline -------------------------------------------------------------------

RELEASED_DIR = "released"
MANIFEST_FILE = "manifest.json"
RELEASE_COMMAND = "make contracts-release"


class BaselineError(RuntimeError):
    """The released baseline is missing or was changed by other means than a release."""


@dataclass(frozen=True)
class Retired:
    """A schema taken out of the baseline on purpose; its file name never comes back."""

    schema: str
    event_type: str
    reason: str
    retired_in: str
    retired_on: str

    def as_json(self) -> JSON:
        return {
            "schema": self.schema,
            "event_type": self.event_type,
            "reason": self.reason,
            "retired_in": self.retired_in,
            "retired_on": self.retired_on,
        }


@dataclass(frozen=True)
class Baseline:
    contract_version: str
    released_on: str
    schemas: dict[str, Any]
    retired: dict[str, Retired]

    @property
    def label(self) -> str:
        return f"release {self.contract_version}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_baseline(contracts_dir: Path) -> Baseline:
    """The released baseline under `contracts_dir`, checked against its manifest."""
    directory = contracts_dir / RELEASED_DIR
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BaselineError(
            f"no released baseline ({manifest_path} is missing); `{RELEASE_COMMAND}` creates it"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed: dict[str, str] = dict(manifest["schemas"])
        retired = {
            entry["schema"]: Retired(**{k: str(entry[k]) for k in Retired.__dataclass_fields__})
            for entry in manifest.get("retired", [])
        }
        version, released_on = str(manifest["contract_version"]), str(manifest["released_on"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"{manifest_path} is not a release manifest ({exc!r})") from exc
    texts = {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((directory / "schemas").glob("*.json"))
    }
    problems = [f"{name} is missing" for name in sorted(set(listed) - set(texts))]
    problems += [f"{name} is not in the manifest" for name in sorted(set(texts) - set(listed))]
    problems += [
        f"{name} differs from the released file"
        for name in sorted(set(listed) & set(texts))
        if sha256(texts[name]) != listed[name]
    ]
    problems += [
        f"{name} is both released and retired" for name in sorted(set(listed) & set(retired))
    ]
    if problems:
        raise BaselineError(
            f"{directory} was changed by hand ({'; '.join(problems)}); it changes only through "
            f"`{RELEASE_COMMAND}` (restore it with `git checkout -- {directory}`)"
        )
    return Baseline(version, released_on, {n: json.loads(t) for n, t in texts.items()}, retired)


def against_baseline(
    baseline: Baseline, current: Mapping[str, Any], *, retiring: Sequence[str] = ()
) -> list[tuple[str, Change]]:
    """Every change of `current` (schemas by file name) since the release; `.breaking` marks bad.

    A released schema that is gone is breaking unless it is being retired (`retiring`); a schema
    that was retired must not come back under the same file name.
    """
    found: list[tuple[str, Change]] = []
    for name in sorted(baseline.schemas):
        if name not in current and name not in retiring:
            found.append(
                (
                    event_type_of(baseline.schemas[name], name),
                    Change(
                        "$",
                        f"schema {name} removed since {baseline.label}; retire it explicitly: "
                        f"{RELEASE_COMMAND} RETIRE={name} REASON='...'",
                    ),
                )
            )
    kept = {name: schema for name, schema in baseline.schemas.items() if name in current}
    found += compare_sets(kept, current, missing_reason="")
    for name in sorted(current):
        event_type = event_type_of(current[name], name)
        if name in baseline.retired:
            gone = baseline.retired[name]
            found.append(
                (
                    event_type,
                    Change(
                        "$",
                        f"schema {name} was retired in {gone.retired_in} ({gone.reason}); a "
                        "retired schema does not come back: publish a new major version",
                    ),
                )
            )
        elif name not in baseline.schemas:
            found.append((event_type, Change("$", f"new since {baseline.label}", breaking=False)))
    return found


def generated_schemas() -> dict[str, Any]:
    """The schemas the models declare, by file name."""
    from contracts import generate

    return {name: json.loads(text) for name, text in generate.render_schemas().items()}

"""Release the contracts: make the current schemas the baseline the compatibility gate checks.

    python -m contracts.release                                  make contracts-release
    python -m contracts.release --retire FILE --reason TEXT      ... RETIRE=FILE REASON='TEXT'

contracts/released/ holds the schemas as last released (`schemas/*.json`, byte copies of
contracts/schemas/) and `manifest.json`: the contract version (`CONTRACT_VERSION` in
contracts/generate.py), the release date, the sha256 of every released file and the schemas
retired so far. `python -m contracts.compat` (in `make test`) compares every change with it.

A release refuses to run when the generated files are stale, when the schemas have a breaking
change since the previous release, or when they changed and `CONTRACT_VERSION` did not grow. A
released schema the models no longer declare stays in the baseline (and fails the gate) until it
is retired here with a reason; a retired file name may never come back.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from contracts import compat, generate

ABOUT = (
    "The contracts as last released: the compatibility baseline of `python -m contracts.compat`. "
    "Written only by `make contracts-release` (python -m contracts.release); see "
    "contracts/README.md, Versioning."
)


class ReleaseError(RuntimeError):
    pass


@dataclass(frozen=True)
class Outcome:
    version: str
    written: bool
    notes: list[str]


def _version(text: str) -> tuple[int, ...]:
    if not re.fullmatch(r"\d+(\.\d+)*", text):
        raise ReleaseError(f"contract version {text!r} is not dotted numbers")
    return tuple(int(part) for part in text.split("."))


def release(
    contracts_dir: Path,
    current: Mapping[str, Any],
    *,
    version: str,
    today: date,
    retire: Mapping[str, str] | None = None,
) -> Outcome:
    """Write `current` (schemas by file name) as the released baseline under `contracts_dir`.

    `retire` maps released schema files the models dropped to the reason they go.
    """
    retire = dict(retire or {})
    directory = contracts_dir / compat.RELEASED_DIR
    previous: compat.Baseline | None = None
    if (directory / compat.MANIFEST_FILE).exists():
        try:
            previous = compat.load_baseline(contracts_dir)
        except compat.BaselineError as exc:
            raise ReleaseError(str(exc)) from exc
    notes: list[str] = []
    retired: dict[str, compat.Retired] = dict(previous.retired) if previous else {}
    if previous is None:
        if retire:
            raise ReleaseError("nothing is released yet, so nothing can be retired")
        notes.append(f"first release: {len(current)} schema(s)")
    else:
        problems = [
            f"{name}: a reason is needed" for name, why in retire.items() if not why.strip()
        ]
        problems += [
            f"{name}: not a released schema" for name in retire if name not in previous.schemas
        ]
        problems += [
            f"{name}: the models still declare it; only a dropped schema can be retired"
            for name in retire
            if name in current
        ]
        if problems:
            raise ReleaseError("cannot retire: " + "; ".join(problems))
        changes = compat.against_baseline(previous, current, retiring=tuple(retire))
        breaking = [c.render(t) for t, c in changes if c.breaking]
        if breaking:
            raise ReleaseError(
                f"breaking changes since {previous.label}, nothing released:\n  "
                + "\n  ".join(breaking)
            )
        notes += [c.render(t) for t, c in changes]
        changed = bool(retire) or any(
            name not in previous.schemas
            or generate.dump_json(schema) != generate.dump_json(previous.schemas[name])
            for name, schema in current.items()
        )
        if _version(version) < _version(previous.contract_version):
            raise ReleaseError(
                f"contract version {version} is older than {previous.label}; "
                "CONTRACT_VERSION in contracts/generate.py only grows"
            )
        if not changed and version == previous.contract_version:
            return Outcome(version, False, [f"nothing changed since {previous.label}"])
        if changed and version == previous.contract_version:
            raise ReleaseError(
                f"the schemas changed since {previous.label} but the contract version did not: "
                "bump CONTRACT_VERSION in contracts/generate.py (minor for added events or "
                "fields) and run `make contracts` first"
            )
        for name, reason in sorted(retire.items()):
            retired[name] = compat.Retired(
                schema=name,
                event_type=compat.event_type_of(previous.schemas[name], name),
                reason=reason.strip(),
                retired_in=version,
                retired_on=today.isoformat(),
            )
            notes.append(f"retired {name}: {reason.strip()}")

    texts = {name: generate.dump_json(schema) for name, schema in sorted(current.items())}
    schemas_dir = directory / "schemas"
    if schemas_dir.exists():
        shutil.rmtree(schemas_dir)
    schemas_dir.mkdir(parents=True)
    for name, text in texts.items():
        (schemas_dir / name).write_text(text, encoding="utf-8")
    manifest = {
        "about": ABOUT,
        "contract_version": version,
        "released_on": today.isoformat(),
        "schemas": {name: compat.sha256(text) for name, text in texts.items()},
        "retired": [retired[name].as_json() for name in sorted(retired)],
    }
    (directory / compat.MANIFEST_FILE).write_text(generate.dump_json(manifest), encoding="utf-8")
    return Outcome(version, True, notes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contracts.release",
        description="Release the current schemas as the compatibility baseline "
        "(contracts/released/).",
    )
    parser.add_argument(
        "--retire",
        action="append",
        default=[],
        metavar="FILE",
        help="a released schema file the models dropped, e.g. registry.market.upserted.v1.json",
    )
    parser.add_argument(
        "--reason", action="append", default=[], help="why it goes (one per --retire)"
    )
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None, help="release date (default today, UTC)"
    )
    parser.add_argument("--dir", type=Path, default=generate.CONTRACTS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if len(args.retire) != len(args.reason):
        parser.error("give one --reason for every --retire")

    stale = generate.check(args.dir)
    if stale:
        print(
            "contracts.release: generated files are stale, run `make contracts` first:",
            file=sys.stderr,
        )
        for problem in stale:
            print(f"  {problem}", file=sys.stderr)
        return 1
    try:
        outcome = release(
            args.dir,
            compat.schemas_on_disk(args.dir),
            version=generate.CONTRACT_VERSION,
            today=args.date or datetime.now(UTC).date(),
            retire=dict(zip(args.retire, args.reason, strict=True)),
        )
    except ReleaseError as exc:
        print(f"contracts.release: {exc}", file=sys.stderr)
        return 1
    for note in outcome.notes:
        print(note)
    if outcome.written:
        print(
            f"contracts.release: released {outcome.version} into "
            f"{args.dir / compat.RELEASED_DIR}; commit it"
        )
    else:
        print(f"contracts.release: {outcome.version} is already released")
    return 0


if __name__ == "__main__":
    sys.exit(main())

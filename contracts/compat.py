"""The compatibility gate: every event JSON Schema against the release, in `make test`.

    python -m contracts.compat                  committed schemas and the models vs the release
    python -m contracts.compat --against main   ... and also vs a git ref (CI: the base branch)

Comparing with the release (contracts/released/, contracts/schema_sources.py) rather than with
git HEAD means a breaking change fails the check even once it is committed. What counts as
breaking is contracts/schema_diff.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.schema_diff import (
    ANNOTATIONS,
    Change,
    breaking_changes,
    compare_schemas,
    event_type_of,
    unknown_keywords,
)
from contracts.schema_sources import (
    MANIFEST_FILE,
    RELEASE_COMMAND,
    RELEASED_DIR,
    Baseline,
    BaselineError,
    GitUnavailable,
    Retired,
    against_baseline,
    compare_sets,
    generated_schemas,
    load_baseline,
    schemas_at_ref,
    schemas_on_disk,
    sha256,
)

__all__ = [
    "ANNOTATIONS",
    "MANIFEST_FILE",
    "RELEASED_DIR",
    "RELEASE_COMMAND",
    "Baseline",
    "BaselineError",
    "Change",
    "GitUnavailable",
    "Retired",
    "against_baseline",
    "breaking_changes",
    "compare_schemas",
    "compare_sets",
    "event_type_of",
    "generated_schemas",
    "load_baseline",
    "main",
    "schemas_at_ref",
    "schemas_on_disk",
    "sha256",
    "unknown_keywords",
]


def main(argv: Sequence[str] | None = None) -> int:
    from contracts import generate

    parser = argparse.ArgumentParser(
        prog="python -m contracts.compat",
        description="Fail on backward-incompatible changes of the event JSON Schemas since the "
        "release in contracts/released/.",
    )
    parser.add_argument(
        "--against",
        metavar="REF",
        help="also compare the committed schemas with a git ref (CI: the branch merged into)",
    )
    parser.add_argument("--dir", type=Path, default=generate.CONTRACTS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        baseline = load_baseline(args.dir)
    except BaselineError as exc:
        print(f"contracts.compat: {exc}", file=sys.stderr)
        return 1
    committed = schemas_on_disk(args.dir)
    generated = generated_schemas()
    results: list[tuple[str, str, Change]] = [
        (f"committed files against {baseline.label}", t, c)
        for t, c in against_baseline(baseline, committed)
    ]
    if generated != committed:  # stale files (generate --check says so too): check both
        results += [
            (f"the models against {baseline.label}", t, c)
            for t, c in against_baseline(baseline, generated)
        ]
    if args.against:
        try:
            at_ref = schemas_at_ref(args.against, args.dir)
        except GitUnavailable as exc:
            print(
                f"warning: cannot compare with git ref {args.against!r} ({exc}); "
                f"only comparing with {baseline.label}",
                file=sys.stderr,
            )
        else:
            removed = (
                f"schema removed since {args.against} (retire it with {RELEASE_COMMAND} "
                "RETIRE=<file> REASON='...', don't just delete it)"
            )
            # A schema retired by the release is meant to be gone.
            kept = {n: s for n, s in at_ref.items() if n not in baseline.retired}
            results += [
                (f"committed files against {args.against}", t, c)
                for t, c in compare_sets(kept, committed, missing_reason=removed)
            ]

    for where, event_type, change in results:
        if not change.breaking:
            print(f"compatible ({where}): {change.render(event_type)}")
    breaking = [(where, t, c) for where, t, c in results if c.breaking]
    if breaking:
        for label in dict.fromkeys(where for where, _, _ in breaking):
            print(f"breaking schema changes, {label}:", file=sys.stderr)
            for where, event_type, change in breaking:
                if where == label:
                    print(change.render(event_type), file=sys.stderr)
        print(
            "a breaking change needs a new major version: a new `.v<N>` topic and schema",
            file=sys.stderr,
        )
        return 1
    print(
        f"contracts.compat: {len(committed)} schema(s), no breaking change since "
        f"{baseline.label} ({baseline.released_on})"
        + (f" or {args.against}" if args.against else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

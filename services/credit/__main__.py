"""`python -m services.credit` serves the credit API and keeps the ledger;
`python -m services.credit rebuild` rebuilds every score from the topics and compares."""

from __future__ import annotations

import argparse

from services.credit.app import build
from services.credit.settings import CreditSettings
from services.runtime.app import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentinel-credit", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the API and consume (the default)")
    rebuild = sub.add_parser(
        "rebuild", help="rebuild ledgers and scores from the topics into fresh tables; compare"
    )
    rebuild.add_argument("--schema", default="credit_rebuild", help="the fresh schema")
    rebuild.add_argument("--keep", action="store_true", help="keep the rebuilt tables")
    args = parser.parse_args(argv)
    if args.command == "rebuild":
        from services.credit.rebuild import main as rebuild_main

        return rebuild_main(args.schema, args.keep)
    settings = CreditSettings()
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m services.inspection` serves the work API, consumes risks and runs the clock."""

from __future__ import annotations

from services.inspection.app import build
from services.inspection.settings import InspectionSettings
from services.runtime.app import run


def main() -> int:
    settings = InspectionSettings()
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

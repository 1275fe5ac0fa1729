"""`python -m services.inspection` serves the work API, consumes risks, complaints and credit
scores, and runs the overdue clock and the patrol scheduler."""

from __future__ import annotations

from pydantic import ValidationError

from services.inspection.app import build
from services.inspection.settings import InspectionSettings
from services.runtime.app import run


def main() -> int:
    try:
        settings = InspectionSettings()
    except ValidationError as exc:
        # A bad setting (INSPECTION_POLICY not JSON, a port not a number) names itself.
        raise SystemExit(f"inspection: invalid configuration: {exc}") from exc
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m services.telemetry` serves the API and consumes readings."""

from __future__ import annotations

from services.runtime.app import run
from services.telemetry.app import build
from services.telemetry.settings import TelemetrySettings


def main() -> int:
    settings = TelemetrySettings()
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

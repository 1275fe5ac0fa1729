"""`python -m services.complaints` serves the complaints API, takes intake and runs the clocks."""

from __future__ import annotations

from services.complaints.app import build
from services.complaints.settings import ComplaintsSettings
from services.runtime.app import run


def main() -> int:
    settings = ComplaintsSettings()
    run(build(settings), settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

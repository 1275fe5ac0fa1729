"""`python -m services.registry` serves the API; one-off command:

- `expire-licences`: run the licence job once.

(The campaign's commands, `check-campaigns` and `seed-campaign`, moved with it:
`python -m services.campaign`.)
"""

from __future__ import annotations

from typing import Any

from services.registry.app import build
from services.registry.settings import RegistrySettings
from services.runtime.commands import once, serve_or_run


async def _expire_licences(settings: RegistrySettings) -> dict[str, Any]:
    # Other services' events are the running service's to consume, not a one-off run's.
    app = build(settings, consume=False)
    expired = await once(app.state.service, app.state.registry.expire_licences)
    return {"expired": [m.id for m in expired]}


def main(argv: list[str] | None = None) -> int:
    return serve_or_run(
        "sentinel-registry", RegistrySettings, build, {"expire-licences": _expire_licences}, argv
    )


if __name__ == "__main__":
    raise SystemExit(main())

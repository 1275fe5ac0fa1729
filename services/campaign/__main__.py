"""`python -m services.campaign` serves the API; one-off commands:

- `check-campaigns`: run the campaign clock once (flag and disclose late milestones).

The demo campaign is seeded by the demo (`python -m deploy.local.demo_campaign`), through the API.
"""

from __future__ import annotations

from typing import Any

from services.campaign.app import build
from services.campaign.settings import CampaignSettings
from services.runtime.commands import once, serve_or_run


async def _check(settings: CampaignSettings) -> dict[str, Any]:
    # Inspection's events are the running service's to consume, not a one-off run's (and `once`
    # leaves the periodic clock out); the registry view is read to its end first, so every
    # market's milestones are judged.
    app = build(settings, consume=False)

    async def check() -> dict[str, Any]:
        await app.state.directory.caught_up.wait()
        return {"flagged": await app.state.campaigns.check_clock()}

    return await once(app.state.service, check)


def main(argv: list[str] | None = None) -> int:
    return serve_or_run(
        "sentinel-campaign", CampaignSettings, build, {"check-campaigns": _check}, argv
    )


if __name__ == "__main__":
    raise SystemExit(main())

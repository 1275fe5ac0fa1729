"""Joint meetings of the departments (联席会议) with their action items, and joint enforcement
cases (联合执法), in the campaign service.

    router = joint.attach(service, directory, config=JointConfig(...), now=utc_now)
    app = create_app(service, [..., router], ...)

`attach` (app.py) registers the tables, the consumers of `inspection.events.v1` and
`complaints.events.v1` that keep the possible origins of cases, and the clock that flags late
action items; it returns the HTTP routes. `directory` is the campaign's registry view (attached
by the app): known districts for meetings, market and merchant names for cases.
"""

from __future__ import annotations

from services.campaign.joint.api import JointRouter
from services.campaign.joint.app import MIGRATIONS, attach
from services.campaign.joint.config import JointConfig
from services.campaign.joint.service import Joint

__all__ = ["MIGRATIONS", "Joint", "JointConfig", "JointRouter", "attach"]

"""What goes over the complaints service's topics in the suites, as the service or its integrators
send it: a complaint submitted on the intake by an integrator, and a suggestion received as
complaints publishes it for the campaign service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts.complaints import ComplaintSubmitted, IntakeEnvelope
from contracts.envelope import schema_id
from contracts.suggestions import SuggestionReceived


def intake_event(body: dict[str, Any], source: str = "/integrators/hotline-12345") -> bytes:
    """A complaint submitted on complaints.intake.v1 (`body` as POST /complaints takes it), as an
    integrator (the 12345 hotline by default) sends it."""
    event_id = str(uuid.uuid4())
    envelope: Any = IntakeEnvelope[ComplaintSubmitted]
    return envelope(
        id=event_id,
        source=source,
        type="complaints.intake.submitted",
        subject=body.get("external_ref") or event_id,
        dataschema=schema_id("complaints.intake.submitted", 1),
        correlationid=event_id,
        data=ComplaintSubmitted.model_validate(body),
    ).to_json()


def suggestion_received(
    market_id: str,
    project_id: str | None,
    received_at: datetime,
    suggestion_id: str | None = None,
) -> SuggestionReceived:
    """A suggestion about market `market_id` and its renovation plan `project_id` (None: the
    market alone), as complaints publishes it on complaints.suggestions.v1 when it is received."""
    return SuggestionReceived(
        suggestion_id=suggestion_id or f"sug_{uuid.uuid4().hex[:16]}",
        version=1,
        tracking_code="ABCDEFGHJK",
        about="market",
        market_id=market_id,
        district=None,
        project_id=project_id,
        text="建议保留早市摊位",
        author={"name": None, "phone": None},
        publish_answer=False,
        state="received",
        received_at=received_at,
        answer=None,
        answered_at=None,
    )

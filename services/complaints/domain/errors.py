"""The errors the complaint rules raise on purpose.

They extend the runtime's plain failures, which the API's error handler shows as they are: an
illegal transition is a 409 naming the current state, a complaint or decision that breaks a rule
is a 422 naming every offending field at once (the fields of the request body, e.g.
`complainant.phone`).
"""

from __future__ import annotations

from services.runtime.failures import Conflict, InvalidInputs


class IllegalTransition(Conflict):
    """The complaint is not in a state that allows the action; `state` says which it is in."""

    def __init__(self, complaint_id: str, state: str, action: str) -> None:
        reason = f"complaint {complaint_id} is {state}; cannot {action}"
        super().__init__(reason, field="state")
        self.complaint_id, self.state, self.action = complaint_id, state, action


class InvalidComplaint(InvalidInputs):
    """A complaint, rejection or closing breaks the rules; nothing changed."""


class LinkedDuplicate(Conflict):
    """A complaint linked as a duplicate (either way) stays with the market of its link: moving
    it would leave a duplicate pointing across markets at a merchant it is not about."""

    def __init__(self, complaint_id: str, action: str) -> None:
        super().__init__(
            f"complaint {complaint_id} is linked to a duplicate complaint; cannot {action}",
            field="duplicate_of",
        )
        self.complaint_id, self.action = complaint_id, action

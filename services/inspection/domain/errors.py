"""The errors the inspection rules raise on purpose.

They extend the shared HTTP errors, so the API's error handler shows them as they are: an illegal
transition is a 409 naming the current state, a completion that breaks a rule is a 422 naming
every offending field at once.
"""

from __future__ import annotations

from services.runtime.failures import Conflict, InvalidInputs


class IllegalTransition(Conflict):
    """The task or order is not in a state that allows the action; `state` says which it is in."""

    def __init__(
        self, entity: str, entity_id: str, state: str, action: str, detail: str | None = None
    ) -> None:
        reason = f"{entity} {entity_id} is {state}; cannot {action}"
        if detail:
            reason = f"{reason}: {detail}"
        super().__init__(reason, field="state")
        self.entity, self.entity_id, self.state, self.action = entity, entity_id, state, action
        self.detail = detail


class InvalidCompletion(InvalidInputs):
    """A completion (outcome, findings, departments, note) breaks the rules; nothing changed."""


class InvalidVerification(InvalidInputs):
    """A verification's note or photos break the rules; nothing changed."""

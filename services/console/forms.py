"""What a page with forms shows besides its data: the errors beside the fields, what was typed
(shown again, so a refused form loses nothing), the notice after a change went through, and the
page's status. A page is made the same way on its first showing and after a refusal; only this
value differs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.console.sessions import Session
from services.console.web import render


@dataclass(frozen=True)
class Form:
    errors: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    notice: str | None = None
    status: int = 200

    @classmethod
    def refused(
        cls, errors: Mapping[str, str], values: Mapping[str, Any] | None = None, status: int = 422
    ) -> Form:
        """The page again after its form was refused: nothing changed, what was typed kept."""
        return cls(errors=errors, values=values or {}, status=status)

    @classmethod
    def done(cls, request: Request, notices: Mapping[str, str]) -> Form:
        """The page a change redirected to: the notice its `?done=` names (none for another)."""
        return cls(notice=notices.get(request.query_params.get("done", "")))

    def context(self, **defaults: Any) -> dict[str, Any]:
        """The template's `errors`, `values` (over `defaults`, what was typed wins) and `notice`."""
        return {
            "errors": dict(self.errors),
            "values": {**defaults, **self.values},
            "notice": self.notice,
        }

    def page(
        self,
        request: Request,
        template: str,
        who: Session | None,
        defaults: Mapping[str, Any] | None = None,
        **context: Any,
    ) -> Response:
        """The page showing this form, first shown or refused: rendered with the form's status,
        and its errors, values (over the `defaults` a blank form shows) and notice beside the
        page's own `context`."""
        fields = self.context(**(defaults or {}))
        return render(request, template, who, status_code=self.status, **context, **fields)


BLANK = Form()

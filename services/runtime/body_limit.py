"""A cap on the size of a request's body, for every HTTP app (the services and the console).

Without it a body is read whole before anything looks at it: FastAPI reads a JSON body into
memory, Starlette spools a form's files to disk, and the public endpoints (a citizen's complaint
and its photos, a terminal's readings) take bodies from anyone. A body declared larger than its
cap (Content-Length) is refused before a byte of it is read; a body that grows past its cap
while it streams (chunked, or a Content-Length that lied) is cut there. Either way the app's own
answer, if it had begun one, is replaced by the refusal: what the app saw was a truncated body.

Forms with files (`multipart/form-data`) have a cap of their own, since photos are larger than
any JSON document here; an endpoint may still read less (services/runtime/photo_uploads.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The answer to a body over its cap, made for the request (its scope) and the cap.
Refusal = Callable[[Scope, int], Response]

MIB: Final = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised into the app from `receive` once the body has passed its cap."""


class BodyLimit:
    """ASGI middleware: bodies of at most `max_bytes`, forms with files of at most
    `max_multipart_bytes` (default: `max_bytes`); beyond, the answer is `refuse(scope, cap)`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        refuse: Refusal,
        max_multipart_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_multipart_bytes = max_multipart_bytes or max_bytes
        self.refuse = refuse

    @staticmethod
    def is_form(headers: Headers) -> bool:
        """A form that may carry files."""
        return headers.get("content-type", "").lower().startswith("multipart/form-data")

    def cap(self, headers: Headers) -> int:
        return self.max_multipart_bytes if self.is_form(headers) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cap = self.cap(headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await self.refuse(scope, cap)(scope, receive, send)
            return

        seen = 0
        exceeded = answered = False

        async def capped() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    exceeded = True
                    raise BodyTooLarge(cap)
            return message

        async def unless_exceeded(message: Message) -> None:
            nonlocal answered
            if not exceeded:
                await send(message)
            elif not answered:
                # Whatever the app made of the truncated body (FastAPI: a 400 about parsing).
                answered = True
                await self.refuse(scope, cap)(scope, receive, send)

        try:
            await self.app(scope, capped, unless_exceeded)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not answered:
            await self.refuse(scope, cap)(scope, receive, send)

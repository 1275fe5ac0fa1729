"""One way in: a delivery goes to the handler registered for its CloudEvents type, parsed with
that type's model from the catalog (contracts.events).

    router = EventRouter({"complaint.accepted": on_accepted})   # on_accepted(envelope, delivery)
    service.subscribe(topics.COMPLAINTS_EVENTS.name, router)

The type is read from the `ce_type` header every producer of ours sets (services/runtime/outbox.py)
and, failing that, from the event itself, so a record without the header is routed all the same.
A type the router has no handler for is another consumer's business and is passed over; a
record whose type is unreadable, or whose event does not fit its model, is poison
(`PoisonMessage`, dead-lettered by the dispatcher).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from contracts.envelope import Envelope
from contracts.events import spec
from services.runtime.messaging import Delivery, PoisonMessage, parse_lenient

RouteHandler = Callable[[Envelope[Any], Delivery], Awaitable[None]]


def delivery_type(delivery: Delivery) -> str:
    """The CloudEvents type: the `ce_type` header, else the event's own `type`."""
    for name, value in delivery.headers:
        if name == "ce_type":
            try:
                return value.decode()
            except UnicodeDecodeError as exc:
                raise PoisonMessage(f"ce_type: not UTF-8: {exc}") from exc
    return delivery.event_type()


class EventRouter:
    def __init__(self, routes: Mapping[str, RouteHandler] | None = None) -> None:
        """`routes`: a handler for each event type; more can be added with `route`."""
        self._routes: dict[str, tuple[Any, RouteHandler]] = {}
        self.__name__ = "router"
        for event_type, handler in (routes or {}).items():
            self.route(event_type, handler)

    def route(self, event_type: str, handler: RouteHandler) -> None:
        if event_type in self._routes:
            raise ValueError(f"{event_type}: already routed")
        found = spec(event_type)
        self._routes[event_type] = (found.envelope[found.data], handler)

    def types(self) -> frozenset[str]:
        return frozenset(self._routes)

    async def __call__(self, delivery: Delivery) -> None:
        route = self._routes.get(delivery_type(delivery))
        if route is None:
            return
        model, handler = route
        await handler(parse_lenient(model, delivery.value), delivery)

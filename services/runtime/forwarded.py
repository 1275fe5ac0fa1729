"""Whom a request is for, when a trusted proxy made it.

The public rate limits (services/runtime/ratelimit.py) count requests per client address. The
portal's citizens reach the services through the console, so without this every citizen would
be one client, the console's, and one busy page would refuse them all. The console names the
citizen in `X-Forwarded-For`; a service believes that header only from the peers in its
`forwarded_allow_ips` setting. uvicorn's own middleware does the parsing (the rightmost address
no trusted proxy vouches for); it is installed in the app rather than in the server so that the
apps tested in-process behave as served.
"""

from __future__ import annotations

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def trust_forwarded(app: FastAPI, allow_ips: str) -> None:
    """Add last, so that it runs first: every other middleware and route sees the client."""
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=allow_ips)

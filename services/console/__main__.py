"""`python -m services.console`: the staff console on CONSOLE_HTTP_PORT (default 8100)."""

from __future__ import annotations

import uvicorn

from services.console.app import build
from services.console.settings import ConsoleSettings
from services.runtime import logging as jsonlog


def main() -> None:
    settings = ConsoleSettings()
    jsonlog.configure("console", settings.log_level, json=settings.log_json)
    uvicorn.run(
        build(settings),
        host=settings.http_host,
        port=settings.port,
        log_config=None,
        # The app reads X-Forwarded-For itself, from its own trusted peers
        # (services/runtime/forwarded.py).
        proxy_headers=False,
        # A live risk board holds a server-sent-events stream open: stop within seconds anyway.
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()

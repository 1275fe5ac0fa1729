"""The API documents' pages, served with no outside host: /docs (Swagger UI), its OAuth2
redirect page, and /redoc (ReDoc).

FastAPI's own pages load their scripts and styles from a CDN, so on a machine without internet
they stay blank. The bundles come from the `fastapi-offline` package instead (Swagger UI 5 and
ReDoc 2, as built by their projects) and are served by each service under `/docs/static/`. The
pages are registered as plain routes, as FastAPI registers its own: outside the OpenAPI document
and the API's route table.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(str(resources.files("fastapi_offline").joinpath("static")))
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
STATIC_URL = "/docs/static"
SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    # Swagger UI's default validator badge is an image from validator.swagger.io: none.
    "validatorUrl": None,
    # The token given to Authorize survives a reload of the page.
    "persistAuthorization": True,
}


def install(app: FastAPI) -> None:
    """Serve the pages and their assets; `app` must be built with `docs_url=None` and
    `redoc_url=None`, so that FastAPI adds no page of its own pointing at the CDN."""
    if not (ASSETS / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"the Swagger UI assets are missing from {ASSETS}")
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(STATIC_URL, StaticFiles(directory=ASSETS), name="docs-static")

    def root(request: Request) -> str:
        root_path: str = request.scope.get("root_path", "")
        return root_path.rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=base + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{base}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{base}{STATIC_URL}/favicon.png",
            oauth2_redirect_url=base + OAUTH2_REDIRECT_URL,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        return get_redoc_html(
            openapi_url=base + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{base}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)

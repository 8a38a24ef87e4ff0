"""The API's front door: ``GET /api/v1/`` (an index of links) and ``GET /api/v1/docs``
(interactive documentation of the OpenAPI document: the vendored Swagger UI under
``crmkit/web/static/swagger-ui/``, refreshed by ``scripts/vendor-swagger-ui.sh``; no CDN).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .errors import JSON_TYPE, dumps

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

STATIC = Path(__file__).parent / "static"


def routes(crm: "Crm", prefix: str, resources: list[str], plugins: list[str]) -> list[BaseRoute]:
    """The index (with and without its trailing slash), the docs page and its files."""
    index = dumps(_index(crm, prefix, resources, plugins))
    page = _page(crm, prefix).encode("utf-8")

    async def index_endpoint(request: Request) -> Response:
        return Response(index, media_type=JSON_TYPE)

    async def docs_endpoint(request: Request) -> Response:
        return HTMLResponse(page, headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    return [
        Route(prefix, index_endpoint, methods=["GET"], name="api_index"),
        Route(prefix + "/", index_endpoint, methods=["GET"], name="api_index_slash"),
        Route(prefix + "/docs", docs_endpoint, methods=["GET"], name="api_docs"),
        Mount(prefix + "/docs/assets", app=StaticFiles(directory=STATIC), name="api_docs_assets"),
    ]


def _index(crm: "Crm", prefix: str, resources: list[str], plugins: list[str]) -> dict[str, Any]:
    return {
        "name": f"{crm.settings.name} API",
        "openapi": f"{prefix}/openapi.json",
        "docs": f"{prefix}/docs",
        "health": f"{prefix}/health",
        "resources": {name: f"{prefix}/{name}" for name in resources},
        "plugins": {name: f"{prefix}/{name}/" for name in plugins},
        "authentication": "Authorization: Bearer <token> (crmkit users token EMAIL, or POST /tokens)",
    }


def _page(crm: "Crm", prefix: str) -> str:
    title = html.escape(f"{crm.settings.name} API")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{prefix}/docs/assets/swagger-ui/swagger-ui.css">
</head>
<body data-openapi="{prefix}/openapi.json">
<noscript>{title}: the OpenAPI document is at <a href="{prefix}/openapi.json">{prefix}/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="{prefix}/docs/assets/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{prefix}/docs/assets/api-docs.js"></script>
</body>
</html>
"""

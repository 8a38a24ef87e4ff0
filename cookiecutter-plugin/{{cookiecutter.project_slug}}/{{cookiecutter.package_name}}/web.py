"""The plugin's HTTP API, mounted at ``/api/v1/{{ cookiecutter.plugin_name }}/`` behind the API token.

``GET /handovers?limit=N`` lists the latest handovers of the deals the token's user may read. The
route is described in the deployment's OpenAPI document (``/api/v1/openapi.json``) by ``document``.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from crmkit import Access, Crm, ValidationError, to_dict
from crmkit.web import Param, document, request_services, schema_of

LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "how many, newest first (default 20)")
Read = Callable[..., list[Any]]


def routes(read: Read, record: type) -> list[BaseRoute]:
    """The routes, reading through ``read(crm, limit=, access=)``, which returns ``record``s."""

    async def list_handovers(request: Request) -> JSONResponse:
        """The latest handovers of the deals the user may read."""
        raw = request.query_params.get("limit", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise ValidationError(f"limit: a whole number from 1 to 100, not {raw[:20]!r}", field="limit")
        services = request_services(request)  # the token's user: their record rules apply
        crm: Crm = services.crm
        access: Access = services.access
        found = await run_in_threadpool(read, crm, limit=int(raw), access=access)
        return JSONResponse({"items": [to_dict(h) for h in found]})

    page = {"type": "object", "required": ["items"],
            "properties": {"items": {"type": "array", "items": schema_of(record)}}}
    return [document(Route("/handovers", list_handovers, methods=["GET"]), response=page, query=(LIMIT,))]

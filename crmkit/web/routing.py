"""One Starlette route per path, whatever the number of methods on it.

Starlette matches a route per (path, methods): with one route per operation, ``PUT /deals``
matched ``GET /deals`` first and answered 405 with ``Allow: GET, HEAD`` although ``POST``
exists too. Grouping the operations of a path into one route makes the 405's ``Allow``
header complete, and lets ``OPTIONS`` answer with it (204) for clients that ask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:  # pragma: no cover
    from .endpoint import Endpoint
    from .operation import Operation


def path_routes(prefix: str, endpoints: Sequence[tuple["Operation", "Endpoint"]]) -> list[Route]:
    """A route for each path of ``endpoints`` (in their order), dispatching on the method."""
    by_path: dict[str, dict[str, tuple["Operation", "Endpoint"]]] = {}
    for op, endpoint in endpoints:
        by_path.setdefault(op.path, {})[op.method] = (op, endpoint)
    return [_route(prefix + path, methods) for path, methods in by_path.items()]


def _route(path: str, methods: dict[str, tuple["Operation", "Endpoint"]]) -> Route:
    allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"})
    allow = ", ".join(allowed)
    handlers = {m: e for m, (_, e) in methods.items()}
    if "GET" in handlers:
        handlers["HEAD"] = handlers["GET"]

    async def dispatch(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        return await handlers[request.method](request)

    first = next(iter(methods.values()))[0]
    dispatch.__name__ = first.operation_id
    return Route(path, dispatch, methods=allowed, name=first.operation_id)

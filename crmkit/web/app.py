"""``create_app(crm)``: the deployment's Starlette application.

    from crmkit import Crm
    from crmkit.web import create_app
    app = create_app(Crm.from_config("crmkit.toml"))   # then: uvicorn, or crmkit.web.server.serve

The API lives under ``/api/v1``; enabled plugins' routes (``crm_register_routes``)
are mounted under ``/api/v1/<plugin>/`` behind the same bearer-token check.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from ..core.auth import TokenCache
from ..core.errors import ConfigError, CrmError
from ..core.hookcall import call_hook
from ..ops.config import logging_options, monitoring_options
from . import apidocs, health, idempotency, openapi
from .health import Readiness
from .metrics import DIR_ENV as METRICS_DIR_ENV, Registry
from .observe import Observe
from .proxy import ProxyHeaders, trusted_proxies, via_trusted_proxy
from .cors import cors_middleware
from .routing import path_routes
from .endpoint import ServicesCache, authenticate, make_endpoint
from .limits import server_limits
from .errors import JSON_TYPE, crm_error_handler, dumps, error_response, http_exception_handler, server_error_handler
from .middleware import ASGIApp, BodyLimit, Receive, Scope, Send
from .operation import Operation
from .resources import (
    companies, contacts, deals, forms, leads, notes, pipelines, privacy, reports, search, tasks, timeline, tokens,
    users,
)
from .resources import archive, calendar, file_transfer, files
from .resources import card_transfer, import_uploads, imports

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.clock import Clock
    from ..core.services import Services

PREFIX = openapi.PREFIX
USER_KEY = "crmkit.user_id"


def operations(crm: "Crm", clock: "Clock") -> list[Operation]:
    """Every core operation of the API, in routing order."""
    ops: list[Operation] = [
        Operation("GET", "/health", lambda ctx: {"status": "ok"}, "Liveness check (no token)", "meta", "health",
                  response={"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
                  public=True, inline=True),
    ]
    for module in (leads, contacts, privacy, companies, deals, tasks, notes, timeline, pipelines, users, tokens,
                   search, reports):
        ops += module.operations(crm)
    ops += forms.operations(crm, clock)
    ops = archive.with_archived_filter(ops) + archive.operations(crm, ops)
    ops += files.operations(crm) + calendar.operations(crm)
    ops += imports.operations(crm) + card_transfer.operations(crm, ops)  # import jobs, exports, duplicates, merges
    from ..messages import web as messages_web  # crmkit.messages uses crmkit.web: imported here

    ops += messages_web.operations(crm)
    return card_transfer.with_transfer(crm, ops)


def create_app(
    crm: "Crm", *, clock: "Clock | None" = None, max_body_bytes: int | None = None,
    body_timeout_seconds: float | None = None, token_cache_seconds: float = 10.0, debug: bool = False,
) -> Starlette:
    """The Starlette app serving ``crm``.

    :param clock: the time source of rate limits (default: the deployment's clock).
    :param max_body_bytes: larger request bodies get 413 (default: ``[settings.server]``, else 1 000 000).
    :param body_timeout_seconds: a request body must arrive within this many seconds of the request's
        start, else 408 and the connection is closed (default: ``[settings.server]``, else 30).
    :param token_cache_seconds: how long a verified token (and the user's role) is kept without a
        database look-up (0: never) -- while the deployment's security stamp stays the same: a
        revocation or role change empties the caches at once here, and in other processes at their
        next stamp read (``Crm.SECURITY_CHECK_SECONDS``).
    """
    limits = server_limits(crm)
    idempotency.create_table(crm)
    tokens_cache = TokenCache(crm, ttl=token_cache_seconds)
    ops = operations(crm, clock or crm.clock)
    plugin_routes = _plugin_routes(crm, ops)
    doc = dumps(card_transfer.document(imports.document(files.document(openapi.build(crm, ops, plugin_routes)))))

    async def openapi_json(request: Request) -> Response:
        return Response(doc, media_type=JSON_TYPE)

    routes: list[BaseRoute] = [Route(f"{PREFIX}/openapi.json", openapi_json, methods=["GET"], name="openapi")]
    routes += apidocs.routes(crm, PREFIX, sorted({op.path.strip("/").split("/", 1)[0] for op in ops}),
                             sorted(plugin_routes))
    services = ServicesCache(crm, token_cache_seconds)
    streamed = {files.DOWNLOAD: file_transfer.download_endpoint(crm, tokens_cache, services),  # not JSON
                imports.REJECTS: imports.rejects_endpoint(crm, tokens_cache, services),
                **card_transfer.export_endpoints(crm, tokens_cache, services, ops)}
    routes += path_routes(PREFIX, [(op, streamed.get(op.operation_id) or
                                    make_endpoint(op, crm, tokens_cache, services)) for op in ops])
    routes += calendar.routes()  # /calendar/<secret>.ics: no token, the secret is the key
    from ..messages.web import routes as messages_routes

    routes += messages_routes()  # unsubscribe links, SMS gateway and Telegram webhooks: signed, no token
    for name, prs in plugin_routes.items():
        open_routes = [r for r in prs if getattr(r, PUBLIC_FLAG, False)]
        guarded = _Authenticated(Router(routes=[r for r in prs if not getattr(r, PUBLIC_FLAG, False)]), tokens_cache)
        routes.append(Mount(f"{PREFIX}/{name}", routes=[*open_routes, Mount("", app=guarded)], name=f"plugin_{name}"))
    from ..ui.app import routes as ui_routes  # here: crmkit.ui imports crmkit.web's helpers
    from ..i18n.mail import deployment_language
    from ..i18n.web import RequestLanguage

    monitoring, logging_opts = monitoring_options(crm.settings), logging_options(crm.settings)
    registry, readiness = Registry(os.environ.get(METRICS_DIR_ENV)), Readiness(crm, monitoring)
    routes += health.routes(crm, monitoring, registry, readiness)  # /healthz, /readyz, /metrics
    routes += ui_routes(crm)  # the web UI at / (crmkit.ui), after the API's routes
    middleware = [Middleware(file_transfer.Uploads, crm=crm, tokens=tokens_cache),
                  Middleware(import_uploads.ImportUploads, crm=crm, tokens=tokens_cache), Middleware(
        BodyLimit, max_bytes=limits.max_body_bytes if max_body_bytes is None else max_body_bytes,
        timeout=limits.body_timeout_seconds if body_timeout_seconds is None else body_timeout_seconds)]
    # the request's language (Accept-Language, else the deployment's) for error messages: crmkit.i18n.web
    middleware.insert(0, Middleware(RequestLanguage, default=deployment_language(crm)))
    if limits.cors_origins:  # outermost: a preflight is answered before anything reads a body
        middleware.insert(0, cors_middleware(limits.cors_origins))
    # outermost of all: the public client/scheme/host first, then the request's id, log line and metrics
    middleware.insert(0, Middleware(Observe, registry=registry, options=logging_opts, plugins=sorted(plugin_routes),
                                    trust_request_id=via_trusted_proxy))
    proxies = trusted_proxies(crm)
    if proxies:  # none trusted: no layer at all
        middleware.insert(0, Middleware(ProxyHeaders, trusted=proxies))
    app = Starlette(
        debug=debug, routes=routes, middleware=middleware,
        exception_handlers={HTTPException: http_exception_handler, CrmError: crm_error_handler,
                            Exception: server_error_handler},
    )
    # Starlette answers "/deals/" with a redirect to an absolute URL built from the request's
    # Host header: a caller-chosen host in our answer. A trailing slash is a plain 404 instead.
    app.router.redirect_slashes = False
    app.state.crm = crm
    app.state.operations = ops
    app.state.token_cache = tokens_cache
    app.state.metrics = registry
    app.state.readiness = readiness
    return app


def _plugin_routes(crm: "Crm", ops: Sequence[Operation]) -> dict[str, list[BaseRoute]]:
    """Each enabled plugin's routes, by plugin name (refusing names that shadow the core's)."""
    taken = {op.path.strip("/").split("/", 1)[0] for op in ops} | {"openapi.json"}
    out: dict[str, list[BaseRoute]] = {}
    for name, routes in reversed(call_hook(crm.pm, "crm_register_routes", crm=crm)):  # in load order
        if not routes:
            continue
        if name in taken:
            raise ConfigError(f"plugin {name}: its routes would shadow the core's /api/v1/{name}/; rename the plugin")
        routes = list(routes)
        for r in routes:
            if not isinstance(r, BaseRoute):
                raise ConfigError(f"plugin {name}: crm_register_routes must return Starlette routes, got {r!r}")
        out[name] = routes
    return out


PUBLIC_FLAG = "crmkit_public"


def public(route: BaseRoute) -> BaseRoute:
    """Mark a plugin route as reachable without a bearer token (webhooks: the route
    authenticates the caller itself, e.g. by a signature over the body)."""
    setattr(route, PUBLIC_FLAG, True)
    return route


class _Authenticated:
    """Pure ASGI: a plugin's routes see only requests with a valid bearer token."""

    def __init__(self, app: ASGIApp, tokens: TokenCache) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                scope[USER_KEY] = await authenticate(Request(scope), self.tokens)
            except CrmError as exc:
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def request_user_id(request: Request) -> int:
    """The authenticated user of a plugin route's request."""
    return int(request.scope[USER_KEY])


def request_services(request: Request) -> "Services":
    """The core services acting as the request's user (for plugin routes)."""
    crm: Any = request.app.state.crm
    return crm.as_user(request_user_id(request))  # type: ignore[no-any-return]

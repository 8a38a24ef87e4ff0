"""Pure ASGI: every HTTP request gets an id, a log line and its place in the metrics.

The id is the client's ``X-Request-ID`` when it comes through a trusted proxy (and is 1-64 of
``A-Za-z0-9._:-``), else a fresh one; it is sent back as ``X-Request-ID``, set as
:func:`crmkit.current_request_id` while the app runs (every event a command emits carries it),
and written in the request's log line. The route is the matched path template
(``/api/v1/deals/{id}``; ``<unmatched>`` for a 404 that matched nothing, ``<mount>/{path}``
inside a mount none of whose routes matched), so neither metrics nor
logs hold ids or secrets from paths, nor query strings.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from typing import Any, Sequence

from ..core.request_context import _current, new_request_id, valid_request_id
from ..ops.config import LoggingOptions
from .health import PROBE_PATHS
from .metrics import Registry
from .middleware import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("crmkit.requests")
HEADER = b"x-request-id"
UNMATCHED = "<unmatched>"
PLUGIN_PREFIX = "/api/v1/"


class Observe:
    """Request id, metrics and one log line per request (see the module docstring)."""

    def __init__(self, app: ASGIApp, registry: Registry, options: LoggingOptions, plugins: Sequence[str] = (),
                 trust_request_id: Any = None) -> None:
        self.app = app
        self.registry = registry
        self.options = options
        self.plugins = {f"{PLUGIN_PREFIX}{p}/": p for p in plugins}
        self.trust_request_id = trust_request_id
        """A function ``(scope) -> bool``: whether a client's ``X-Request-ID`` is taken (trusted proxies)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        status = 500
        header = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        registry = self.registry
        registry.in_progress += 1
        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
            registry.in_progress -= 1
            seconds = time.perf_counter() - started
            route = route_template(scope)
            plugin = self._plugin(route)
            registry.observe(scope["method"], route, status, plugin, seconds)
            if self.options.requests and (self.options.probes or scope["path"] not in PROBE_PATHS) \
                    and log.isEnabledFor(logging.INFO):
                self._log(scope, request_id, route, status, plugin, seconds)

    def _request_id(self, scope: Scope) -> str:
        if self.trust_request_id is not None and self.trust_request_id(scope):
            for name, value in scope["headers"]:
                if name == HEADER:
                    given = value.decode("latin-1")
                    if valid_request_id(given):
                        return given
                    break
        return new_request_id()

    def _plugin(self, route: str) -> str:
        if route.startswith(PLUGIN_PREFIX):
            for prefix, name in self.plugins.items():
                if route.startswith(prefix):
                    return name
        return ""

    def _log(self, scope: Scope, request_id: str, route: str, status: int, plugin: str, seconds: float) -> None:
        ms = round(seconds * 1000, 1)
        extra: dict[str, Any] = {"request_id": request_id, "method": scope["method"], "route": route,
                                 "status": status, "duration_ms": ms}
        if plugin:
            extra["plugin"] = plugin
        client = ""
        if self.options.client_addresses and scope.get("client"):
            extra["client"] = scope["client"][0]
            client = f" client={scope['client'][0]}"
        log.info("%s %s %s %d %.1fms%s", request_id, scope["method"], route, status, ms, client, extra=extra)


def route_template(scope: Scope) -> str:
    """The matched route's path with each path parameter as ``{name}`` (``<unmatched>`` if none matched)."""
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return UNMATCHED
    if not (inspect.isroutine(endpoint) or inspect.isclass(endpoint) or isinstance(endpoint, functools.partial)):
        return f"{scope.get('root_path', '')}/{{path}}"  # a mount (its app) matched, none of its routes did
    path: str = scope["path"]
    params = scope.get("path_params") or {}
    if not params:
        return path
    for name, value in sorted(params.items(), key=lambda kv: -len(str(kv[1]))):
        text = str(value)
        if text and "/" in text:
            path = path.replace(text, "{" + name + "}", 1)
    segments = path.split("/")
    for i, seg in enumerate(segments):
        for name, value in params.items():
            text = str(value)
            if not text or "/" in text or not seg.startswith(text):
                continue
            rest = seg[len(text):]
            if not rest or rest[0] in ".-_~":  # the whole segment, or the parameter and a suffix ("{secret}.ics")
                segments[i] = "{" + name + "}" + rest
                break
    return "/".join(segments)

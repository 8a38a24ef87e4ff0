"""The ASGI app of a many-tenant installation: each request goes to exactly one tenant's app.

The tenant is found by the request's host name (``Host``, port dropped), else by a path prefix
(``/acme/api/v1/...`` is the tenant's ``/api/v1/...``, with ``root_path`` = ``/acme``). An
unknown host is a 404 and a disabled tenant a 403 (JSON, the API's error shape); nothing of any
tenant runs for them. ``tenants.toml`` is read again when it changes (at most every
``reload_seconds``), so ``crmkit tenants add|disable`` apply to a running server.

Pure ASGI (no ``BaseHTTPMiddleware``): a hit costs a header scan and a dict look-up; a tenant's
first request starts it in a worker thread (:class:`~crmkit.tenants.pool.TenantPool`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import anyio.to_thread

from .pool import TenantPool
from .registry import Tenant, TenantRegistry

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
TENANT_KEY = "crmkit.tenant"
"""The scope key naming the request's tenant."""
MAX_OPEN_ENV = "CRMKIT_TENANTS_MAX_OPEN"
"""How ``crmkit tenants serve --workers N`` tells each process its ``--max-open``."""
LOG_FORMAT_ENV = "CRMKIT_TENANTS_LOG_FORMAT"
"""... and its ``--log-format``."""


class TenantRouter:
    """Route each request to its tenant's app.

    :param registry: the installation's ``tenants.toml`` (a path, re-read when it changes) or a
        :class:`TenantRegistry` (fixed).
    :param pool: the started tenants (default: a :class:`TenantPool` of its default size).
    """

    def __init__(self, registry: TenantRegistry | str | os.PathLike[str], *, pool: TenantPool | None = None,
                 reload_seconds: float = 2.0) -> None:
        self._path: Path | None = None
        if isinstance(registry, TenantRegistry):
            self.registry = registry
        else:
            self._path = Path(registry)
            self.registry = TenantRegistry.load(self._path)
        self.pool = pool if pool is not None else TenantPool()
        self.reload_seconds = reload_seconds
        self._checked = time.monotonic()
        self._mtime = self._stat()
        self._reload_lock = threading.Lock()

    # -- the registry -------------------------------------------------------------

    def _stat(self) -> float | None:
        if self._path is None:
            return None
        try:
            return self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def refresh(self, *, force: bool = False) -> None:
        """Read ``tenants.toml`` again if it changed (closing the started tenants it disabled or removed)."""
        now = time.monotonic()
        if self._path is None or (not force and now - self._checked < self.reload_seconds):
            return
        with self._reload_lock:
            self._checked = now
            mtime = self._stat()
            if mtime == self._mtime and not force:
                return
            new = TenantRegistry.load(self._path)
            old, self.registry, self._mtime = self.registry, new, mtime
        for t in old:
            if t.name not in new or new.get(t.name).disabled:
                self.pool.forget(t.name)

    def resolve(self, scope: Scope) -> tuple[Tenant, str] | None:
        """The request's tenant and the path prefix that chose it ("" for a host name)."""
        host = _host(scope)
        registry = self.registry
        if host is not None:
            tenant = registry.by_host(host)
            if tenant is not None:
                return tenant, ""
        return registry.by_path(scope.get("path", ""))

    # -- ASGI ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":  # no websockets in crmkit
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        self.refresh()
        found = self.resolve(scope)
        if found is None:
            await _error(send, 404, "unknown_tenant", "no tenant serves this host name or path")
            return
        tenant, prefix = found
        if tenant.disabled:
            await _error(send, 403, "tenant_disabled", f"the deployment {tenant.name} is disabled")
            return
        pool = self.pool
        entry = pool.acquire_started(tenant, app=True)
        if entry is None:  # its first request (or after an eviction): start it off the event loop
            entry = await anyio.to_thread.run_sync(lambda: pool.acquire(tenant, app=True))
        try:
            if prefix:
                path = scope["path"][len(prefix):] or "/"
                scope = {**scope, "path": path, "raw_path": path.encode("utf-8"),
                         "root_path": scope.get("root_path", "") + prefix}
            scope[TENANT_KEY] = tenant.name
            assert entry.app is not None
            await entry.app(scope, receive, send)
        finally:
            pool.release(entry)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await anyio.to_thread.run_sync(self.pool.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        self.pool.close()


def _host(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            if host.startswith("["):  # [::1]:8000
                return host.split("]", 1)[0] + "]"
            return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")
    server = scope.get("server")
    return str(server[0]).lower() if server else None


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def app_from_env() -> TenantRouter:
    """The router of one ``crmkit tenants serve --workers N`` process (uvicorn's factory): the
    installation at ``$CRMKIT_TENANTS``, ``$CRMKIT_TENANTS_MAX_OPEN`` tenants kept started."""
    from ..ops.config import LoggingOptions
    from ..ops.logs import configure_logging
    from .registry import REGISTRY_ENV

    configure_logging(LoggingOptions(format=os.environ.get(LOG_FORMAT_ENV, "text")))
    max_open = int(os.environ.get(MAX_OPEN_ENV, "0")) or None
    pool = TenantPool(freeze_gc=True) if max_open is None else TenantPool(max_open=max_open, freeze_gc=True)
    return TenantRouter(os.environ[REGISTRY_ENV], pool=pool)

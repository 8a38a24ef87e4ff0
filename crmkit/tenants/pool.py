"""Started tenants: each its own :class:`~crmkit.Crm` (plugin manager, engine, caches) and web app,
started on first use and kept in a bounded LRU.

Nothing is shared between two tenants' entries: a tenant's ``Crm`` is built from its own
crmkit.toml exactly as ``crmkit serve`` builds a single deployment. When more than ``max_open``
tenants are started, the least recently used idle one is closed (its engine disposed); its next
request starts it again. A tenant in use by a request is never closed under it.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable

import attrs

from .. import Crm, Settings
from .registry import Tenant

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp

log = logging.getLogger("crmkit.tenants")
DEFAULT_MAX_OPEN = 128
PG_POOL_SIZE = 2
"""Idle PostgreSQL connections a started tenant keeps (a burst opens up to 8 more, closed after):
``max_open`` tenants hold at most ``max_open x 2`` idle connections (docs/tenants.md)."""


def start_crm(tenant: Tenant) -> Crm:
    """The tenant's deployment, started from its crmkit.toml (the environment's ``CRMKIT_PLUGINS``
    and ``CRMKIT_DATABASE_URL`` are not applied: they would give every tenant the same ones). On
    PostgreSQL its connection pool is small (:data:`PG_POOL_SIZE`): many tenants share one server."""
    settings = Settings.load(tenant.config, environ={})
    url = settings.database_url()
    if not url.startswith("postgresql"):
        return Crm(settings)
    from ..core.db import make_engine  # internal: crmkit's engine options, with a smaller pool

    engine = make_engine(url, pool_size=PG_POOL_SIZE, max_overflow=8)
    try:
        return Crm(settings, engine=engine)
    except BaseException:
        engine.dispose()
        raise


def start_app(crm: Crm) -> "ASGIApp":
    from ..web import create_app

    return create_app(crm)


@attrs.define(eq=False)
class OpenTenant:
    """A started tenant."""

    tenant: Tenant
    crm: Crm
    app: "ASGIApp | None" = None
    active: int = 0
    """Requests (or passes) using it now: an entry in use is not closed."""
    started_seconds: float = 0.0
    retired: bool = False
    """Replaced or forgotten while in use: closed when its last user releases it."""


class TenantPool:
    """Started tenants by name, at most ``max_open`` idle ones kept (least recently used closed first).

    :param make_crm: how a tenant's ``Crm`` is started (default :func:`start_crm`; tests pass a clock).
    :param make_app: how its ASGI app is made (default: :func:`crmkit.web.create_app`).
    """

    def __init__(self, *, max_open: int = DEFAULT_MAX_OPEN, make_crm: Callable[[Tenant], Crm] = start_crm,
                 make_app: Callable[[Crm], "ASGIApp"] = start_app, freeze_gc: bool = False) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.max_open = max_open
        self.freeze_gc = freeze_gc
        """After a tenant starts, move every object of the process out of the cyclic garbage
        collector's reach (``gc.freeze``): a started tenant is long-lived, and full collections
        would otherwise walk every tenant's objects again and again. Closing a tenant gives them
        back (``gc.unfreeze``); the next start collects the closed tenant's cycles before freezing
        again (a full collection: a start after an eviction is the slower for it)."""
        self._thawed = False
        self._make_crm = make_crm
        self._make_app = make_app
        self._open: "OrderedDict[str, OpenTenant]" = OrderedDict()
        self._lock = threading.Lock()
        self._starting: dict[str, threading.Lock] = {}
        self.started = 0
        """How many tenant starts this pool made (a start after an eviction counts again)."""
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._open)

    def names(self) -> list[str]:
        """The started tenants, least recently used first."""
        with self._lock:
            return list(self._open)

    def peek(self, name: str) -> OpenTenant | None:
        """The started tenant ``name`` (marked recently used), or None: never starts one."""
        with self._lock:
            entry = self._open.get(name)
            if entry is not None:
                self._open.move_to_end(name)
            return entry

    def acquire(self, tenant: Tenant, *, app: bool = False) -> OpenTenant:
        """The started ``tenant`` (starting it if needed), counted as in use until :meth:`release`.
        ``app``: also make its web app. A tenant whose registry entry changed is started afresh."""
        entry = self._claim(tenant, app)
        if entry is not None:
            return entry
        with self._lock:
            gate = self._starting.setdefault(tenant.name, threading.Lock())
        with gate:  # one start per tenant at a time; others wait for it
            entry = self._claim(tenant, app)
            if entry is not None:
                return entry
            began = time.perf_counter()
            crm = self._make_crm(tenant)
            try:
                made = self._make_app(crm) if app else None
            except BaseException:
                crm.close()
                raise
            entry = OpenTenant(tenant=tenant, crm=crm, app=made, active=1,
                               started_seconds=time.perf_counter() - began)
            log.info("tenant %s started in %.3fs", tenant.name, entry.started_seconds,
                     extra={"tenant": tenant.name, "duration_ms": round(entry.started_seconds * 1000, 1)})
            with self._lock:
                old = self._open.pop(tenant.name, None)
                self._open[tenant.name] = entry
                self.started += 1
                closing = self._evictions()
            if old is not None:
                if old.active:
                    old.retired = True
                else:
                    closing.append(old)
                old = None
        self._dispose(closing)
        if self.freeze_gc:
            if self._thawed:  # a tenant was closed since the last freeze: collect its cycles first
                self._thawed = False
                gc.collect()
            gc.freeze()
        return entry

    def acquire_started(self, tenant: Tenant, *, app: bool = False) -> OpenTenant | None:
        """Like :meth:`acquire` for a tenant already started (the router's fast path), else None."""
        return self._claim(tenant, app)

    def _claim(self, tenant: Tenant, app: bool) -> OpenTenant | None:
        """The started entry of ``tenant``, marked in use, if it is up to date (and has its app when
        ``app``); else None (the caller starts one)."""
        stale: OpenTenant | None = None
        try:
            with self._lock:
                entry = self._open.get(tenant.name)
                if entry is None:
                    return None
                if entry.tenant is not tenant and entry.tenant != tenant:  # changed in the registry: start again
                    if entry.active == 0:
                        stale = self._open.pop(tenant.name)
                    return None
                if app and entry.app is None:
                    entry.app = self._make_app(entry.crm)
                entry.active += 1
                self._open.move_to_end(tenant.name)
                return entry
        finally:
            if stale is not None:
                self._close(stale)

    def release(self, entry: OpenTenant) -> None:
        with self._lock:
            entry.active -= 1
            closing = self._evictions()
            if entry.retired and entry.active == 0:
                closing.append(entry)
        self._dispose(closing)

    def _evictions(self) -> list[OpenTenant]:
        """Remove idle entries beyond ``max_open`` (least recently used first); the caller closes them."""
        out: list[OpenTenant] = []
        if len(self._open) <= self.max_open:
            return out
        for name, entry in list(self._open.items()):
            if len(self._open) <= self.max_open:
                break
            if entry.active == 0:
                del self._open[name]
                out.append(entry)
                self.evicted += 1
        return out

    def forget(self, name: str) -> None:
        """Close tenant ``name`` if it is started and idle (a disabled or removed tenant)."""
        with self._lock:
            entry = self._open.pop(name, None)
            if entry is None:
                return
            if entry.active:
                entry.retired = True
                return
        self._close(entry)

    def close(self) -> None:
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        for e in entries:
            e.crm.close()
        if self.freeze_gc and entries:
            gc.unfreeze()

    def _close(self, entry: OpenTenant) -> None:
        log.info("tenant %s closed", entry.tenant.name, extra={"tenant": entry.tenant.name})
        entry.crm.close()
        if self.freeze_gc:  # its objects back to the collector (collected by the next start, if not before)
            gc.unfreeze()
            self._thawed = True

    def _dispose(self, entries: list[OpenTenant]) -> None:
        """Close ``entries`` and drop the list's references to them."""
        while entries:
            self._close(entries.pop())

    def __enter__(self) -> "TenantPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


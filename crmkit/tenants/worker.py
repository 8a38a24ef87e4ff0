"""The worker of a many-tenant installation: passes over every enabled tenant, one at a time.

A tenant's pass is exactly ``crmkit worker --once`` for its deployment (its periodic jobs, its
after-commit delivery and retries) on its own :class:`~crmkit.Crm`: the pool starts it on first
use and keeps at most ``max_open`` tenants started. One tenant's failure (a job that raises is
recorded by the pass itself; a tenant that cannot start, a second worker on its SQLite file) is
reported for that tenant and the others go on.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Callable

import attrs

from .. import Crm, CrmError, Worker
from .pool import TenantPool
from .registry import TenantRegistry

log = logging.getLogger("crmkit.tenants.worker")


@attrs.frozen
class TenantPass:
    """One tenant's pass: what ran, what failed, events delivered; ``error`` when it could not run."""

    tenant: str
    ran: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    delivered: int = 0
    error: str | None = None


class TenantWorker:
    """Worker passes over the enabled tenants of ``registry`` (re-read each round when a path).

    :param pool: started tenants (shared with a router in the same process, or its own).
    :param make_worker: the :class:`~crmkit.Worker` of a started ``Crm`` (tests give a name or lease).
    """

    def __init__(self, registry: TenantRegistry | str, *, pool: TenantPool | None = None,
                 make_worker: Callable[..., Worker] = Worker) -> None:
        self._path = None if isinstance(registry, TenantRegistry) else registry
        self.registry = registry if isinstance(registry, TenantRegistry) else TenantRegistry.load(registry)
        self.pool = pool if pool is not None else TenantPool()
        self._make_worker = make_worker
        self._workers: "weakref.WeakKeyDictionary[Crm, Worker]" = weakref.WeakKeyDictionary()

    def run_once(self) -> list[TenantPass]:
        """One pass for each enabled tenant, in name order."""
        if self._path is not None:
            self.registry = TenantRegistry.load(self._path)
        out = []
        for tenant in self.registry.enabled():
            try:
                entry = self.pool.acquire(tenant)
            except Exception as exc:  # a tenant that cannot start stops no other
                message = exc.message if isinstance(exc, CrmError) else f"{type(exc).__name__}: {exc}"
                out.append(TenantPass(tenant.name, error=message))
                log.error("tenant %s did not start: %s", tenant.name, message)
                continue
            try:
                worker = self._workers.get(entry.crm)
                if worker is None:
                    worker = self._workers[entry.crm] = self._make_worker(entry.crm)
                report = worker.run_once()
                out.append(TenantPass(tenant.name, tuple(report.ran), tuple(report.failed), report.delivered))
            except Exception as exc:  # this tenant's pass failed; the others go on
                message = exc.message if isinstance(exc, CrmError) else f"{type(exc).__name__}: {exc}"
                out.append(TenantPass(tenant.name, error=message))
                log.error("tenant %s: %s", tenant.name, message)
            finally:
                self.pool.release(entry)
        return out

    def run_forever(self, *, interval: float = 30.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        while not should_stop():
            started = time.monotonic()
            for p in self.run_once():
                if p.error is None:
                    log.info("tenant %s: ran %s, failed %s, delivered %d", p.tenant, list(p.ran), list(p.failed),
                             p.delivered)
            time.sleep(max(0.0, interval - (time.monotonic() - started)))

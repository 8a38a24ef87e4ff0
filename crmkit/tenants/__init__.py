"""Many tenants from one installation (docs/tenants.md).

* :class:`TenantRegistry` -- ``tenants.toml``: each tenant's crmkit.toml, host names, path prefix, state;
* :class:`TenantPool` -- started tenants, each its own :class:`~crmkit.Crm` and app (a bounded LRU);
* :class:`TenantRouter` -- the ASGI app routing a request to exactly one tenant;
* :class:`TenantWorker` -- worker passes over every enabled tenant, one tenant at a time;
* :func:`add_tenant` and :func:`upgrade_tenants` -- what ``crmkit tenants add|upgrade`` run.
"""

from __future__ import annotations

from .pool import OpenTenant, TenantPool
from .provision import add_tenant
from .registry import REGISTRY_ENV, REGISTRY_NAME, Tenant, TenantRegistry
from .router import TENANT_KEY, TenantRouter
from .upgrade import upgrade_tenants
from .worker import TenantWorker

__all__ = ["REGISTRY_ENV", "REGISTRY_NAME", "TENANT_KEY", "OpenTenant", "Tenant", "TenantPool", "TenantRegistry",
           "TenantRouter", "TenantWorker", "add_tenant", "upgrade_tenants"]

"""Target 19: a request to one of 100 tenants served by one process, against a single-tenant app.

Ours: ``GET /api/v1/deals/{id}`` with a manager's bearer token through :class:`crmkit.tenants.TenantRouter`
(host name -> tenant -> its own ``create_app(crm)``), each request to a random one of 100 tenants,
every tenant started (the steady state of a busy installation). Baseline: the same request to one
deployment's ``create_app(crm)`` directly, as ``crmkit serve`` serves it. Same in-process ASGI driver
(:mod:`bench.asgi`); the same-work check compares status and body (each tenant holds the same deal).
The pool freezes started tenants out of the cyclic GC, as ``crmkit tenants serve`` does
(:attr:`TenantPool.freeze_gc`); the baseline runs in the same process, after them.

Also reported (info): the router's own cost (every request to one tenant through it), the memory each started idle tenant adds to the process (RSS after starting
100, less before, over 100) and the median time a tenant's first request takes to start it.

The 100 tenants' SQLite files are copies of one made at head (one ``crmkit tenants add``-style start,
one user, token and deal), so making them costs seconds, not minutes.
"""

from __future__ import annotations

import gc
import random
import shutil
import statistics
from pathlib import Path
from typing import Any

from crmkit import Crm, Settings
from crmkit.core import auth
from crmkit.tenants import Tenant, TenantPool, TenantRegistry, TenantRouter
from crmkit.web import create_app

from .asgi import Driver, headers_of
from .harness import Options, Result, compare, same, template
from .harness import NotSameWork  # noqa: F401  (raised by same())

TENANTS = 100


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def _write(folder: Path, name: str) -> Path:
    from crmkit.tenants.tomlw import dumps

    folder.mkdir(parents=True, exist_ok=True)
    config = {**template(), "name": name, "database": "sqlite:///crmkit.db", "plugins": []}
    path = folder / "crmkit.toml"
    path.write_text(dumps(config))
    return path


def _installation(workdir: Path, n: int) -> tuple[TenantRegistry, str, int]:
    """``n`` tenants on copies of one database; the token and deal id every copy holds."""
    first = _write(workdir / "t000", "t000")
    with Crm(Settings.load(first, environ={})) as crm:
        user = crm.users.create(email="ann@club.example", name="Ann", role="manager")
        _, secret = auth.create_token(crm, user.id, "bench")
        deal = crm.as_user(user.id).deals.create(title="10 sessions", amount="450.00")
    registry = TenantRegistry(workdir / "tenants.toml")
    tenants = {}
    for i in range(n):
        name = f"t{i:03d}"
        folder = workdir / name
        if i:
            config = _write(folder, name)
            shutil.copy(workdir / "t000" / "crmkit.db", folder / "crmkit.db")
            for key in ("ui_secret.key",):
                if (workdir / "t000" / key).exists():
                    shutil.copy(workdir / "t000" / key, folder / key)
        else:
            config = first
        tenants[name] = Tenant(name, config.resolve(), hosts=(f"{name}.bench.test",))
    registry = TenantRegistry(workdir / "tenants.toml", tenants)
    registry.save()
    return registry, secret, deal.id


def run(opts: Options, workdir: Path) -> list[Result]:
    n_tenants = 10 if opts.quick else TENANTS
    n = 500 if opts.quick else 2_000
    registry, secret, deal_id = _installation(workdir / "tenants", n_tenants)
    names = [t.name for t in registry]
    rnd = random.Random(19)
    path = f"/api/v1/deals/{deal_id}"
    auth_header = ("Authorization", f"Bearer {secret}")
    routed = [("GET", path, headers_of([("Host", f"{rnd.choice(names)}.bench.test"), auth_header]), b"")
              for _ in range(n)]
    single = [("GET", path, headers_of([("Host", "t000.bench.test"), auth_header]), b"")] * n

    driver = Driver()
    pool = TenantPool(max_open=n_tenants, freeze_gc=True)  # as `crmkit tenants serve` runs it
    router = TenantRouter(registry, pool=pool)
    crm = Crm(Settings.load(registry.get("t000").config, environ={}))
    try:
        before = _rss_bytes()
        for name in names:  # start every tenant: its first request
            driver.run(router, [("GET", path, headers_of([("Host", f"{name}.bench.test"), auth_header]), b"")],
                       lambda r: r.status)
        per_tenant = (_rss_bytes() - before) / n_tenants
        starts = [pool.peek(name).started_seconds for name in names]  # type: ignore[union-attr]
        app = create_app(crm)
        gc.collect()
        gc.freeze()  # the baseline's deployment too: both sides see the same collector

        def check(r: Any) -> tuple[int, bytes]:
            return r.status, r.body

        t_ours, t_base, o_out, b_out = compare(lambda: driver.run(router, routed, check),
                                               lambda: driver.run(app, single, check),
                                               repeats=opts.repeats, warmup=opts.warmup)
        same("status", {s for s, _ in o_out}, {200})
        same("bodies (every tenant holds the same deal)", {b for _, b in o_out}, {b_out[0][1]})
        same("tenants started", (pool.started, len(pool)), (n_tenants, n_tenants))
        # what routing itself costs: the router to one tenant only, against the same direct app
        t_one, t_direct, one_out, _ = compare(lambda: driver.run(router, single, check),
                                              lambda: driver.run(app, single, check),
                                              repeats=opts.repeats, warmup=opts.warmup)
        same("bodies through the router to one tenant", one_out, b_out)
    finally:
        gc.unfreeze()
        router.close()
        crm.close()
        driver.close()
    ratio = t_ours / t_base
    return [
        Result(name=f"19 a request to one of {n_tenants} tenants vs a single-tenant app: GET /api/v1/deals/{{id}}",
               backend="sqlite", ours=n / t_ours, baseline=n / t_base, unit="req/s", ratio=ratio,
               target="<= 1.2x (time)", passed=ratio <= 1.2, n=n,
               note=f"in-process ASGI, random tenant per request, all {n_tenants} started; same status and body"),
        Result(name="19 the router's own cost: every request to one tenant through it vs the app directly",
               backend="sqlite", ours=n / t_one, baseline=n / t_direct, unit="req/s", ratio=t_one / t_direct,
               target="info", passed=None, n=n,
               note="the rest of the 100-tenant ratio is the 100 tenants' working set (engines, apps, caches)"),
        Result(name=f"19 memory per started idle tenant (RSS of {n_tenants} / {n_tenants}); a tenant's start",
               backend="sqlite", ours=per_tenant / 1e6, baseline=statistics.median(starts) * 1000, unit="MB; ms",
               ratio=None, target="info", passed=None, n=n_tenants,
               note=f"{per_tenant / 1e6:.1f} MB per tenant (Crm + app, caches empty); median start "
                    f"{statistics.median(starts) * 1000:.0f} ms (first request; bounded by TenantPool(max_open))"),
    ]

"""Target 13: what the request id, log line and metrics cost an API request.

Ours: ``create_app(crm)`` as served -- :class:`crmkit.web.proxy.ProxyHeaders` (a trusted proxy
configured, its headers sent) and :class:`crmkit.web.observe.Observe` (request id, one log line
formatted and written to a file, counter and histogram) around the API.
Baseline: the same app with those two middlewares taken out. Same in-process driver; the requests
are ``GET /api/v1/deals/{id}`` with a bearer token (auth, record rules, one read) and
``GET /api/v1/health`` (the stack alone: the worst case for a fixed per-request cost).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from crmkit import Crm, Settings
from crmkit.core import auth
from crmkit.ops.config import LoggingOptions
from crmkit.ops.logs import configure_logging
from crmkit.web import create_app
from crmkit.web.observe import Observe
from crmkit.web.proxy import ProxyHeaders

from .asgi import Driver, headers_of
from .harness import Options, Result, compare, fresh_db, same, template


def _without_observing(app: Any) -> Any:
    app.user_middleware = [m for m in app.user_middleware if m.cls not in (Observe, ProxyHeaders)]
    return app


def _status(response: Any) -> tuple[int, bytes]:
    return response.status, response.body


def run(opts: Options, workdir: Path) -> list[Result]:
    n = 300 if opts.quick else 3_000
    handler = configure_logging(LoggingOptions(), open(os.devnull, "w"))  # the log lines are written
    results = []
    try:
        with fresh_db("sqlite", workdir) as db:
            data = {**template(), "database": db.url, "settings": {"server": {"trusted_proxies": ["127.0.0.1"]}}}
            crm = Crm(Settings.from_dict(data, base_dir=workdir, environ={}))
            driver = Driver()
            try:
                ours, bare = create_app(crm), _without_observing(create_app(crm))
                same("middleware taken out", len(bare.user_middleware) + 2, len(ours.user_middleware))
                user = crm.users.create(email="bench@example.com", name="Bench", role="admin")
                _, secret = auth.create_token(crm, user.id, "bench")
                deal = crm.as_user(user.id).deals.create(title="observed")
                headers = headers_of([("authorization", f"Bearer {secret}"), ("x-forwarded-for", "203.0.113.9"),
                                      ("x-forwarded-proto", "https")])
                for label, path in (("API read", f"/api/v1/deals/{deal.id}"), ("health", "/api/v1/health")):
                    reqs = [("GET", path, headers, b"")] * n
                    t_o, t_b, o_out, b_out = compare(lambda: driver.run(ours, reqs, _status),
                                                     lambda: driver.run(bare, reqs, _status),
                                                     repeats=opts.repeats, warmup=opts.warmup)
                    same(f"{label} responses", o_out, b_out)
                    same(f"{label} status", o_out[0][0], 200)
                    ratio = t_b / t_o
                    cost = (t_o - t_b) / n * 1e6
                    api = label == "API read"
                    results.append(Result(
                        name=f"13 request id, log line, metrics: {label} with vs without", backend="sqlite",
                        ours=n / t_o, baseline=n / t_b, unit="req/s", ratio=ratio,
                        target=">= 0.90 of without" if api else "info", passed=ratio >= 0.90 if api else None, n=n,
                        note=f"GET {'/api/v1/deals/{id}' if api else path}; {cost:.0f} us a request; in-process "
                             "ASGI; trusted proxy headers; log lines written to /dev/null"))
            finally:
                driver.close()
                crm.close()
    finally:
        root = logging.getLogger("crmkit")
        root.removeHandler(handler)
        handler.close()
        root.propagate = True
    return results

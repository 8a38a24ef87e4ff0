"""``/healthz``, ``/readyz`` and ``/metrics``: what a load balancer and a monitoring system ask.

* ``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves (no database access).
* ``GET /readyz``: 200 when the database answers and its schema is at the code's head (every
  branch), else 503 with ``Retry-After``; the body lists each check. The worker check reports
  when a worker last ran a job; it fails readiness only with ``ready_requires_worker = true``
  (a dead worker should page someone, not take every web process out of the load balancer).
  One check runs at a time and its answer is reused for ``cache_seconds`` (1): a probe every
  second from several balancers costs one small query a second.
* ``GET /metrics``: the Prometheus text format, only with ``Authorization: Bearer <metrics_token>``
  (``[settings.monitoring]``); 404 when no token is configured.
"""

from __future__ import annotations

import hmac
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..core import schema
from ..core.migrations.layout import layout
from ..core.migrations.state import evaluate, read_rows
from ..ops.config import MonitoringOptions
from .metrics import CONTENT_TYPE, Registry, family, request_lines
from .metrics_db import deployment_lines, pool_lines

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class Readiness:
    """The readiness check of one process (see the module docstring)."""

    def __init__(self, crm: "Crm", options: MonitoringOptions, *, cache_seconds: float = 1.0) -> None:
        self.crm = crm
        self.options = options
        self.cache_seconds = cache_seconds
        self._layout = layout(crm)
        self._head_rows: tuple[str, ...] | None = None
        self._lock = threading.Lock()
        self._answer: tuple[float, int, dict[str, Any]] | None = None

    def check(self) -> tuple[int, dict[str, Any]]:
        """``(status code, body)``, from the cache when fresh."""
        answer = self._answer
        if answer is not None and time.monotonic() - answer[0] < self.cache_seconds:
            return answer[1], answer[2]
        with self._lock:
            answer = self._answer  # another thread may have just checked
            if answer is not None and time.monotonic() - answer[0] < self.cache_seconds:
                return answer[1], answer[2]
            status, body = self._check()
            self._answer = (time.monotonic(), status, body)
            return status, body

    def _check(self) -> tuple[int, dict[str, Any]]:
        checks: dict[str, Any] = {}
        try:
            with self.crm.engine.connect() as conn:
                rows = read_rows(conn)
                last_run = conn.scalar(select(func.max(schema.jobs.c.last_run_at)))
        except Exception as exc:  # any failure to reach the database: not ready
            checks["database"] = {"status": "unavailable", "error": type(exc).__name__}
            return 503, {"status": "unavailable", "checks": checks}
        checks["database"] = {"status": "ok"}
        checks["migrations"] = self._migrations(rows)
        checks["worker"] = self._worker(last_run)
        failing = [name for name, c in checks.items() if c["status"] != "ok"
                   and (name != "worker" or self.options.ready_requires_worker)]
        return (503, {"status": "unavailable", "checks": checks}) if failing else (200, {"status": "ready",
                                                                                            "checks": checks})

    def _migrations(self, rows: tuple[str, ...] | None) -> dict[str, Any]:
        if rows is not None and rows == self._head_rows:
            return {"status": "ok"}
        state = evaluate(self._layout, rows)
        if state.at_head:
            self._head_rows = rows
            return {"status": "ok"}
        return {"status": "behind", "behind": [b.describe() for b in state.behind]}

    def _worker(self, last_run: Any) -> dict[str, Any]:
        if last_run is None:
            return {"status": "never_seen"}
        age = (self.crm.clock.now() - last_run).total_seconds()
        stale = age > self.options.worker_stale_seconds
        return {"status": "stale" if stale else "ok", "last_seen_seconds_ago": round(max(age, 0.0), 1)}


def routes(crm: "Crm", options: MonitoringOptions, registry: Registry, readiness: Readiness) -> list[BaseRoute]:
    """The three routes (mounted at the root, before the web UI's)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def readyz(request: Request) -> Response:
        status, body = readiness.check()
        return JSONResponse(body, status_code=status, headers={"Retry-After": "1"} if status == 503 else None)

    def metrics(request: Request) -> Response:
        token = options.metrics_token
        if token is None:
            return JSONResponse({"error": {"code": "not_found", "message": "metrics are off: set "
                                           "[settings.monitoring] metrics_token"}}, status_code=404)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse({"error": {"code": "unauthorized", "message": "metrics need the metrics token"}},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(exposition(crm, registry), media_type=CONTENT_TYPE)

    return [Route("/healthz", healthz, methods=["GET", "HEAD"], name="healthz"),
            Route("/readyz", readyz, methods=["GET", "HEAD"], name="readyz"),
            Route("/metrics", metrics, methods=["GET"], name="metrics")]


def exposition(crm: "Crm", registry: Registry) -> str:
    """The whole ``/metrics`` text: requests (all processes), this process's pool, the deployment's gauges."""
    lines = request_lines(registry.combined())
    lines += family("crmkit_http_requests_in_progress", "gauge", "Requests being served (this process).",
                    [((), (), registry.in_progress)])
    try:
        lines += pool_lines(crm) + deployment_lines(crm)
        up = 1
    except Exception:  # the database is away: the request metrics still answer
        up = 0
    lines += family("crmkit_database_up", "gauge", "1 when the database answered this scrape.", [((), (), up)])
    return "\n".join(lines) + "\n"

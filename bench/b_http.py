"""Targets 4, 5 and 6 need the HTTP API (issue 4), which is not built yet: never faked."""

from __future__ import annotations

from pathlib import Path

from .harness import Options, Result

PENDING = "not measurable yet (needs HTTP API, issue 4)"


def run(opts: Options, workdir: Path) -> list[Result]:
    return [
        Result(name="4 API write / read by id vs bare Starlette + Core", backend="-",
               target=">= 0.40 (write), >= 0.60 (read)", note=PENDING),
        Result(name="5 middleware stack vs bare Starlette route", backend="-", target=">= 0.80", note=PENDING),
        Result(name="6 concurrent SQLite writes via uvicorn, 32 conns", backend="-",
               target=">= 0.80 of serialized, p99 <= 25 ms, no 5xx/locked", note=PENDING),
    ]

"""The web process's request metrics, and the Prometheus text format (0.0.4) they are served in.

:class:`Registry` counts requests by method, route template, status and plugin, and keeps a
latency histogram by method and route. Counting is a few dictionary operations per request.

Several processes of one ``crmkit serve --workers N`` (or any processes given the same
``CRMKIT_METRICS_DIR``) each write a snapshot of their counts to ``<dir>/<pid>.json`` about once
a second; ``/metrics`` on any of them adds up every snapshot there (its own counted live), so a
scrape through the shared port sees the whole server, and counters never go down while the
server runs (a process that exited keeps its last counts).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from bisect import bisect_left
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Latency histogram bounds, in seconds (``+Inf`` added)."""
DIR_ENV = "CRMKIT_METRICS_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Key = tuple[str, ...]

log = logging.getLogger("crmkit.metrics")


class Registry:
    """Request counts and latencies of this process (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, dump_every: float = 1.0) -> None:
        self.requests: dict[Key, int] = {}
        """(method, route, status, plugin) -> count."""
        self.latency: dict[Key, list[float]] = {}
        """(method, route) -> per-bucket counts (not cumulative; the last is +Inf), then the sum."""
        self.in_progress = 0
        self._lock = threading.Lock()
        self.directory = Path(directory) if directory else None
        self.dump_every = dump_every
        self._dumped_at = 0.0
        self._dumper: threading.Thread | None = None
        self._changed = False

    def observe(self, method: str, route: str, status: int, plugin: str, seconds: float) -> None:
        """Count one finished request."""
        with self._lock:
            key = (method, route, str(status), plugin)
            self.requests[key] = self.requests.get(key, 0) + 1
            hist = self.latency.get((method, route))
            if hist is None:
                hist = self.latency[(method, route)] = [0.0] * (len(BUCKETS) + 2)
            hist[bisect_left(BUCKETS, seconds)] += 1
            hist[-1] += seconds
            self._changed = True
        if self.directory is not None and self._dumper is None:
            self._start_dumper()

    def snapshot(self) -> dict[str, Any]:
        """This process's counts as JSON-ready data."""
        with self._lock:
            return {"requests": [[*k, v] for k, v in self.requests.items()],
                    "latency": [[*k, *v] for k, v in self.latency.items()]}

    # -- several processes ----------------------------------------------------------

    def _start_dumper(self) -> None:
        with self._lock:
            if self._dumper is not None:
                return
            self._dumper = threading.Thread(target=self._dump_loop, name="crmkit-metrics-dump", daemon=True)
        self._dumper.start()

    def _dump_loop(self) -> None:
        while True:
            time.sleep(self.dump_every)
            if self._changed:
                self._changed = False
                try:
                    self.dump()
                except OSError as exc:  # the directory went away or is full: the next change tries again
                    log.warning("metrics: cannot write %s: %s", self.directory, exc)

    def dump(self) -> None:
        """Write this process's snapshot to its file in the shared directory (atomically)."""
        if self.directory is None:
            return
        path = self.directory / f"{os.getpid()}.json"
        tmp = path.with_name(f"{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer: no two replace one
        tmp.write_text(json.dumps(self.snapshot()))
        os.replace(tmp, path)

    def combined(self) -> dict[str, Any]:
        """Every process's counts added up (this process's live ones included)."""
        snapshots = [self.snapshot()]
        if self.directory is not None:
            own = f"{os.getpid()}.json"
            for path in self.directory.glob("*.json"):
                if path.name != own:
                    try:
                        snapshots.append(json.loads(path.read_text()))
                    except (OSError, ValueError):
                        continue  # being replaced: counted next scrape
        return merge(snapshots)


def merge(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up snapshots (:meth:`Registry.snapshot`)."""
    requests: dict[Key, float] = {}
    latency: dict[Key, list[float]] = {}
    for snap in snapshots:
        for *key, value in snap.get("requests", ()):
            requests[tuple(key)] = requests.get(tuple(key), 0) + value
        for row in snap.get("latency", ()):
            key, values = tuple(row[:2]), row[2:]
            have = latency.setdefault(key, [0.0] * len(values))
            for i, v in enumerate(values):
                have[i] += v
    return {"requests": requests, "latency": latency}


# -- the text format ------------------------------------------------------------------


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def labels(names: Sequence[str], values: Sequence[Any]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{escape(str(v))}"' for n, v in zip(names, values)) + "}"


def number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if isinstance(value, float) and not value.is_integer() else str(int(value))


def family(name: str, kind: str, help: str, samples: Iterable[tuple[Sequence[str], Sequence[Any], float]],
           *, suffix: str = "") -> list[str]:
    """``# HELP``/``# TYPE`` and one line per sample ``(label names, label values, value)``."""
    lines = [f"# HELP {name} {help}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{suffix}{labels(n, v)} {number(x)}" for n, v, x in samples]
    return lines


def request_lines(combined: Mapping[str, Any]) -> list[str]:
    """The request counter and latency histogram of :meth:`Registry.combined`."""
    lines = family("crmkit_http_requests_total", "counter", "HTTP requests by method, route template, status, plugin.",
                   [(("method", "route", "status", "plugin"), k, v) for k, v in sorted(combined["requests"].items())])
    lines += [f"# HELP crmkit_http_request_duration_seconds Time from a request's start to its response's end.",
              f"# TYPE crmkit_http_request_duration_seconds histogram"]
    for (method, route), values in sorted(combined["latency"].items()):
        running = 0.0
        for bound, count in zip((*BUCKETS, float("inf")), values[:-1]):
            running += count
            lines.append(f"crmkit_http_request_duration_seconds_bucket"
                         f"{labels(('method', 'route', 'le'), (method, route, number(bound)))} {number(running)}")
        base = labels(("method", "route"), (method, route))
        lines.append(f"crmkit_http_request_duration_seconds_sum{base} {values[-1]!r}")
        lines.append(f"crmkit_http_request_duration_seconds_count{base} {number(running)}")
    return lines

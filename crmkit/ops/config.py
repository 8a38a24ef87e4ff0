"""``[settings.monitoring]`` and ``[settings.logging]`` of crmkit.toml (docs/configuration.md).

    [settings.monitoring]
    metrics_token = "..."          # /metrics answers only "Authorization: Bearer <token>"; unset: 404
    worker_stale_seconds = 300     # /readyz reports the worker stale when no job ran for this long
    ready_requires_worker = false  # true: a stale worker makes /readyz fail (503)

    [settings.logging]
    format = "text"                # or "json": one JSON object a line
    level = "info"
    requests = true                # one line per request (crmkit.requests)
    probes = false                 # log /healthz, /readyz and /metrics too
    client_addresses = false       # put the client's address in request lines (personal data)

``CRMKIT_METRICS_TOKEN`` replaces ``metrics_token``. A bad value is a :class:`crmkit.ConfigError`.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import attrs

from ..core.errors import ConfigError

MONITORING = "monitoring"
LOGGING = "logging"
TOKEN_ENV = "CRMKIT_METRICS_TOKEN"
LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


@attrs.frozen
class MonitoringOptions:
    metrics_token: str | None = None
    worker_stale_seconds: float = 300.0
    ready_requires_worker: bool = False


@attrs.frozen
class LoggingOptions:
    format: str = "text"
    level: str = "info"
    requests: bool = True
    probes: bool = False
    client_addresses: bool = False


def _table(settings: Any, section: str, known: set[str]) -> Mapping[str, Any]:
    table: Mapping[str, Any] = settings.plugin_settings.get(section, {})
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"crmkit.toml: [settings.{section}]: unknown key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(known))})")
    return table


def _bool(table: Mapping[str, Any], section: str, key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"crmkit.toml: [settings.{section}] {key} must be true or false, got {value!r}")
    return value


def monitoring_options(settings: Any, *, environ: Mapping[str, str] | None = None) -> MonitoringOptions:
    """The deployment's ``[settings.monitoring]`` (and ``CRMKIT_METRICS_TOKEN``)."""
    env = os.environ if environ is None else environ
    table = _table(settings, MONITORING, {f.name for f in attrs.fields(MonitoringOptions)})
    token = env.get(TOKEN_ENV) or table.get("metrics_token")
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        raise ConfigError(f"crmkit.toml: [settings.{MONITORING}] metrics_token must be a string of 16+ characters")
    stale = table.get("worker_stale_seconds", 300)
    if isinstance(stale, bool) or not isinstance(stale, (int, float)) or not 1 <= stale <= 86_400:
        raise ConfigError(f"crmkit.toml: [settings.{MONITORING}] worker_stale_seconds must be a number of seconds "
                          f"from 1 to 86400, got {stale!r}")
    return MonitoringOptions(metrics_token=token, worker_stale_seconds=float(stale),
                             ready_requires_worker=_bool(table, MONITORING, "ready_requires_worker", False))


def logging_options(settings: Any) -> LoggingOptions:
    """The deployment's ``[settings.logging]``."""
    table = _table(settings, LOGGING, {f.name for f in attrs.fields(LoggingOptions)})
    fmt = table.get("format", "text")
    if fmt not in FORMATS:
        raise ConfigError(f"crmkit.toml: [settings.{LOGGING}] format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    level = table.get("level", "info")
    if level not in LEVELS:
        raise ConfigError(f"crmkit.toml: [settings.{LOGGING}] level must be one of {', '.join(LEVELS)}, got {level!r}")
    return LoggingOptions(format=fmt, level=level, requests=_bool(table, LOGGING, "requests", True),
                          probes=_bool(table, LOGGING, "probes", False),
                          client_addresses=_bool(table, LOGGING, "client_addresses", False))

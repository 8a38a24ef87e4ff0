"""``[settings.server]`` in crmkit.toml: how much and how slowly a client may send.

    [settings.server]
    max_body_bytes = 1000000       # a larger request body: 413
    body_timeout_seconds = 30      # a request body must arrive within this: 408, connection closed
    header_timeout_seconds = 10    # the request line and headers must arrive within this (crmkit serve)
    keep_alive_seconds = 5         # an idle keep-alive connection is closed after this (crmkit serve)
    cors_origins = []              # browser origins allowed to call the API (CORS); none by default

``create_app`` reads the first two (its arguments win); ``crmkit serve`` (:mod:`crmkit.web.server`)
all four. A bad value is a :class:`crmkit.ConfigError` at start.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping

import attrs

from ..core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

SECTION = "server"


@attrs.frozen
class ServerLimits:
    """The limits of one deployment's HTTP server (defaults in the module docstring)."""

    max_body_bytes: int = 1_000_000
    body_timeout_seconds: float = 30.0
    header_timeout_seconds: float = 10.0
    keep_alive_seconds: int = 5
    cors_origins: tuple[str, ...] = ()


_BOUNDS: dict[str, tuple[type, float, float]] = {
    "max_body_bytes": (int, 1, 1_000_000_000),
    "body_timeout_seconds": (float, 0.001, 3600),
    "header_timeout_seconds": (float, 0.001, 3600),
    "keep_alive_seconds": (int, 1, 3600),
}


def server_limits(crm: "Crm") -> ServerLimits:
    """The deployment's ``[settings.server]`` over the defaults (``ConfigError`` naming a bad key)."""
    table: Mapping[str, Any] = crm.settings.plugin_settings.get(SECTION, {})
    unknown = sorted(set(table) - set(_BOUNDS) - {"cors_origins", "trusted_proxies"})
    if unknown:
        raise ConfigError(f"crmkit.toml: [settings.{SECTION}]: unknown key {unknown[0]!r} "
                          f"(known: {', '.join(_BOUNDS)})")
    values: dict[str, Any] = {}
    if "cors_origins" in table:
        values["cors_origins"] = _origins(table["cors_origins"])
    for key, value in table.items():
        if key in ("cors_origins", "trusted_proxies"):  # trusted_proxies: crmkit.web.proxy
            continue
        kind, lo, hi = _BOUNDS[key]
        number = isinstance(value, int) or (kind is float and isinstance(value, float))
        if isinstance(value, bool) or not number or not lo <= value <= hi:
            what = "a whole number" if kind is int else "a number of seconds"
            raise ConfigError(f"crmkit.toml: [settings.{SECTION}] {key} must be {what} from {lo:g} to {hi:g}, "
                              f"got {value!r}")
        values[key] = kind(value)
    return ServerLimits(**values)


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _origins(value: Any) -> tuple[str, ...]:
    """``cors_origins``: a list of ``scheme://host[:port]`` (no path, no wildcard but ``"*"`` alone)."""
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise ConfigError(f"crmkit.toml: [settings.{SECTION}] cors_origins must be a list of origins, "
                          f'e.g. ["https://app.example.com"]')
    if value == ["*"]:
        return ("*",)
    for origin in value:
        if not _ORIGIN.match(origin):
            raise ConfigError(f"crmkit.toml: [settings.{SECTION}] cors_origins: {origin!r} is not an origin "
                              "(scheme://host[:port], no path)")
    return tuple(value)

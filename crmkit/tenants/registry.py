"""The tenants of one installation: ``tenants.toml``, one table per tenant.

    [tenants.acme]
    config = "acme/crmkit.toml"        # the tenant's own deployment (settings, plugins, brand, database)
    hosts = ["acme.crm.example"]       # requests for these host names go to it
    prefix = "/acme"                   # and/or requests under this path (the API; the web UI wants a host)
    disabled = false                   # a disabled tenant answers 403 and is skipped by the worker

A relative ``config`` is read against the folder of ``tenants.toml``. The file is rewritten
atomically by ``crmkit tenants add|disable|enable`` (a running server re-reads it when it changes).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator, Mapping

import attrs

from .. import ConfigError, NotFoundError, ValidationError
from .tomlw import dumps

REGISTRY_NAME = "tenants.toml"
REGISTRY_ENV = "CRMKIT_TENANTS"
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
PREFIX = re.compile(r"^(/[a-z0-9][a-z0-9_.-]{0,62})+$")
_KEYS = frozenset({"config", "hosts", "prefix", "disabled"})


@attrs.frozen
class Tenant:
    """One client deployment of the installation."""

    name: str
    config: Path
    """Its crmkit.toml (absolute)."""
    hosts: tuple[str, ...] = ()
    prefix: str | None = None
    disabled: bool = False

    def to_table(self, base: Path) -> dict[str, Any]:
        try:
            config = str(self.config.relative_to(base))
        except ValueError:
            config = str(self.config)
        out: dict[str, Any] = {"config": config, "hosts": list(self.hosts)}
        if self.prefix:
            out["prefix"] = self.prefix
        out["disabled"] = self.disabled
        return out


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationError(f"tenant name {name!r}: 1-40 lower-case letters, digits, - or _, starting with a letter",
                              field="name")
    return name


def check_host(host: str) -> str:
    value = host.strip().lower().rstrip(".")
    if not HOST.match(value):
        raise ValidationError(f"host {host!r} is not a host name (e.g. acme.crm.example)", field="host")
    return value


def check_prefix(prefix: str) -> str:
    value = "/" + prefix.strip().strip("/")
    if not PREFIX.match(value):
        raise ValidationError(f"prefix {prefix!r}: a path like /acme (lower-case letters, digits, . _ -)",
                              field="prefix")
    return value


class TenantRegistry:
    """``tenants.toml``: the tenants, looked up by name, host name or path prefix."""

    def __init__(self, path: str | os.PathLike[str], tenants: Mapping[str, Tenant] | None = None) -> None:
        self.path = Path(path).resolve()
        self.base = self.path.parent
        self._tenants: dict[str, Tenant] = dict(tenants or {})
        self._by_host: dict[str, Tenant] = {}
        self._prefixes: list[tuple[str, Tenant]] = []
        self._index()

    # -- reading ------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "TenantRegistry":
        """Read ``path``; a missing file is an empty registry (``tenants add`` creates it)."""
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(file)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        unknown = sorted(set(data) - {"tenants"})
        if unknown:
            raise ConfigError(f"{file}: unknown key {unknown[0]!r} (only [tenants.<name>] tables)")
        base = file.resolve().parent
        tenants = {}
        for name, table in (data.get("tenants") or {}).items():
            tenants[name] = _parse(file, base, name, table)
        return cls(file, tenants)

    def _index(self) -> None:
        by_host: dict[str, Tenant] = {}
        prefixes: dict[str, Tenant] = {}
        for t in self._tenants.values():
            for h in t.hosts:
                if h in by_host:
                    raise ConfigError(f"{self.path}: host {h} belongs to {by_host[h].name} and {t.name}")
                by_host[h] = t
            if t.prefix:
                if t.prefix in prefixes:
                    raise ConfigError(f"{self.path}: prefix {t.prefix} belongs to {prefixes[t.prefix].name} and {t.name}")
                prefixes[t.prefix] = t
        self._by_host = by_host
        self._prefixes = sorted(prefixes.items(), key=lambda p: -len(p[0]))  # the longest first

    def __iter__(self) -> Iterator[Tenant]:
        return iter(sorted(self._tenants.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._tenants)

    def __contains__(self, name: object) -> bool:
        return name in self._tenants

    def get(self, name: str) -> Tenant:
        try:
            return self._tenants[name]
        except KeyError:
            known = ", ".join(sorted(self._tenants)) or "none yet (crmkit tenants add)"
            raise NotFoundError(f"no tenant {name!r} in {self.path} (tenants: {known})") from None

    def by_host(self, host: str) -> Tenant | None:
        return self._by_host.get(host)

    def by_path(self, path: str) -> tuple[Tenant, str] | None:
        """The tenant whose prefix starts ``path``, and the prefix."""
        for prefix, tenant in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return tenant, prefix
        return None

    def enabled(self) -> list[Tenant]:
        return [t for t in self if not t.disabled]

    # -- changing -----------------------------------------------------------------

    def with_tenant(self, tenant: Tenant, *, replace: bool = False) -> "TenantRegistry":
        """A registry with ``tenant`` added (or replaced); refuses a taken name, host or prefix."""
        if tenant.name in self._tenants and not replace:
            raise ValidationError(f"tenant {tenant.name} already exists", field="name")
        for other in self._tenants.values():
            if other.name == tenant.name:
                continue
            taken = set(other.hosts) & set(tenant.hosts)
            if taken:
                raise ValidationError(f"host {sorted(taken)[0]} already belongs to tenant {other.name}", field="host")
            if tenant.prefix and other.prefix == tenant.prefix:
                raise ValidationError(f"prefix {tenant.prefix} already belongs to tenant {other.name}", field="prefix")
        return TenantRegistry(self.path, {**self._tenants, tenant.name: tenant})

    def save(self) -> None:
        """Write the file atomically (a temporary file renamed over it)."""
        doc = {"tenants": {t.name: t.to_table(self.base) for t in self}}
        header = "# The tenants of this crmkit installation (crmkit tenants add|list|disable|enable; docs/tenants.md).\n\n"
        self.base.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temp.write_text(header + dumps(doc).lstrip("\n"), encoding="utf-8")
        os.replace(temp, self.path)


def _parse(file: Path, base: Path, name: str, table: Any) -> Tenant:
    where = f"{file}: [tenants.{name}]"
    if not NAME.match(name):
        raise ConfigError(f"{where}: not a tenant name (lower-case letters, digits, - or _)")
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(_KEYS))})")
    config = table.get("config")
    if not isinstance(config, str) or not config:
        raise ConfigError(f"{where}: config must be the path of the tenant's crmkit.toml")
    hosts = table.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ConfigError(f"{where}: hosts must be a list of host names")
    prefix = table.get("prefix")
    disabled = table.get("disabled", False)
    if not isinstance(disabled, bool):
        raise ConfigError(f"{where}: disabled must be true or false")
    try:
        return Tenant(name=name, config=(base / config).resolve(), hosts=tuple(check_host(h) for h in hosts),
                      prefix=check_prefix(prefix) if prefix is not None else None, disabled=disabled)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None

"""``crmkit tenants upgrade``: every tenant's database to head, resumable.

A run upgrades the tenants one by one (each as ``crmkit db upgrade`` does: the core's and the
tenant's enabled plugins' migrations, then its declared pipelines and lost reasons written) and
records each result in ``tenants.upgrade.json`` next to ``tenants.toml`` as soon as it is known.
A run that stopped (a tenant failed, the process was killed) is resumed by the next call: the
tenants already upgraded in it are skipped, the failed and the remaining ones are tried. A run that
finished is followed by a fresh one (every tenant checked again; one at head costs a read).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import attrs

from .. import Crm, CrmError, Settings
from .registry import TenantRegistry

STATE_NAME = "tenants.upgrade.json"


@attrs.frozen
class TenantUpgrade:
    """What the run did to one tenant: ``upgraded`` (``applied`` lists the revisions), ``skipped``
    (upgraded earlier in this resumed run) or ``failed`` (``error``)."""

    tenant: str
    status: str
    applied: tuple[str, ...] = ()
    error: str | None = None


@attrs.frozen
class UpgradeRun:
    results: tuple[TenantUpgrade, ...]
    resumed: bool
    finished: bool

    @property
    def failed(self) -> list[TenantUpgrade]:
        return [r for r in self.results if r.status == "failed"]


def state_path(registry: TenantRegistry) -> Path:
    return registry.base / STATE_NAME


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a damaged state file: start a fresh run (upgrading a tenant at head changes nothing)
    return data if isinstance(data, dict) and isinstance(data.get("tenants"), dict) else None


def _save(path: Path, state: dict[str, Any]) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, path)


def upgrade_with_distribution(config: Path) -> list[str]:
    """:func:`upgrade_one`, then, for a tenant made from a distribution, the installed release's
    defaults merged in (``crmkit distributions upgrade``; its notes are returned as lines too)."""
    from ..distributions import LOCK_NAME, upgrade_deployment

    applied = upgrade_one(config)
    if not (config.parent / LOCK_NAME).exists():
        return applied
    report = upgrade_deployment(config)
    lines = [f"{report.distribution} {report.from_version} -> {report.to_version}"] if report.changed or \
        report.from_version != report.to_version else []
    return applied + lines + [f"note: {n}" for n in report.notes]


def upgrade_one(config: Path) -> list[str]:
    """Bring the deployment at ``config`` to head; the revisions applied."""
    from ..core.migrations.runner import upgrade  # internal: the same run as `crmkit db upgrade`

    crm = Crm(Settings.load(config, environ={}), setup=False)
    try:
        steps = upgrade(crm)
        crm.setup()  # new default pipelines and lost reasons written, as every start does
    finally:
        crm.close()
    return [f"{s.branch} {s.revision}" for s in steps]


def upgrade_tenants(registry: TenantRegistry, *, restart: bool = False, keep_going: bool = False,
                    progress: Callable[[TenantUpgrade], None] = lambda r: None,
                    upgrade: Callable[[Path], list[str]] = upgrade_one) -> UpgradeRun:
    """Upgrade every tenant of ``registry`` (see the module's docstring). Stops at the first failure
    unless ``keep_going``; ``restart`` forgets an unfinished run. ``progress`` is called after each
    tenant (the result is saved before it)."""
    path = state_path(registry)
    state = None if restart else _load(path)
    resumed = state is not None and not state.get("finished_at")
    if not resumed:
        state = {"started_at": _now(), "finished_at": None, "tenants": {}}
    assert state is not None
    done: dict[str, Any] = state["tenants"]
    results: list[TenantUpgrade] = []
    for tenant in registry:
        previous = done.get(tenant.name)
        if previous and previous.get("status") == "upgraded":
            results.append(TenantUpgrade(tenant.name, "skipped"))
            continue
        try:
            applied = upgrade(tenant.config)
        except (CrmError, OSError, Exception) as exc:  # one tenant's failure is recorded, never hidden
            message = exc.message if isinstance(exc, CrmError) else f"{type(exc).__name__}: {exc}"
            result = TenantUpgrade(tenant.name, "failed", error=" ".join(str(message).split())[:500])
            done[tenant.name] = {"status": "failed", "error": result.error, "at": _now()}
        else:
            result = TenantUpgrade(tenant.name, "upgraded", applied=tuple(applied))
            done[tenant.name] = {"status": "upgraded", "applied": applied, "at": _now()}
        _save(path, state)
        results.append(result)
        progress(result)
        if result.status == "failed" and not keep_going:
            break
    finished = len(results) == len(registry) and not any(r.status == "failed" for r in results)
    if finished:
        state["finished_at"] = _now()
        _save(path, state)
    return UpgradeRun(tuple(results), resumed, finished)

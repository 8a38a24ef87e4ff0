"""Which branches a deployment has: the core's, and one per enabled plugin that ships migrations.

A plugin declares its migrations with ``PluginInfo(migrations="crmkit_myplugin.migrations")``:
a package (or a directory path) whose ``versions/`` folder holds its revision files.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import attrs

from ..errors import ConfigError, PluginError
from ..plugins import plugin_info
from .scripts import Branch, Revision, read_branch

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

CORE = "crmkit"
"""The core's branch label."""
CORE_DIRECTORY = Path(__file__).resolve().parent
VERSIONS = "versions"


@attrs.frozen
class Layout:
    """The branches of one deployment, the core's first."""

    branches: tuple[Branch, ...]
    unversioned: tuple[str, ...]
    """Enabled plugins without migrations (their tables are created when missing, never altered)."""

    @property
    def revisions(self) -> dict[str, Revision]:
        return {r.id: r for b in self.branches for r in b.revisions}

    def branch(self, name: str) -> Branch | None:
        return next((b for b in self.branches if b.name == name), None)

    def with_branches(self, extra: Iterable[Branch]) -> "Layout":
        known = {b.name for b in self.branches}
        return attrs.evolve(self, branches=self.branches + tuple(b for b in extra if b.name not in known))


def core_branch() -> Branch:
    return read_branch(CORE, CORE_DIRECTORY / VERSIONS)


def versions_directory(name: str, migrations: Any) -> Path:
    """The ``versions/`` folder of a plugin's ``PluginInfo.migrations`` (a package name or a path)."""
    if isinstance(migrations, os.PathLike):
        base = Path(migrations)
    elif isinstance(migrations, str) and migrations:
        try:
            spec = importlib.util.find_spec(migrations)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or ()) if spec is not None else []
        if not locations:
            raise PluginError(f"plugin {name}: migrations package {migrations!r} cannot be found")
        base = Path(locations[0])
    else:
        raise PluginError(f"plugin {name}: migrations must be a package name or a path, got {migrations!r}")
    directory = base / VERSIONS
    if not directory.is_dir():
        raise PluginError(f"plugin {name}: its migrations have no {VERSIONS}/ folder ({directory})")
    return directory


def plugin_branch(plugin: Any) -> Branch | None:
    """The branch of a plugin object (``None`` if it ships no migrations)."""
    info = plugin_info(plugin)
    migrations = getattr(info, "migrations", None)
    if migrations is None:
        return None
    if info.name == CORE:
        raise PluginError(f"plugin {CORE}: the name is the core's migration branch; rename the plugin")
    return read_branch(info.name, versions_directory(info.name, migrations))


def layout(crm: "Crm") -> Layout:
    """The deployment's branches: the core's, then each enabled plugin's in load order."""
    branches = [core_branch()]
    unversioned: list[str] = []
    for plugin in crm.plugins:
        branch = plugin_branch(plugin)
        if branch is None:
            unversioned.append(plugin_info(plugin).name)
        else:
            branches.append(branch)
    _check_dependencies(branches)
    return Layout(tuple(branches), tuple(unversioned))


def _check_dependencies(branches: list[Branch]) -> None:
    owner: dict[str, str] = {}
    for b in branches:
        for r in b.revisions:
            if r.id in owner:
                raise ConfigError(f"migrations: revision {r.id} is in both {owner[r.id]} and {b.name}; "
                                  "revision ids must be unique (prefix them with the plugin's name)")
            owner[r.id] = b.name
    known = set(owner)
    for b in branches:
        for r in b.revisions:
            missing = [d for d in r.depends_on if d not in known]
            if missing:
                raise ConfigError(f"migrations of {b.name}: {r.id} depends on {', '.join(missing)}, which no "
                                  "enabled part of the deployment ships (a plugin it requires is not enabled, "
                                  "or crmkit is older than the plugin needs)")


def installed_branches(skip: Iterable[str]) -> list[Branch]:
    """The branches of installed plugins other than ``skip``, for a database that holds their revisions.

    Used only when the database has revisions the enabled plugins do not ship (a plugin was disabled):
    their ``plugin_info`` is read (the module is imported, nothing is registered: no hooks, tables or
    commands), so that the database's history stays readable.
    """
    from ..plugins import _load_entry_point, installed_plugins

    out: list[Branch] = []
    skipped = set(skip)
    for name in sorted(installed_plugins()):
        if name in skipped:
            continue
        try:
            branch = plugin_branch(_load_entry_point(name))
        except Exception:  # noqa: BLE001 - a broken disabled plugin cannot explain the database anyway
            continue
        if branch is not None:
            out.append(branch)
    return out

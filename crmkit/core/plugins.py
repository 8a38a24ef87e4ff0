"""The plugin host: finds plugins by entry point, loads only the enabled ones.

A plugin is a module (or any object) registered under the entry-point group
``crmkit.plugins`` with its name as the entry-point name, e.g. in its
pyproject.toml::

    [project.entry-points."crmkit.plugins"]
    telephony = "crmkit_telephony.plugin"

The module carries ``plugin_info = PluginInfo(...)`` and ``@hookimpl`` functions.
Installed but not enabled: the module is not even imported.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any, Iterable, Sequence

import attrs
import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from . import hookspecs
from .errors import PluginError

API_VERSION = "1.0"
"""The version of the hook API. Minor bumps only add; plugins declare a range."""

ENTRY_POINT_GROUP = "crmkit.plugins"


@attrs.frozen
class PluginInfo:
    """What a plugin declares about itself.

    :param name: the plugin name (the entry-point name and the key in ``plugins = [...]``).
    :param version: the plugin's version.
    :param api: the range of core hook-API versions it supports (PEP 440 specifier).
    :param requires: names of plugins that must be enabled with it.
    :param hookspecs: a module or class with the plugin's own hookspecs (optional).
    :param description: one line shown by ``crmkit plugins``.
    :param migrations: the package (``"crmkit_myplugin.migrations"``) or directory whose ``versions/``
        folder holds the plugin's alembic revisions: its own branch, labelled with its name (see
        docs/writing-plugins.md). ``None``: no migrations (its tables are created when missing, never altered).
    """

    name: str
    version: str
    api: str = ">=1.0,<2"
    requires: tuple[str, ...] = ()
    hookspecs: Any = None
    description: str = ""
    migrations: Any = None


@attrs.frozen
class InstalledPlugin:
    name: str
    distribution: str
    version: str
    target: str


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Every plugin installed in this environment, by name (nothing is imported)."""
    found: dict[str, InstalledPlugin] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        found[ep.name] = InstalledPlugin(
            name=ep.name,
            distribution=dist.name if dist else "?",
            version=dist.version if dist else "?",
            target=ep.value,
        )
    return found


def _describe_installed(installed: dict[str, InstalledPlugin]) -> str:
    if not installed:
        return "no crmkit plugins are installed"
    return "installed: " + ", ".join(f"{p.name} {p.version}" for p in sorted(installed.values(), key=lambda p: p.name))


def _load_entry_point(name: str) -> Any:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
        return ep.load()
    raise KeyError(name)


def plugin_info(plugin: Any) -> PluginInfo:
    info = getattr(plugin, "plugin_info", None)
    if not isinstance(info, PluginInfo):
        where = getattr(plugin, "__name__", repr(plugin))
        raise PluginError(f"plugin {where} has no `plugin_info = PluginInfo(...)`")
    return info


def check_api(info: PluginInfo) -> None:
    try:
        spec = SpecifierSet(info.api)
    except InvalidSpecifier:
        raise PluginError(f"plugin {info.name}: api range {info.api!r} is not a version specifier") from None
    if Version(API_VERSION) not in spec:
        raise PluginError(
            f"plugin {info.name} {info.version} supports crmkit hook API {info.api}, "
            f"but this crmkit provides API {API_VERSION}: upgrade the plugin or crmkit"
        )


def load_enabled(enabled: Sequence[str]) -> list[Any]:
    """Import the enabled plugins by entry point, in dependency order.

    Raises :class:`PluginError` naming what is installed and what is wrong.
    """
    installed = installed_plugins()
    unknown = [n for n in enabled if n not in installed]
    if unknown:
        raise PluginError(
            f"plugin(s) {', '.join(unknown)} enabled in crmkit.toml but not installed; {_describe_installed(installed)}"
        )
    modules: dict[str, Any] = {}
    for name in enabled:
        try:
            module = _load_entry_point(name)
        except Exception as exc:  # an import error in the plugin itself
            raise PluginError(f"plugin {name} ({installed[name].target}) failed to import: {exc}") from exc
        info = plugin_info(module)
        if info.name != name:
            raise PluginError(f"entry point {name!r} loads a plugin that calls itself {info.name!r}")
        modules[name] = module
    return order_by_requirements(modules, installed)


def order_by_requirements(modules: dict[str, Any], installed: dict[str, InstalledPlugin] | None = None) -> list[Any]:
    """Check API ranges and requirements; return plugins with requirements first."""
    installed = installed if installed is not None else installed_plugins()
    infos = {name: plugin_info(m) for name, m in modules.items()}
    for info in infos.values():
        check_api(info)
        for req in info.requires:
            if req in infos:
                continue
            if req in installed:
                why = f"{req} is installed but not enabled: add it to plugins in crmkit.toml"
            else:
                why = f"{req} is not installed; {_describe_installed(installed)}"
            raise PluginError(f"plugin {info.name} requires plugin {req}: {why}")
    ordered: list[Any] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise PluginError(f"plugins require each other in a cycle: {' -> '.join(chain + (name,))}")
        state[name] = 1
        for req in infos[name].requires:
            visit(req, chain + (name,))
        state[name] = 2
        ordered.append(modules[name])

    for name in modules:
        visit(name, ())
    return ordered


def build_plugin_manager(plugins: Iterable[Any], *, defaults: Iterable[Any] = ()) -> pluggy.PluginManager:
    """A fresh PluginManager (one per Crm: nothing leaks between deployments or tests).

    ``defaults`` are the core's own implementations, registered first so that
    real plugins run before them.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = list(plugins)
    for plugin in plugins:
        info = plugin_info(plugin)
        if info.hookspecs is not None:
            pm.add_hookspecs(info.hookspecs)
    for default in defaults:
        pm.register(default, name=f"crmkit.{getattr(default, '__name__', 'default').rsplit('.', 1)[-1]}")
    for plugin in plugins:
        info = plugin_info(plugin)
        if pm.has_plugin(info.name):
            raise PluginError(f"plugin {info.name} registered twice")
        try:
            pm.register(plugin, name=info.name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {info.name}: {exc}") from None
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin = exc.plugin
        name = pm.get_name(plugin) if plugin is not None else "?"
        known = ", ".join(sorted(n for n in dir(pm.hook) if not n.startswith("_")))
        raise PluginError(f"plugin {name} implements a hook that does not exist: {exc}. Known hooks: {known}") from None
    return pm

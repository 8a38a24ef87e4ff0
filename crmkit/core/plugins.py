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
from typing import Any, Iterable, Mapping, Sequence

import attrs
import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from . import hooktrace, hookspecs
from .errors import PluginError

API_VERSION = "1.0"
"""The version of the hook API. Minor bumps only add; plugins declare a range."""

ENTRY_POINT_GROUP = "crmkit.plugins"
GLUE_GROUP = "crmkit.glue"
"""Glue plugins list themselves here too (the same name and target as in ``crmkit.plugins``)."""


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
    :param auto_enable: a glue plugin's sides: it switches itself on when every plugin named here
        is enabled (and is off otherwise), as if listed in ``plugins = [...]``. The distribution also
        lists it in the entry-point group ``crmkit.glue`` (so the host finds glue plugins without
        importing every installed plugin).
    :param settings: the schema of ``[settings.<name>]``: an attrs class (each key a field, its type
        and validators checked) or a callable ``parse(table, settings) -> object``. The host checks it
        at start and ``crmkit config check``; the plugin reads the result with ``crm.settings_of(name)``.
    """

    name: str
    version: str
    api: str = ">=1.0,<2"
    requires: tuple[str, ...] = ()
    hookspecs: Any = None
    description: str = ""
    migrations: Any = None
    auto_enable: tuple[str, ...] = ()
    settings: Any = None


@attrs.frozen
class InstalledPlugin:
    name: str
    distribution: str
    version: str
    target: str


def _scan() -> tuple[dict[str, importlib.metadata.EntryPoint], set[str]]:
    """The installed plugins' entry points by name, and the names listed as glue: one scan of the
    environment's metadata (a scan costs milliseconds; a start does exactly one)."""
    eps = importlib.metadata.entry_points()
    plugins = {ep.name: ep for ep in eps.select(group=ENTRY_POINT_GROUP)}
    return plugins, {ep.name for ep in eps.select(group=GLUE_GROUP)}


def _installed(eps: Mapping[str, importlib.metadata.EntryPoint]) -> dict[str, InstalledPlugin]:
    found: dict[str, InstalledPlugin] = {}
    for name, ep in eps.items():
        dist = ep.dist
        found[name] = InstalledPlugin(
            name=name, distribution=dist.name if dist else "?", version=dist.version if dist else "?", target=ep.value,
        )
    return found


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Every plugin installed in this environment, by name (nothing is imported)."""
    return _installed(_scan()[0])


def _describe_installed(installed: Mapping[str, InstalledPlugin]) -> str:
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


def glue_names() -> set[str]:
    """Installed plugins listed in the entry-point group ``crmkit.glue`` (nothing is imported)."""
    eps, glue = _scan()
    return {name for name in glue if name in eps}


@attrs.frozen
class Enabled:
    """The plugins of a deployment: ``plugins`` in load order (requirements first); ``auto`` maps
    each glue plugin switched on by itself to the plugins that pulled it in."""

    plugins: tuple[Any, ...]
    auto: Mapping[str, tuple[str, ...]]


def resolve(listed: Sequence[str], extra: Sequence[Any] = ()) -> Enabled:
    """Import the listed plugins by entry point (``extra``: plugin objects given in-process), switch
    on every installed glue plugin whose sides are all enabled, check API ranges and requirements
    and order them. Raises :class:`PluginError` naming what is installed and what is wrong.

    A glue plugin (``PluginInfo(auto_enable=...)``, listed in the group ``crmkit.glue``) that is not
    listed is imported to read its ``plugin_info``; it is registered only when it switches on.
    """
    eps, glue = _scan()
    installed = _installed(eps)
    unknown = [n for n in listed if n not in installed]
    if unknown:
        raise PluginError(
            f"plugin(s) {', '.join(unknown)} enabled in crmkit.toml but not installed; {_describe_installed(installed)}"
        )
    modules: dict[str, Any] = {}
    for name in listed:
        modules[name] = _import(eps[name])
    for plugin in extra:
        modules[plugin_info(plugin).name] = plugin
    auto = _switch_on_glue(modules, [eps[n] for n in sorted(glue) if n in eps and n not in modules])
    return Enabled(tuple(order_by_requirements(modules, installed)), auto)


def auto_enabled(listed: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The glue plugins that switch on for ``plugins = listed`` (with the plugins that pull each in),
    importing only the glue plugins, not the listed ones (``crmkit plugins``)."""
    eps, glue = _scan()
    present = {name: None for name in listed if name in eps}
    return _switch_on_glue(present, [eps[n] for n in sorted(glue) if n in eps and n not in present])


def load_enabled(enabled: Sequence[str]) -> list[Any]:
    """The plugins :func:`resolve` enables for ``plugins = enabled``, in load order."""
    return list(resolve(enabled).plugins)


def _import(ep: importlib.metadata.EntryPoint) -> Any:
    name = ep.name
    try:
        module = ep.load()
    except Exception as exc:  # an import error in the plugin itself
        raise PluginError(f"plugin {name} ({ep.value}) failed to import: {exc}") from exc
    info = plugin_info(module)
    if info.name != name:
        raise PluginError(f"entry point {name!r} loads a plugin that calls itself {info.name!r}")
    return module


def _switch_on_glue(modules: dict[str, Any], candidates: Sequence[importlib.metadata.EntryPoint]) -> dict[str, tuple[str, ...]]:
    """Add to ``modules`` each glue plugin (of ``candidates``) whose sides are all enabled (glue of glue too)."""
    if not candidates or not modules:  # no plugin enabled: no glue can switch on, none is imported
        return {}
    infos: dict[str, tuple[Any, PluginInfo]] = {}
    for ep in candidates:
        module = _import(ep)
        infos[ep.name] = (module, plugin_info(module))
    auto: dict[str, tuple[str, ...]] = {}
    changed = True
    while changed:
        changed = False
        for name, (module, info) in infos.items():
            sides = _sides(info)
            if name not in modules and sides and all(s in modules for s in sides):
                modules[name] = module
                auto[name] = sides
                changed = True
    return auto


def _sides(info: PluginInfo) -> tuple[str, ...]:
    sides = info.auto_enable
    if isinstance(sides, str) or not all(isinstance(s, str) for s in sides):
        raise PluginError(f"plugin {info.name}: auto_enable must be a tuple of plugin names, got {sides!r}")
    return tuple(sides)


def order_by_requirements(modules: dict[str, Any], installed: Mapping[str, InstalledPlugin] | None = None) -> list[Any]:
    """Check API ranges and requirements (a glue plugin requires its sides); return plugins with
    requirements first."""
    installed = installed if installed is not None else installed_plugins()
    infos = {name: plugin_info(m) for name, m in modules.items()}
    needs: dict[str, tuple[str, ...]] = {}
    for info in infos.values():
        check_api(info)
        sides = _sides(info)
        needs[info.name] = tuple(dict.fromkeys((*info.requires, *sides)))
        for req in needs[info.name]:
            if req in infos:
                continue
            if req in installed:
                why = f"{req} is installed but not enabled: add it to plugins in crmkit.toml"
            else:
                why = f"{req} is not installed; {_describe_installed(installed)}"
            if req in sides and req not in info.requires:
                raise PluginError(f"plugin {info.name} glues {' and '.join(sides)} together: {why}")
            raise PluginError(f"plugin {info.name} requires plugin {req}: {why}")
    ordered: list[Any] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise PluginError(f"plugins require each other in a cycle: {' -> '.join(chain + (name,))}")
        state[name] = 1
        for req in needs[name]:
            visit(req, chain + (name,))
        state[name] = 2
        ordered.append(modules[name])

    for name in modules:
        visit(name, ())
    return ordered


def build_plugin_manager(plugins: Iterable[Any], *, defaults: Iterable[Any] = (), trace: bool = False) -> pluggy.PluginManager:
    """A fresh PluginManager (one per Crm: nothing leaks between deployments or tests).

    ``defaults`` are the core's own implementations, registered first so that
    real plugins run before them. ``trace``: log every hook call (:mod:`crmkit.core.hooktrace`).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = list(plugins)
    for plugin in plugins:
        info = plugin_info(plugin)
        if info.hookspecs is not None:
            pm.add_hookspecs(info.hookspecs)
    for default in defaults:
        # a module may name itself (crmkit.transfer.hooks is "crmkit.transfer"); else crmkit.<its last name>
        name = getattr(default, "DEFAULT_PLUGIN_NAME", None)
        pm.register(default, name=name or f"crmkit.{getattr(default, '__name__', 'default').rsplit('.', 1)[-1]}")
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
    if trace:
        hooktrace.trace(pm)
    return pm

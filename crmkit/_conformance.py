"""The conformance check behind :func:`crmkit.testing.check_plugin` (internal: call it through there).

A plugin conforms when, installed by entry point:

1. it declares an API range that contains this crmkit's API and has an upper bound;
2. its own hookspecs (``PluginInfo(hookspecs=...)``) have docstrings and its name as prefix;
3. it imports only the public API (:mod:`crmkit.core.boundary`);
4. a glue plugin (``auto_enable``) is listed in the entry-point group ``crmkit.glue``;
5. disabled (its requirements enabled, a glue plugin's sides not all), it is not imported (a
   glue plugin: not registered), and leaves no hook, table, route, command, job, pipeline,
   custom field or permission -- in the ``Crm`` and in crmkit's own globals;
6. enabled, it starts, registers under its name, and its new tables carry its name as prefix;
7. its migrations downgrade to base (its tables gone) and upgrade back to head with no drift
   between its models and the database; a plugin with tables ships migrations;
8. ``crm.settings_of(name)`` is an instance of its settings class, when it declares one.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import attrs
import click
from sqlalchemy import inspect as sa_inspect

from .core import schema as core_schema
from .core.app import Crm
from .core.boundary import private_imports, python_files
from .core.hookcall import call_hook
from .core.hookspecs import PROJECT
from .core.plugins import API_VERSION, PluginInfo, _load_entry_point, glue_names, installed_plugins, plugin_info
from .core.settings import Settings

_SPEC_MARK = f"{PROJECT}_spec"


@attrs.frozen
class Snapshot:
    """What one started ``Crm`` has, to compare a plugin's enabled and disabled states."""

    plugins: frozenset[str]
    hooks: frozenset[str]
    db_tables: frozenset[str]
    tables: frozenset[str]
    routes: frozenset[str]
    commands: frozenset[str]
    jobs: frozenset[str]
    pipelines: frozenset[str]
    fields: frozenset[str]
    permissions: frozenset[str]


def problems(name: str, database: str, *, settings: Mapping[str, Any] | None = None,
             deployment: Mapping[str, Any] | None = None) -> list[str]:
    """Every way plugin ``name`` does not conform (empty: it does). See the module doc."""
    if name not in installed_plugins():
        return [f"{name}: not installed under the entry-point group crmkit.plugins"]
    module = _load_entry_point(name)
    info = plugin_info(module)
    if info.name != name:
        return [f"{name}: the entry point loads a plugin that calls itself {info.name!r}"]
    found = _api(info) + _hookspecs(info) + _imports(module) + _glue(info)
    with tempfile.TemporaryDirectory() as tmp:
        run = _Run(info, database, Path(tmp), settings or {}, deployment or {})
        if not info.auto_enable:
            found += run.not_imported(module)
        found += run.states()
    return found


def _api(info: PluginInfo) -> list[str]:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        spec = SpecifierSet(info.api)
    except InvalidSpecifier:
        return [f"{info.name}: api {info.api!r} is not a version range"]
    out = []
    if Version(API_VERSION) not in spec:
        out.append(f"{info.name}: api {info.api!r} does not contain this crmkit's API {API_VERSION}")
    if not any(s.operator in ("<", "<=", "==", "===", "~=") for s in spec):
        out.append(f"{info.name}: api {info.api!r} has no upper bound: name the major versions you support "
                   f"(e.g. '>=1.0,<2')")
    return out


def _hookspecs(info: PluginInfo) -> list[str]:
    if info.hookspecs is None:
        return []
    out = []
    for attr, fn in inspect.getmembers(info.hookspecs):
        if not callable(fn) or not hasattr(fn, _SPEC_MARK):
            continue
        if not attr.startswith(f"{info.name}_"):
            out.append(f"{info.name}: its hookspec {attr} is not prefixed with the plugin's name ({info.name}_...)")
        if not inspect.getdoc(fn):
            out.append(f"{info.name}: its hookspec {attr} has no docstring (when it is called, what it returns)")
    return out


def _own(module: Any) -> tuple[str, list[Path]]:
    """The plugin's own code: ``(the module prefix it lives under, its files)``. Its top-level package,
    unless another installed plugin's entry point is in that package too (a package of test plugins):
    then only its own module (or the subpackage holding it)."""
    name = module.__name__
    top = name.split(".", 1)[0]
    others = [p.target.split(":", 1)[0] for p in installed_plugins().values()
              if p.target.split(":", 1)[0] != name]
    unit = top
    if any(o == top or o.startswith(top + ".") for o in others):
        unit = name.rsplit(".", 1)[0] if name.count(".") > 1 else name
    spec = importlib.util.find_spec(unit)
    if spec is None:
        return unit, []
    if spec.submodule_search_locations:
        return unit, python_files(Path(list(spec.submodule_search_locations)[0]))
    return unit, [Path(spec.origin)] if spec.origin else []


def _imports(module: Any) -> list[str]:
    unit, files = _own(module)
    top = importlib.util.find_spec(unit.split(".", 1)[0])
    base = Path(list(top.submodule_search_locations)[0]).parent if top and top.submodule_search_locations else None
    return private_imports(files, root=base)


def _glue(info: PluginInfo) -> list[str]:
    if info.auto_enable and info.name not in glue_names():
        return [f"{info.name}: declares auto_enable but its distribution does not list it in the entry-point "
                f"group crmkit.glue, so it never switches on by itself"]
    return []


def _requirements(names: Sequence[str]) -> list[str]:
    """``names`` and everything they require, requirements first."""
    out: list[str] = []

    def visit(n: str) -> None:
        if n in out or n not in installed_plugins():
            return
        info = plugin_info(_load_entry_point(n))
        for r in (*info.requires, *info.auto_enable):
            visit(r)
        out.append(n)

    for n in names:
        visit(n)
    return out


class _Run:
    """The plugin started disabled, enabled and disabled again, on one database."""

    def __init__(self, info: PluginInfo, database: str, base: Path, settings: Mapping[str, Any],
                 deployment: Mapping[str, Any]) -> None:
        self.info = info
        self.name = info.name
        self.database = database
        self.base = base
        self.settings = settings
        self.deployment = deployment
        sides = list(info.auto_enable)
        if sides:  # a glue plugin: on with all its sides, off with all but one
            self.on = _requirements([*info.requires, *sides])
            self.off = [n for n in _requirements([*info.requires, *sides[:-1]]) if n != self.name]
        else:
            self.off = _requirements(list(info.requires))
            self.on = [*self.off, self.name]

    def data(self, plugins: Sequence[str], database: str) -> dict[str, Any]:
        from .testing import template

        return {**template(), **self.deployment, "database": database, "plugins": list(plugins),
                "settings": {**self.deployment.get("settings", {}), self.name: dict(self.settings)}}

    def start(self, plugins: Sequence[str]) -> Crm:
        return Crm(Settings.from_dict(self.data(plugins, self.database), base_dir=self.base, environ={}))

    def not_imported(self, module: Any) -> list[str]:
        """Disabled, in a new process: the plugin's code is never imported."""
        top, _ = _own(module)
        script = (
            "import json, sys\n"
            "from crmkit import Crm, Settings\n"
            "data = json.loads(sys.argv[1])\n"
            "crm = Crm(Settings.from_dict(data, base_dir=sys.argv[3], environ={}))\n"
            "crm.close()\n"
            "top = sys.argv[2]\n"
            "print(json.dumps(sorted(m for m in sys.modules if m == top or m.startswith(top + '.'))))\n"
        )
        data = self.data(self.off, "sqlite://")
        proc = subprocess.run([sys.executable, "-c", script, json.dumps(data), top, str(self.base)],
                              capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            return [f"{self.name}: a deployment without it (plugins {self.off}) does not start: "
                    f"{proc.stderr.strip().splitlines()[-1:]}"]
        imported = json.loads(proc.stdout.strip().splitlines()[-1])
        if imported:
            return [f"{self.name}: imported by a deployment that does not enable it ({', '.join(imported)})"]
        return []

    def states(self) -> list[str]:
        out: list[str] = []
        with _started(self, self.off) as crm:
            before = snapshot(crm)
        try:
            with _started(self, self.on) as crm:
                on = snapshot(crm)
                out += self.enabled(crm, before, on)
                out += self.migrations(crm, before, on)
        except Exception as exc:  # noqa: BLE001 - any failure to start enabled is the finding
            return out + [f"{self.name}: does not start enabled (plugins {self.on}): {type(exc).__name__}: {exc}"]
        with _started(self, self.off) as crm:
            out += self.disabled(snapshot(crm), before, on)
        return out

    def enabled(self, crm: Crm, before: Snapshot, on: Snapshot) -> list[str]:
        out = []
        if self.name not in on.plugins:
            out.append(f"{self.name}: not registered when enabled (plugins {self.on})")
        if self.info.auto_enable and crm.auto_enabled.get(self.name) != tuple(self.info.auto_enable):
            out.append(f"{self.name}: did not switch itself on with {', '.join(self.info.auto_enable)}")
        for table in sorted(self.own_tables(before, on)):
            if not table.startswith(f"{self.name}_"):
                out.append(f"{self.name}: table {table} is not prefixed with the plugin's name ({self.name}_...)")
        if self.info.settings is not None and attrs.has(self.info.settings):
            if not isinstance(crm.settings_of(self.name), self.info.settings):
                out.append(f"{self.name}: crm.settings_of({self.name!r}) is not a {self.info.settings.__name__}")
        return out

    def disabled(self, off: Snapshot, before: Snapshot, on: Snapshot) -> list[str]:
        out = []
        if self.name in off.plugins:
            out.append(f"{self.name}: registered while disabled (plugins {self.off})")
        for what in ("hooks", "tables", "routes", "commands", "jobs", "pipelines", "fields", "permissions"):
            added = (getattr(on, what) - getattr(before, what)) & getattr(off, what)
            if added:
                out.append(f"{self.name}: disabled, its {what} remain: {', '.join(sorted(added))}")
        leaked = (on.tables - before.tables) & set(core_schema.metadata.tables)
        if leaked:
            out.append(f"{self.name}: put its tables on the core's MetaData: {', '.join(sorted(leaked))}")
        from .cli import cli

        leaked = (on.commands - before.commands) & set(cli.commands)
        if leaked:
            out.append(f"{self.name}: added commands to crmkit's own CLI group: {', '.join(sorted(leaked))}")
        return out

    def own_tables(self, before: Snapshot, on: Snapshot) -> set[str]:
        """The tables enabling it added; for a glue plugin, not those of the side that is off in
        ``before`` (they carry that side's prefix)."""
        sides = [s for s in self.info.auto_enable if s != self.name]
        return {t for t in on.db_tables - before.db_tables
                if t.startswith(f"{self.name}_") or not any(t.startswith(f"{s}_") for s in sides)}

    def migrations(self, crm: Crm, before: Snapshot, on: Snapshot) -> list[str]:
        tables = self.own_tables(before, on)
        if self.info.migrations is None:
            if tables:
                return [f"{self.name}: has tables ({', '.join(sorted(tables))}) but no migrations "
                        "(PluginInfo(migrations=...)): a later release could never change them"]
            return []
        from .core.migrations import runner

        runner.downgrade(crm, f"{self.name}@base")
        left = tables & _db_tables(crm)
        out = [f"{self.name}: downgraded to base, its tables remain: {', '.join(sorted(left))}"] if left else []
        runner.upgrade(crm)
        missing = tables - _db_tables(crm)
        if missing:
            out.append(f"{self.name}: upgraded from base, its tables are missing: {', '.join(sorted(missing))}")
        out += [f"{self.name}: after upgrade, the database differs from its models: {d}" for d in runner.check(crm)]
        return out


class _started:
    def __init__(self, run: _Run, plugins: Sequence[str]) -> None:
        self.crm = run.start(plugins)

    def __enter__(self) -> Crm:
        return self.crm

    def __exit__(self, *exc: Any) -> None:
        self.crm.close()


def _db_tables(crm: Crm) -> set[str]:
    with crm.engine.connect() as conn:
        return set(sa_inspect(conn).get_table_names())


def snapshot(crm: Crm) -> Snapshot:
    from .web.app import _plugin_routes, operations

    collector = click.Group()
    call_hook(crm.pm, "crm_register_commands", cli=collector, crm=crm)
    hooks = {f"{impl.plugin_name}:{name}" for name in dir(crm.pm.hook) if not name.startswith("_")
             for impl in getattr(crm.pm.hook, name).get_hookimpls()}
    return Snapshot(
        plugins=frozenset(crm.pm.get_name(p) or "" for p in crm.pm.get_plugins()),
        hooks=frozenset(hooks),
        db_tables=frozenset(_db_tables(crm)),
        tables=frozenset(crm.tables),
        routes=frozenset(_plugin_routes(crm, operations(crm, crm.clock))),
        commands=frozenset(collector.commands),
        jobs=frozenset(j.name for j in crm.jobs),
        pipelines=frozenset(p.key for p in crm.pipeline_specs),
        fields=frozenset(f"{f.entity}.{f.name}" for f in _fields(crm)),
        permissions=frozenset({p for role in crm.roles.values() for p in role.permissions}
                              | {f"role:{name}" for name in crm.roles}),
    )


def _fields(crm: Crm) -> Iterator[Any]:
    for entity in ("lead", "contact", "company", "deal", "task"):
        yield from crm.custom_fields.fields(entity).values()

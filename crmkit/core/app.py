"""``Crm``: one deployment -- settings, database, its own plugin manager, services.

    crm = Crm.from_config("crmkit.toml")
    deal = crm.as_user(alice.id).deals.create(title="Windows for the Smiths", amount="1200.00")

Every ``Crm`` has its own PluginManager built from exactly the plugins it was
given, so deployments (and tests) never leak hooks into each other.
"""

from __future__ import annotations

import threading
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager, Iterable, Mapping, Sequence

import attrs
from sqlalchemy import Engine, MetaData, Table

from . import automation, default_jobs, defaults, hooktrace, schema
from .reports import report_hooks
from ..transfer import hooks as transfer_hooks
from .access import Access, collect_roles
from .auth import SecurityStamp
from .clock import Clock, SystemClock
from .customfields import CustomFieldRegistry
from .db import make_engine
from .delivery import Delivery
from .dispatcher import Dispatcher
from .errors import ConfigError, NotFoundError, PluginError, ValidationError
from .hookcall import call_hook, results
from .jobs import PeriodicJob
from .migrations import prepare_schema
from .pipelines import PipelineSpec, merge_pipelines
from .plugin_settings import SettingsProblems, parse_all
from .plugins import build_plugin_manager, plugin_info, resolve
from .records import LostReason, Pipeline, Stage
from .settings import Settings
from .sync import load_all_stages, load_lost_reasons, load_pipelines, sync_lost_reasons, sync_pipelines
from .unit_of_work import Tx, WriteGate, transaction, write_connection

if TYPE_CHECKING:  # pragma: no cover
    from ..messages.service import MessageService
    from .services import Services


class Crm:
    """A running deployment.

    :param settings: the deployment's settings (see :meth:`from_config`).
    :param plugins: extra plugin objects to register in-process (tests, embedding);
        plugins named in ``settings.plugins`` are loaded from entry points.
    :param clock: the time source (inject a ``FrozenClock`` in tests).
    :param engine: an existing SQLAlchemy engine (else one is made from settings).
    :param event_log: write the event log (turn off only to measure its cost).
    :param trace_hooks: log every hook call to the ``crmkit.hooks`` logger (default: the env var
        ``CRMKIT_TRACE_HOOKS``; see :mod:`crmkit.core.hooktrace`).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        plugins: Sequence[Any] = (),
        clock: Clock | None = None,
        engine: Engine | None = None,
        event_log: bool = True,
        setup: bool = True,
        trace_hooks: bool | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        self.event_log = event_log
        self._tx_local = threading.local()
        self._access_cache: dict[int | None, tuple[Access, float, int]] = {}
        self._plugin_state: dict[str, dict[str, Any]] = {}
        enabled = resolve(self.settings.plugins, plugins)
        self.plugins: list[Any] = list(enabled.plugins)
        self.auto_enabled: Mapping[str, tuple[str, ...]] = enabled.auto
        """Glue plugins that switched themselves on, with the plugins that pulled each in."""
        self.pm = build_plugin_manager(self.plugins, defaults=[defaults, default_jobs, automation, transfer_hooks,
                                                                 _messaging(), report_hooks],
                                       trace=hooktrace.wanted(trace_hooks))
        self._settings_of = _plugin_settings(self.plugins, self.settings)
        self._impl_cache: dict[str, bool] = {}
        self.engine = engine or make_engine(self.settings.database_url())
        self.security = SecurityStamp(self, check_seconds=self.SECURITY_CHECK_SECONDS)
        """Tells the caches of tokens, roles and services when to forget (see :class:`SecurityStamp`)."""
        self.write_gate = WriteGate(self.engine.dialect.name == "sqlite")
        pm = self.pm
        self.metadatas: list[MetaData] = _metadatas(results(pm, "crm_register_tables", crm=self))
        self.custom_fields = CustomFieldRegistry(f for group in results(pm, "crm_register_custom_fields", crm=self)
                                                 for f in group or ())
        self.pipeline_specs = merge_pipelines(reversed(list(results(pm, "crm_register_pipelines", crm=self))))
        self._specs = {p.key: p for p in self.pipeline_specs}
        self.jobs: list[PeriodicJob] = self._collect_jobs()
        self.roles = collect_roles(list(results(pm, "crm_register_roles", crm=self)),
                                   list(results(pm, "crm_register_permissions", crm=self)))
        automation.check_rules(self)
        self.dispatcher = Dispatcher(self)
        self.delivery = Delivery(self)
        """When after-commit delivery runs (``[settings.events] delivery``, :mod:`crmkit.core.delivery`)."""
        self._pipelines: dict[str, Pipeline] = {}
        self._stages: dict[int, Stage] = {}
        self._lost_reasons: dict[str, LostReason] = {}
        if setup:
            try:
                self.setup()
            except BaseException:
                if engine is None:  # ours: do not leak its connections
                    self.engine.dispose()
                raise

    @classmethod
    def from_config(cls, path: str | Path = "crmkit.toml", **kwargs: Any) -> "Crm":
        """Start the deployment described by ``path`` (a crmkit.toml)."""
        return cls(Settings.load(path), **kwargs)

    # -- start-up ---------------------------------------------------------------

    def setup(self) -> None:
        """Check the schema (an empty database is created at head; one behind head is refused, see
        :func:`crmkit.core.migrations.prepare_schema`), write declared pipelines and lost reasons, load them."""
        prepare_schema(self)
        with write_connection(self) as conn:
            sync_pipelines(conn, self.pipeline_specs, self.clock.now())
            sync_lost_reasons(conn, self.settings.lost_reasons)
        self.reload_declarations()
        self.dispatcher.init_cursors()

    def reload_declarations(self) -> None:
        with self.engine.connect() as conn:
            self._pipelines = {p.key: p for p in load_pipelines(conn)}
            self._stages = load_all_stages(conn)
            self._lost_reasons = {r.key: r for r in load_lost_reasons(conn)}

    def close(self) -> None:
        self.security.close()
        self.engine.dispose()

    def __enter__(self) -> "Crm":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- declarations -----------------------------------------------------------

    @property
    def pipelines(self) -> list[Pipeline]:
        return list(self._pipelines.values())

    def pipeline(self, key: str, *, field: str = "pipeline") -> Pipeline:
        found = self._pipelines.get(key) if isinstance(key, str) else None
        if found is None:
            raise ValidationError(
                f"{field}: no pipeline {key!r} (pipelines: {', '.join(self._pipelines) or 'none declared'})", field=field
            )
        return found

    def pipeline_spec(self, key: str) -> PipelineSpec | None:
        """The declaration of pipeline ``key`` (with its stage rules)."""
        return self._specs.get(key)

    def stage_by_id(self, stage_id: int) -> Stage:
        try:
            return self._stages[stage_id]
        except KeyError:
            raise NotFoundError(f"stage {stage_id} does not exist") from None

    @property
    def lost_reasons(self) -> list[LostReason]:
        return list(self._lost_reasons.values())

    def lost_reason(self, key: str) -> LostReason | None:
        return self._lost_reasons.get(key)

    @property
    def tables(self) -> dict[str, Table]:
        return {name: t for md in self.metadatas for name, t in md.tables.items()}

    # -- plugins ----------------------------------------------------------------

    def _collect_jobs(self) -> list[PeriodicJob]:
        """Periodic jobs, each named ``<plugin>.<job>`` (the core's defaults: ``core.<job>``)."""
        jobs: dict[str, PeriodicJob] = {}
        for plugin, result in call_hook(self.pm, "crm_register_periodic_jobs", crm=self):
            owner = default_jobs.OWNER if plugin.startswith("crmkit.") else plugin
            for job in result:
                prefix = f"{owner}."
                name = job.name if job.name.startswith(prefix) else prefix + job.name
                if name in jobs:
                    raise ConfigError(f"periodic job {name} is registered twice")
                jobs[name] = attrs.evolve(job, name=name)
        return list(jobs.values())

    def has_impls(self, hook_name: str) -> bool:
        """Whether any plugin implements ``hook_name`` (cached: the hook set is fixed)."""
        cached = self._impl_cache.get(hook_name)
        if cached is None:
            cached = self._impl_cache[hook_name] = bool(getattr(self.pm.hook, hook_name).get_hookimpls())
        return cached

    def plugin_settings(self, name: str) -> Any:
        """The raw ``[settings.<name>]`` table of crmkit.toml (empty if absent). A plugin reads its
        own settings with :meth:`settings_of`, parsed and checked once at start."""
        return self.settings.for_plugin(name)

    def settings_of(self, name: str) -> Any:
        """The settings of enabled plugin ``name``: what its ``PluginInfo(settings=...)`` made of
        ``[settings.<name>]`` when this ``Crm`` started (a read-only mapping of the table when the
        plugin declares no schema). Parsed once: call it as often as you like."""
        try:
            return self._settings_of[name]
        except KeyError:
            raise PluginError(f"plugin {name} is not enabled in this deployment") from None

    def plugin_state(self, name: str) -> dict[str, Any]:
        """A dict a plugin may keep per deployment (caches, clients); gone with the ``Crm``."""
        return self._plugin_state.setdefault(name, {})

    # -- services ---------------------------------------------------------------

    def transaction(self, actor_id: int | None = None) -> ContextManager[Tx]:
        """A write transaction for a plugin's own command (events, hooks, commit as the core's)."""
        return transaction(self, actor_id)

    ACCESS_TTL = 5.0
    """Seconds a user's role and team are cached at most (any change to users ends that at once:
    see :attr:`security`)."""

    SECURITY_CHECK_SECONDS: float | None = None
    """How often a process reads the deployment's security stamp, i.e. how soon a user, role,
    password or token change made by another process applies here (0: at every request; None:
    every request on SQLite, every 0.1 s on PostgreSQL). Changes made in this process apply at once."""

    def access_for(self, user_id: int | None) -> Access:
        """The role and record rules of ``user_id``, cached for :attr:`ACCESS_TTL` seconds while
        the security stamp stays the same."""
        # the system's access reads nothing from the database: no stamp check for it
        generation = self.security.generation if user_id is None else self.security.current()
        now = time.monotonic()
        cached = self._access_cache.get(user_id)
        if cached is not None and cached[1] > now and cached[2] == generation:
            return cached[0]
        access = Access.of(self, user_id)
        assert generation is not None
        if len(self._access_cache) > 10_000:
            self._access_cache.clear()
        self._access_cache[user_id] = (access, now + self.ACCESS_TTL, generation)
        return access

    def forget_access(self, user_id: int | None = None) -> None:
        """Drop cached roles (of one user, or everyone's)."""
        if user_id is None:
            self._access_cache.clear()
        else:
            self._access_cache.pop(user_id, None)

    def as_user(self, actor_id: int | None) -> "Services":
        """The services acting as user ``actor_id`` (``None``: the system), under that user's
        record rules: a manager sees and changes only what their role allows."""
        from .services import Services

        return Services(self, actor_id)

    @cached_property
    def messages(self) -> "MessageService":
        """Messages to people: ``crm.messages.send(...)``, consent, templates, webhooks, campaigns
        (:class:`crmkit.MessageService`, docs/messages.md)."""
        from ..messages.service import MessageService

        return MessageService(self)

    @cached_property
    def system(self) -> "Services":
        return self.as_user(None)

    def __getattr__(self, name: str) -> Any:
        # crm.deals, crm.contacts, ... act as the system user.
        if name in _SERVICE_NAMES:
            return getattr(self.system, name)
        raise AttributeError(name)


def _messaging() -> Any:
    """The core's messaging defaults (crmkit.messages), imported when the first ``Crm`` starts: that
    package uses crmkit's public API, which is complete only once ``crmkit`` is imported."""
    from ..messages import messaging

    return messaging


_SERVICE_NAMES = frozenset({"users", "leads", "contacts", "companies", "deals", "tasks", "notes", "timeline",
                            "files", "calendar"})


def _plugin_settings(plugins: Sequence[Any], settings: Settings) -> dict[str, Any]:
    """Each enabled plugin's parsed settings; every problem of every plugin in one ``ConfigError``."""
    parsed, problems = parse_all(((plugin_info(p).name, plugin_info(p).settings) for p in plugins), settings)
    if problems:
        raise SettingsProblems(problems)
    return parsed


def _metadatas(registered: Iterable[Any]) -> list[MetaData]:
    out: list[MetaData] = []
    for result in registered:
        if result is None:
            continue
        if isinstance(result, MetaData):
            out.append(result)
        else:
            for table in result:
                if not isinstance(table, Table):
                    raise ConfigError(f"crm_register_tables must return a MetaData or Tables, got {table!r}")
                out.append(table.metadata)
    # the core's metadata first, then plugins', without duplicates
    ordered = [schema.metadata] + [m for m in out if m is not schema.metadata]
    return list(dict.fromkeys(ordered))

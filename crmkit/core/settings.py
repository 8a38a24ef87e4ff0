"""A deployment's settings: one ``crmkit.toml`` (see ``crmkit init`` for a commented one).

The env var ``CRMKIT_PLUGINS`` overrides ``plugins = [...]`` (comma-separated,
empty string = no plugins); ``CRMKIT_DATABASE_URL`` overrides ``database``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .errors import ConfigError
from .pipelines import PipelineSpec, parse_pipelines
from .customfields import CustomField, parse_custom_fields

DEFAULT_DATABASE = "sqlite:///crmkit.db"
TOP_LEVEL_KEYS: frozenset[str] = frozenset({
    "name", "database", "default_region", "default_currency", "plugins",
    "lost_reasons", "pipelines", "custom_fields", "settings", "sales_pipeline", "lead_pipeline",
    "timezone", "next_contact_field", "ui", "lead_assignment",
})
"""Every key crmkit.toml may have at its top level."""


@attrs.frozen
class LostReasonSpec:
    key: str
    label: str


ASSIGNMENT_MODES = ("queue", "round_robin")


@attrs.frozen
class LeadAssignment:
    """``[lead_assignment]``: who gets a new lead nobody is responsible for (after a repeat request
    went to the matched contact's manager). ``queue`` (the default) leaves it unassigned, for every
    manager to see and take; ``round_robin`` gives it to the next active user of ``team`` in turn."""

    mode: str = "queue"
    team: str | None = None


@attrs.frozen
class Settings:
    """Everything a deployment configures. Build with :meth:`load` or directly in tests."""

    name: str = "crmkit"
    database: str = DEFAULT_DATABASE
    default_region: str = "US"
    default_currency: str = "USD"
    plugins: tuple[str, ...] = ()
    lost_reasons: tuple[LostReasonSpec, ...] = ()
    pipelines: tuple[PipelineSpec, ...] = ()
    custom_fields: tuple[CustomField, ...] = ()
    sales_pipeline: str = "sales"
    lead_pipeline: str = "leads"
    timezone: str = "UTC"
    next_contact_field: str = "next_contact_date"
    plugin_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    lead_assignment: LeadAssignment = attrs.field(factory=LeadAssignment)
    ui: Mapping[str, Any] = attrs.field(factory=dict)
    """The ``[ui]`` table (the web UI's brand and language), checked by :mod:`crmkit.ui.config`."""
    base_dir: Path = attrs.field(factory=Path.cwd)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read ``path`` (a crmkit.toml) and apply the env overrides."""
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no deployment config at {file} (create one with `crmkit init`)") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        return cls.from_dict(data, base_dir=file.resolve().parent, environ=environ)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        base_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> "Settings":
        env = os.environ if environ is None else environ
        unknown = sorted(set(data) - TOP_LEVEL_KEYS)
        if unknown:
            raise ConfigError(
                f"crmkit.toml: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(TOP_LEVEL_KEYS))}"
            )
        plugins = _str_list(data.get("plugins", []), "plugins")
        if "CRMKIT_PLUGINS" in env:
            plugins = [p.strip() for p in env["CRMKIT_PLUGINS"].split(",") if p.strip()]
        reasons = []
        for i, item in enumerate(data.get("lost_reasons", [])):
            if isinstance(item, str):
                reasons.append(LostReasonSpec(key=_slug(item), label=item))
            elif isinstance(item, dict) and "key" in item:
                reasons.append(LostReasonSpec(key=str(item["key"]), label=str(item.get("label", item["key"]))))
            else:
                raise ConfigError(f"crmkit.toml: lost_reasons[{i}] must be a string or {{key, label}}")
        settings_tbl = data.get("settings", {})
        if not isinstance(settings_tbl, dict):
            raise ConfigError("crmkit.toml: [settings] must be a table of per-plugin tables")
        for key, table in settings_tbl.items():
            if not isinstance(table, dict):
                raise ConfigError(f"crmkit.toml: settings.{key} must be a table ([settings.{key}]), got {table!r:.60}")
        return cls(
            name=str(data.get("name", "crmkit")),
            database=env.get("CRMKIT_DATABASE_URL") or str(data.get("database", DEFAULT_DATABASE)),
            default_region=str(data.get("default_region", "US")).upper(),
            default_currency=str(data.get("default_currency", "USD")).upper(),
            plugins=tuple(plugins),
            lost_reasons=tuple(reasons),
            pipelines=tuple(parse_pipelines(data.get("pipelines", []), origin="crmkit.toml")),
            custom_fields=tuple(parse_custom_fields(data.get("custom_fields", {}), origin="crmkit.toml")),
            sales_pipeline=str(data.get("sales_pipeline", "sales")),
            lead_pipeline=str(data.get("lead_pipeline", "leads")),
            timezone=_timezone(data.get("timezone", "UTC")),
            next_contact_field=str(data.get("next_contact_field", "next_contact_date")),
            plugin_settings={str(k): dict(v) for k, v in settings_tbl.items()},
            lead_assignment=_lead_assignment(data.get("lead_assignment", {})),
            ui=_ui_table(data.get("ui", {})),
            base_dir=base_dir or Path.cwd(),
        )

    def database_url(self) -> str:
        """The database URL, with a relative SQLite path resolved against the config's folder."""
        url = self.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.base_dir / url[len(prefix):])
        return url

    @property
    def tz(self) -> ZoneInfo:
        """The deployment's timezone (business days, "at 9:00 on that date")."""
        return ZoneInfo(self.timezone)

    def for_plugin(self, name: str) -> Mapping[str, Any]:
        return self.plugin_settings.get(name, {})


def _ui_table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("crmkit.toml: [ui] must be a table (the web UI's brand and language)")
    return dict(value)


def _lead_assignment(value: Any) -> LeadAssignment:
    where = "crmkit.toml [lead_assignment]"
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, e.g. mode = \"round_robin\", team = \"sales\"")
    unknown = sorted(set(value) - {"mode", "team"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (keys: mode, team)")
    mode = value.get("mode", "queue")
    if mode not in ASSIGNMENT_MODES:
        raise ConfigError(f"{where}: mode {mode!r} is not one of {', '.join(ASSIGNMENT_MODES)}")
    team = value.get("team")
    if team is not None and (not isinstance(team, str) or not team.strip()):
        raise ConfigError(f"{where}: team must be a team's name (see `crmkit users list`)")
    if mode == "round_robin" and team is None:
        raise ConfigError(f"{where}: round_robin needs the team whose users take turns, e.g. team = \"sales\"")
    return LeadAssignment(mode=mode, team=team.strip() if team else None)


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"crmkit.toml: timezone {value!r} is not an IANA timezone (e.g. Europe/Berlin)") from None
    return str(value)


def _str_list(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"crmkit.toml: {key} must be a list of strings")
    return list(value)


def _slug(text: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in text.lower()).split())

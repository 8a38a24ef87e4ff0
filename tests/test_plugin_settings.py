"""A plugin's ``[settings.<name>]``: declared with ``PluginInfo(settings=...)``, checked once at start
(every problem named: plugin, key, reason), read with ``crm.settings_of(name)``; ``crmkit config
check`` runs the same checks and the other start checks, one line per problem."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Mapping

import attrs
import pytest

from crmkit import ConfigError, Crm, PluginError, PluginInfo, Settings
from crmkit.testing import MakeCrm, template

from test_cli import ok, run
from test_cli_plugins import enable


def start(*plugins: Any, settings: Mapping[str, Any] | None = None) -> Crm:
    data = {**template(), "database": "sqlite://", "settings": dict(settings or {})}
    return Crm(Settings.from_dict(data, environ={}), plugins=list(plugins))


@attrs.frozen
class Channel:
    url: str
    timeout: float = 5.0


@attrs.frozen
class Shapes:
    """Every annotation the host checks."""

    token: str
    retries: int = attrs.field(default=3, validator=attrs.validators.in_(range(0, 11)))
    enabled: bool = True
    ratio: float = 0.5
    price: Decimal = Decimal("9.99")
    mode: Literal["fast", "safe"] = "safe"
    tags: tuple[str, ...] = ()
    limits: Mapping[str, int] = attrs.field(factory=dict)
    pair: tuple[int, str] = (1, "a")
    either: int | str = 0
    channel: Channel | None = None

    def __attrs_post_init__(self) -> None:
        if self.mode == "fast" and self.retries > 5:
            raise ValueError("mode 'fast' allows at most 5 retries")


class ShapesPlugin:
    plugin_info = PluginInfo(name="shapes", version="1", settings=Shapes)


def test_an_attrs_schema_parses_and_converts_once_at_start() -> None:
    crm = start(ShapesPlugin(), settings={"shapes": {
        "token": "t", "retries": 0, "ratio": 2, "price": "12.50", "mode": "fast", "tags": ["a", "b"],
        "limits": {"x": 1}, "pair": [2, "b"], "either": "text", "channel": {"url": "https://x.example"}}})
    try:
        found = crm.settings_of("shapes")
        assert found == Shapes(token="t", retries=0, ratio=2.0, price=Decimal("12.50"), mode="fast", tags=("a", "b"),
                               limits={"x": 1}, pair=(2, "b"), either="text", channel=Channel("https://x.example"))
        assert isinstance(found.ratio, float) and crm.settings_of("shapes") is found  # parsed once
    finally:
        crm.close()


def problems_of(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return list(getattr(exc.value, "problems", [exc.value.message]))


def test_every_problem_names_the_plugin_the_key_and_the_reason() -> None:
    with pytest.raises(ConfigError) as err:
        start(ShapesPlugin(), settings={"shapes": {
            "tokn": "t", "retries": 11, "enabled": "yes", "ratio": True, "price": 1.5, "mode": "slow",
            "tags": ["a", 2], "limits": {"x": "1"}, "pair": [1], "either": 1.5, "channel": {"timeout": "x"}}})
    assert problems_of(err) == [
        "crmkit.toml [settings.shapes] tokn: unknown key (known: token, retries, enabled, ratio, price, mode, tags, "
        "limits, pair, either, channel)",
        "crmkit.toml [settings.shapes] token: is required",
        "crmkit.toml [settings.shapes] retries: 'retries' must be in range(0, 11) (got 11)",
        "crmkit.toml [settings.shapes] enabled: expected true or false, got 'yes'",
        "crmkit.toml [settings.shapes] ratio: expected a number, got True",
        "crmkit.toml [settings.shapes] price: expected a decimal number as text or a whole number (\"12.50\"), got 1.5",
        "crmkit.toml [settings.shapes] mode: expected one of 'fast', 'safe', got 'slow'",
        "crmkit.toml [settings.shapes] tags: expected a list of text, got ['a', 2]",
        "crmkit.toml [settings.shapes] limits: expected a table of a whole number, got {'x': '1'}",
        "crmkit.toml [settings.shapes] pair: expected a list of 2 values, got [1]",
        "crmkit.toml [settings.shapes] either: expected a whole number or text, got 1.5",
        "crmkit.toml [settings.shapes] channel.url: is required",
        "crmkit.toml [settings.shapes] channel.timeout: expected a number, got 'x'",
    ]
    assert str(err.value) == "; ".join(problems_of(err))  # Crm(...) and the CLI: one line
    with pytest.raises(ConfigError, match=re.escape("[settings.shapes] channel: expected a table, got 3")):
        start(ShapesPlugin(), settings={"shapes": {"token": "t", "channel": 3}})


def test_keys_checked_together_after_each_alone() -> None:
    with pytest.raises(ConfigError, match=re.escape("crmkit.toml [settings.shapes]: mode 'fast' allows at most 5 "
                                                    "retries")):
        start(ShapesPlugin(), settings={"shapes": {"token": "t", "mode": "fast", "retries": 9}})


def parse_limit(table: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    if set(table) - {"limit"}:
        raise ConfigError(f"settings.parsed.{sorted(set(table) - {'limit'})[0]}: unknown key")
    if not isinstance(table.get("limit", 1), int):
        raise ValueError("limit: a whole number")
    return {"limit": table.get("limit", 1), "region": settings.default_region}


class ParsedPlugin:
    plugin_info = PluginInfo(name="parsed", version="1", settings=parse_limit)


def test_a_callable_schema_gets_the_table_and_the_deployment() -> None:
    crm = start(ParsedPlugin(), settings={"parsed": {"limit": 4}})
    try:
        assert crm.settings_of("parsed") == {"limit": 4, "region": "US"}
    finally:
        crm.close()
    with pytest.raises(ConfigError) as err:
        start(ParsedPlugin(), settings={"parsed": {"limt": 4}})
    assert problems_of(err) == ["crmkit.toml [settings.parsed] limt: unknown key"]
    with pytest.raises(ConfigError) as err:
        start(ParsedPlugin(), settings={"parsed": {"limit": "4"}})
    assert problems_of(err) == ["crmkit.toml [settings.parsed]: limit: a whole number"]


class Plain:
    plugin_info = PluginInfo(name="plain", version="1")


def test_without_a_schema_the_table_read_only_and_only_for_enabled_plugins() -> None:
    crm = start(Plain(), settings={"plain": {"a": 1}})
    try:
        table = crm.settings_of("plain")
        assert dict(table) == {"a": 1}
        with pytest.raises(TypeError):
            table["a"] = 2  # type: ignore[index]
        with pytest.raises(PluginError, match="plugin telephony is not enabled in this deployment"):
            crm.settings_of("telephony")
    finally:
        crm.close()


def test_a_bad_schema_and_a_plugin_named_like_a_core_section_are_refused() -> None:
    class Bad:
        plugin_info = PluginInfo(name="bad", version="1", settings=42)

    class Server:
        plugin_info = PluginInfo(name="server", version="1")

    with pytest.raises(ConfigError, match="plugin bad: PluginInfo.settings=.... must be an attrs class or a callable"):
        start(Bad())
    with pytest.raises(ConfigError, match=r"plugin server: the name is a core settings section \(\[settings.server\]\)"):
        start(Server())


def test_a_settings_entry_that_is_not_a_table_is_a_config_error() -> None:
    """It was a TypeError (dict(3)) out of Settings.from_dict."""
    with pytest.raises(ConfigError, match=r"crmkit.toml: settings.installments must be a table \(\[settings"):
        Settings.from_dict({"settings": {"installments": 3}}, environ={})


def test_installments_settings_are_checked_by_the_host(make_crm: MakeCrm) -> None:
    with pytest.raises(ConfigError) as err:
        make_crm(plugins=["installments"], settings={"installments": {"due_soon_dayz": 3, "check_every_minutes": 0}})
    assert problems_of(err) == [
        "crmkit.toml [settings.installments] due_soon_dayz: unknown key (known: due_soon_days, check_every_minutes, "
        "task_due_hours)",
        "crmkit.toml [settings.installments] check_every_minutes: must be >= 1, got 0",
    ]
    crm = make_crm(plugins=["installments"], settings={"installments": {"due_soon_days": 5}})
    assert crm.settings_of("installments").due_soon_days == 5 and crm.settings_of("installments").every.seconds == 3600


# -- crmkit config check -------------------------------------------------------------------------


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Path:
    ok("init", str(tmp_path / "crm"), "--database", db_url)
    return tmp_path / "crm" / "crmkit.toml"


def check(config: Path, *args: str) -> Any:
    return run("--config", str(config), "config", "check", *args)


def test_config_check_passes_a_good_deployment(config: Path) -> None:
    enable(config, "installments", "club", "bar")
    result = check(config)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{config}: OK" and result.stderr == ""
    assert json.loads(check(config, "--json").stdout) == {"config": str(config), "ok": True, "problems": []}


def test_config_check_lists_every_problem_one_line_each(config: Path) -> None:
    enable(config, "installments", "club", "bar")
    with config.open("a") as f:
        f.write('\n[settings.installments]\ndue_soon_days = "3"\ncheck_every_minutes = 0\n'
                '\n[settings.bar]\ntab_limit = "lots"\n\n[settings.instalments]\ndue_soon_days = 3\n')
    result = check(config)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "crmkit.toml [settings.installments] due_soon_days: expected a whole number, got '3'",
        "crmkit.toml [settings.installments] check_every_minutes: must be >= 1, got 0",
        "crmkit.toml [settings.bar] tab_limit: 'lots' is not an amount",
        "crmkit.toml [settings.instalments]: no installed plugin and no part of crmkit reads it "
        "(did you mean [settings.installments]?)",
    ]
    assert json.loads(check(config, "--json").stdout)["problems"] == result.stderr.splitlines()
    start = run("--config", str(config), "deals", "list")  # a start refuses the same, in one line
    assert start.exit_code == 1 and start.stderr.count("\n") == 1
    assert "due_soon_days: expected a whole number" in start.stderr and "settings.instalments" not in start.stderr


def test_config_check_runs_the_other_start_checks(config: Path) -> None:
    text = config.read_text()
    config.write_text(text.replace("plugins = []", 'plugins = ["nosuchplugin"]'))
    assert check(config).stderr.strip().startswith("plugin(s) nosuchplugin enabled in crmkit.toml but not installed")
    config.write_text(text + '\n[settings.server]\nmax_body_bytes = 0\n\n[settings.database]\nupgrade_on_start = "x"\n')
    assert check(config).stderr.splitlines() == [
        "crmkit.toml: [settings.database] upgrade_on_start must be true or false, got 'x'",
        "crmkit.toml: [settings.server] max_body_bytes must be a whole number from 1 to 1e+09, got 0",
    ]
    config.write_text(text.replace('requires = ["measurement_date"]', 'requires = ["measurement_dat"]'))
    assert check(config).stderr.splitlines() == [
        "pipeline 'sales' stage 'measurement_scheduled': requires unknown deal field 'measurement_dat'"]


def test_config_check_finds_a_database_behind_the_code(config: Path) -> None:
    from sqlalchemy import create_engine, text

    url = Settings.load(config).database_url().replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    with engine.begin() as conn:  # tables, but no revision: as if the core's first revision never ran
        conn.execute(text("DELETE FROM alembic_version"))
    engine.dispose()
    result = check(config)
    assert result.exit_code == 1
    assert "behind" in result.stderr and "crmkit db upgrade" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_config_check_without_a_config(tmp_path: Path) -> None:
    result = check(tmp_path / "missing.toml")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"no deployment config at {tmp_path / 'missing.toml'} (create one with `crmkit init`)"

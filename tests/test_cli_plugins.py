"""`crmkit plugins` and plugin commands: present only when the plugin is enabled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmkit.cli import cli

from test_cli import fails, ok, run


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Path:
    ok("init", str(tmp_path / "crm"), "--database", db_url, "--name", "Bright Windows")
    return tmp_path / "crm" / "crmkit.toml"


def enable(config: Path, *names: str) -> None:
    listed = ", ".join(f'"{n}"' for n in names)
    config.write_text(config.read_text().replace("plugins = []", f"plugins = [{listed}]"))


def plugin_rows(*args: str, env: dict[str, str | None] | None = None) -> dict[str, dict[str, object]]:
    data = json.loads(ok(*args, "plugins", "--json", env=env).stdout)
    return {p["name"]: p for p in data["plugins"]}


def test_plugins_lists_installed_and_enabled(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows = plugin_rows()  # no crmkit.toml here: installed, enabled unknown
    assert rows["example"]["version"] == "0.1.0" and rows["example"]["enabled"] is None
    assert rows["example"]["distribution"] == "crmkit-testplugins"
    cfg = ["--config", str(config)]
    assert plugin_rows(*cfg)["example"]["enabled"] is False
    enable(config, "example")
    rows = plugin_rows(*cfg)
    assert rows["example"]["enabled"] is True and rows["greeter"]["enabled"] is False
    assert plugin_rows(*cfg, env={"CRMKIT_PLUGINS": ""})["example"]["enabled"] is False
    table = ok(*cfg, "plugins").stdout
    assert any(line.split()[:2] == ["example", "0.1.0"] and line.split()[-1] == "yes" for line in table.splitlines())


def test_plugin_command_only_when_enabled(config: Path) -> None:
    cfg = ["--config", str(config)]
    fails(*cfg, "example-hello", contains="No such command 'example-hello'")
    assert "example-hello" not in ok(*cfg, "--help").stdout

    out = ok(*cfg, "example-hello", env={"CRMKIT_PLUGINS": "example"}).stdout
    assert out.strip() == "hello from example in Bright Windows"
    assert "example-hello" in ok(*cfg, "--help", env={"CRMKIT_PLUGINS": "example"}).stdout

    enable(config, "example")
    assert ok(*cfg, "example-hello").stdout.strip() == "hello from example in Bright Windows"
    fails(*cfg, "example-hello", env={"CRMKIT_PLUGINS": ""}, contains="No such command")
    # nothing leaks into the root group between invocations
    assert "example-hello" not in cli.commands


def test_plugin_command_found_through_env_config(config: Path) -> None:
    enable(config, "example")
    out = ok("example-hello", env={"CRMKIT_CONFIG": str(config)}).stdout
    assert "hello from example" in out


def test_a_broken_plugin_list_is_one_line_but_help_still_works(config: Path) -> None:
    enable(config, "nosuchplugin")
    cfg = ["--config", str(config)]
    fails(*cfg, "example-hello", contains="plugin(s) nosuchplugin enabled in crmkit.toml but not installed")
    fails(*cfg, "deals", "list", contains="nosuchplugin")
    result = run(*cfg, "--help")
    assert result.exit_code == 0 and "deals" in result.stdout
    assert "Warning: plugin commands not loaded" in result.stderr
    fails(*cfg, "example-hello", env={"CRMKIT_PLUGINS": "needs_missing"}, contains="requires plugin")

"""``crmkit config check`` names a wrong [settings.monitoring], [settings.logging] or trusted_proxies
before ``crmkit serve`` would refuse to start."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import fails, ok


@pytest.mark.parametrize("table, says", [
    ('[settings.monitoring]\nmetrics_token = "short"', "metrics_token must be a string of 16+ characters"),
    ("[settings.monitoring]\nworker_stale_seconds = 0", "worker_stale_seconds must be a number of seconds"),
    ('[settings.logging]\nformat = "xml"', "format must be one of text, json"),
    ('[settings.server]\ntrusted_proxies = ["proxy.example"]', "'proxy.example' is not an IP address or network"),
])
def test_config_check_names_the_key(tmp_path: Path, table: str, says: str) -> None:
    ok("init", str(tmp_path / "crm"), "--database", f"sqlite:///{tmp_path / 'crm.db'}")
    config = tmp_path / "crm" / "crmkit.toml"
    config.write_text(config.read_text() + "\n" + table + "\n")
    fails("--config", str(config), "config", "check", contains=says)


def test_good_settings_pass(tmp_path: Path) -> None:
    ok("init", str(tmp_path / "crm"), "--database", f"sqlite:///{tmp_path / 'crm.db'}")
    config = tmp_path / "crm" / "crmkit.toml"
    config.write_text(config.read_text() + '\n[settings.monitoring]\nmetrics_token = "0123456789abcdef0123"\n'
                      '[settings.logging]\nformat = "json"\n[settings.server]\ntrusted_proxies = ["10.0.0.0/8"]\n')
    assert "OK" in ok("--config", str(config), "config", "check").stdout

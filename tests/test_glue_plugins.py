"""Glue plugins (``PluginInfo(auto_enable=...)``): ``club_bar`` switches itself on when ``club`` and
``bar`` are both enabled and off when one is not; while on, its hooks, tables, routes, commands and
jobs behave as if it were listed. All three are installed by entry point (crmkit-testplugins)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from starlette.testclient import TestClient

from crmkit import Crm, PluginError, Worker
from crmkit.cli import cli
from crmkit.testing import MakeCrm, auth_headers
from crmkit.web import create_app
from crmkit_testplugins.club_bar import plugin as club_bar

from test_cli import fails, ok, run
from test_cli_plugins import enable, plugin_rows


def names(crm: Crm) -> list[str]:
    return [crm.pm.get_name(p) or "" for p in crm.plugins]


def db_tables(crm: Crm) -> set[str]:
    with crm.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def member_deal(crm: Crm, member: str = "M-7") -> int:
    return crm.deals.create(title="Membership", amount="100.00", custom={"club_member_no": member}).id


def test_glue_switches_on_with_both_sides_and_behaves_as_if_listed(make_crm: MakeCrm) -> None:
    crm = make_crm(plugins=["club", "bar"], settings={"club_bar": {"greeting": "cheers"}})
    assert names(crm) == ["club", "bar", "club_bar"]  # after its sides
    assert crm.auto_enabled == {"club_bar": ("club", "bar")}
    assert "club_bar_tabs" in db_tables(crm) and "club_bar_tabs" in crm.tables
    assert "club_bar.sweep" in {j.name for j in crm.jobs}
    assert crm.settings_of("club_bar").greeting == "cheers"
    delivered = len(club_bar.DELIVERED)
    deal_id = member_deal(crm)
    with crm.engine.connect() as conn:  # its in-transaction hook ran
        assert conn.execute(select(club_bar.tabs.c.deal_id, club_bar.tabs.c.member_no)).all() == [(deal_id, "M-7")]
    assert len(club_bar.DELIVERED) > delivered  # and its after-commit hook
    admin = crm.users.create(email="ada@windows.example", name="Ada", role="admin")
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        assert client.get("/api/v1/club_bar/tabs").json() == {"tabs": 1, "greeting": "cheers"}
    assert "club_bar.sweep" in Worker(crm).run_once().ran


@pytest.mark.parametrize("sides", [["club"], ["bar"], []])
def test_glue_stays_off_when_a_side_is_missing(make_crm: MakeCrm, sides: list[str]) -> None:
    crm = make_crm(plugins=sides)
    assert names(crm) == sides and crm.auto_enabled == {}
    assert "club_bar_tabs" not in db_tables(crm) and "club_bar_tabs" not in crm.tables
    assert not any(j.name.startswith("club_bar.") for j in crm.jobs)
    admin = crm.users.create(email="ada@windows.example", name="Ada", role="admin")
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        assert client.get("/api/v1/club_bar/tabs").status_code == 404


def test_off_then_on_again_finds_its_rows(make_crm: MakeCrm) -> None:
    on = make_crm(plugins=["club", "bar"])
    member_deal(on, "M-1")
    off = make_crm(plugins=["club"])  # the same database: the glue switches off, its table stays
    assert "club_bar" not in names(off) and "club_bar_tabs" in db_tables(off)
    member_deal(off, "M-2")  # nothing reacts
    again = make_crm(plugins=["bar", "club"])
    assert again.auto_enabled == {"club_bar": ("club", "bar")}
    assert club_bar.count(again) == 1


def test_listing_a_glue_plugin_without_its_sides_names_them(make_crm: MakeCrm) -> None:
    with pytest.raises(PluginError, match="plugin club_bar glues club and bar together: bar is installed but not "
                                          "enabled"):
        make_crm(plugins=["club", "club_bar"])
    crm = make_crm(plugins=["club_bar", "bar", "club"])  # listed with its sides: listed, not auto
    assert names(crm) == ["club", "bar", "club_bar"] and crm.auto_enabled == {}


def test_a_glue_plugin_missing_from_the_glue_group_never_switches_on(make_crm: MakeCrm) -> None:
    crm = make_crm(plugins=["club", "bar"])
    assert "unlisted_glue" not in names(crm)


def test_nothing_enabled_imports_no_glue_plugin(tmp_path: Path) -> None:
    """The host imports a glue plugin only to read its sides, and only when some plugin is enabled."""
    script = (
        "import sys\n"
        "from crmkit import Crm, Settings\n"
        "for plugins in ([], ['example']):\n"
        "    Crm(Settings.from_dict({'database': 'sqlite://', 'plugins': plugins}, environ={})).close()\n"
        "    print(sorted(m for m in sys.modules if m.startswith('crmkit_testplugins.club')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    nothing, example = out.stdout.splitlines()
    assert nothing == "[]"
    assert "crmkit_testplugins.club_bar.plugin" in example and "'crmkit_testplugins.club'" not in example


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Path:
    ok("init", str(tmp_path / "crm"), "--database", db_url)
    return tmp_path / "crm" / "crmkit.toml"


def test_crmkit_plugins_shows_listed_auto_and_installed(config: Path) -> None:
    enable(config, "club", "bar")
    cfg = ["--config", str(config)]
    data = json.loads(ok(*cfg, "plugins", "--json").stdout)["plugins"]
    rows = {p["name"]: p for p in data}
    assert rows["club"]["status"] == "listed" and rows["club"]["enabled"] is True
    assert rows["club_bar"]["status"] == "auto" and rows["club_bar"]["enabled"] is True
    assert rows["club_bar"]["auto_enabled_by"] == ["club", "bar"]
    assert rows["example"]["status"] == "installed" and rows["example"]["enabled"] is False
    lines = {line.split()[0]: line for line in ok(*cfg, "plugins").stdout.splitlines()[1:] if line.strip()}
    assert lines["club_bar"].endswith("auto (club, bar)")
    assert lines["club"].split()[-1] == "yes" and lines["example"].split()[-1] == "no"
    assert plugin_rows(*cfg, env={"CRMKIT_PLUGINS": "club"})["club_bar"]["status"] == "installed"


def test_glue_commands_come_and_go_with_it(config: Path) -> None:
    cfg = ["--config", str(config)]
    enable(config, "club", "bar")
    assert ok(*cfg, "club-bar-tabs").stdout.strip() == "0 tabs"
    fails(*cfg, "club-bar-tabs", env={"CRMKIT_PLUGINS": "club"}, contains="No such command 'club-bar-tabs'")
    assert "club-bar-tabs" not in cli.commands
    assert run(*cfg, "--help", env={"CRMKIT_PLUGINS": "bar"}).stdout.count("club-bar-tabs") == 0

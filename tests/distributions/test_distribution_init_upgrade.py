"""``crmkit init --distribution fitclub`` makes a branded deployment, and a newer release of the
installed package reaches it through ``crmkit distributions upgrade`` without overwriting the
club's own changes (SQLite and PostgreSQL).

The newer release is real: a copy of the package with changed defaults, templates and brand and a
``.dist-info`` of version 1.1.0, put first on the path of the process that runs the upgrade, as
``pip install -U crmkit-fitclub`` would install it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crmkit import Crm, Settings
from crmkit.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def crmkit(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def club(tmp_path: Path, db_url: str) -> Path:
    out = crmkit("init", "--distribution", "fitclub", str(tmp_path / "club"), "--database", db_url, "--demo")
    assert "from fitclub 1.0.0 (FitClub CRM) with demo data" in out
    return tmp_path / "club" / "crmkit.toml"


def test_init_makes_a_branded_deployment_with_the_distributions_defaults(club: Path) -> None:
    config = tomllib.loads(club.read_text())
    assert config["name"] == "FitClub CRM"
    assert config["plugins"] == ["fitness", "inventory", "installments", "telephony", "fitclub"]
    assert config["ui"]["logo"] == "brand/logo.svg" and (club.parent / "brand" / "logo.svg").is_file()
    assert config["ui"]["labels"]["contacts"] == {"en": "Members", "de": "Mitglieder", "ru": "Клиенты клуба",
                                                  "sl": "Člani", "zh_Hans": "会员"}
    assert club.stat().st_mode & 0o077 == 0
    with Crm(Settings.load(club, environ={})) as crm:
        assert [p.key for p in crm.pipelines][:2] == ["leads", "sales"]
        assert crm.pipeline("leads").name == "Enquiries"
        assert {(t.key, t.language) for t in crm.messages.templates.list()} == {
            ("welcome", "en"), ("welcome", "de"), ("welcome", "ru"), ("training_offer", "en")}
        assert "front_desk" in crm.roles  # the distribution's own plugin
        assert crm.users.by_email("nina.wolf@fitclub.example").role == "front_desk"  # the demo data
        assert crm.deals.list(limit=50).items
        assert [r.label for r in crm.lost_reasons][:2] == ["Too expensive", "Too far from home"]


def test_init_refuses_what_it_cannot_do_and_leaves_nothing(tmp_path: Path) -> None:
    assert "no distribution 'nope' is installed (installed: fitclub" in crmkit(
        "init", "--distribution", "nope", str(tmp_path / "x"), code=1)
    assert "--demo needs --distribution" in crmkit("init", "--demo", str(tmp_path / "x"), code=1)
    assert not (tmp_path / "x" / "crmkit.toml").exists()
    crmkit("init", "--distribution", "fitclub", str(tmp_path / "y"))
    assert "already exists" in crmkit("init", "--distribution", "fitclub", str(tmp_path / "y"), code=1)


def _release(tmp_path: Path) -> Path:
    """FitClub 1.1.0: the package copied and changed as its vendor would."""
    site = tmp_path / "release"
    package = site / "crmkit_fitclub"
    shutil.copytree(Path(str(files("crmkit_fitclub"))), package, ignore=shutil.ignore_patterns("__pycache__"))
    defaults = (package / "defaults.toml").read_text()
    for old, new in (
        ('"No response",', '"Injury",'),                                     # a reason added, one dropped
        ('name = "Trial session booked"', 'name = "Trial booked"'),          # untouched pipeline: applied
        ('name = "Consultation"', 'name = "First consultation"'),            # changed by the club: kept
        ('tab_limit = "50.00"', 'tab_limit = "80.00"'),                      # changed by the club: kept
        ("due_soon_days = 3", "due_soon_days = 5"),                          # untouched: applied
        ('contact = { en = "Member"', 'contact = { en = "Club member"'),     # untouched label: applied
    ):
        assert old in defaults
        defaults = defaults.replace(old, new)
    defaults += '\n[[pipelines]]\nkey = "corporate"\nname = "Corporate"\nstages = [\n' \
                '    { key = "talks", name = "Talks" },\n    { key = "signed", name = "Signed", kind = "won" },\n' \
                '    { key = "lost", name = "Lost", kind = "lost" },\n]\n'
    (package / "defaults.toml").write_text(defaults)
    manifest = (package / "distribution.toml").read_text().replace('"#0f766e"', '"#115e59"')
    (package / "distribution.toml").write_text(manifest)
    (package / "templates" / "welcome.en.toml").write_text('subject = "Welcome!"\nbody = "Welcome, v2."\n')
    (package / "templates" / "training_offer.en.toml").write_text('subject = "Offer"\nbody = "Offer v2."\n')
    (package / "templates" / "renewal.en.toml").write_text('subject = "Renew"\nbody = "Time to renew."\n')
    info = site / "crmkit_fitclub-1.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crmkit-fitclub\nVersion: 1.1.0\n")
    (info / "entry_points.txt").write_text("[crmkit.distributions]\nfitclub = crmkit_fitclub\n\n"
                                           "[crmkit.plugins]\nfitclub = crmkit_fitclub.plugin\n")
    return site


def _upgrade(config: Path, site: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("CRMKIT_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-m", "crmkit.cli", "--config", str(config), "distributions", "upgrade",
                           "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_upgrade_brings_new_defaults_and_keeps_the_clubs_changes(club: Path, tmp_path: Path) -> None:
    # the club's own changes
    text = club.read_text()
    text = text.replace('"Consultation"', '"Free consultation"').replace('tab_limit = "50.00"', 'tab_limit = "30.00"')
    text = text.replace('"No time", ', "")  # a reason the club does not use
    club.write_text(text)
    (tmp_path / "welcome.txt").write_text("Our own welcome, {{ contact.first_name }}.")
    crmkit("--config", str(club), "templates", "save", "welcome", "--body", str(tmp_path / "welcome.txt"))

    report = _upgrade(club, _release(tmp_path))
    assert (report["from"], report["to"], report["changed"]) == ("1.0.0", "1.1.0", True)
    assert sorted(report["notes"]) == sorted([
        "settings.inventory.tab_limit: kept your value; the new release has '80.00'",
        "pipelines.sales: kept your version; the new release changes it",
        "lost_reasons: kept 'No response' (the new release drops it; cards may use it)",
        "template welcome.en: kept your version; the new release changes it",
    ])
    config = tomllib.loads(club.read_text())
    assert config["settings"]["inventory"]["tab_limit"] == "30.00"
    assert config["settings"]["installments"]["due_soon_days"] == 5
    assert config["ui"]["labels"]["contact"] == {"en": "Club member", "de": "Mitglied", "ru": "Клиент клуба",
                                                 "sl": "Član", "zh_Hans": "会员"}
    assert config["ui"]["primary_color"] == "#115e59"
    assert config["lost_reasons"] == ["Too expensive", "Too far from home", "Joined another club", "Health reasons",
                                      "No response", "Injury"]
    assert (club.parent / "crmkit.toml.bak").read_text() == text
    with Crm(Settings.load(club, environ={})) as crm:
        assert crm.pipeline("leads").stages[1].name == "Trial booked"
        assert crm.pipeline("sales").stages[0].name == "Free consultation"
        assert crm.pipeline("corporate").name == "Corporate"
        templates = {(t.key, t.language): t.body for t in crm.messages.templates.list()}
        assert templates[("welcome", "en")] == "Our own welcome, {{ contact.first_name }}."
        assert templates[("training_offer", "en")] == "Offer v2."
        assert templates[("renewal", "en")] == "Time to renew."
        assert crm.users.by_email("maria.schulz@fitclub.example") is not None  # the data is untouched

    if "sqlite" in str(club.read_text()):  # the same release again (once: it is no storage matter)
        again = _upgrade(club, tmp_path / "release")
        assert again["changed"] is False and ("1.1.0", "1.1.0") == (again["from"], again["to"])


def test_upgrade_of_a_deployment_not_made_from_a_distribution_is_refused(tmp_path: Path) -> None:
    crmkit("init", str(tmp_path / "plain"))
    out = crmkit("--config", str(tmp_path / "plain" / "crmkit.toml"), "distributions", "upgrade", code=1)
    assert "was not made from a distribution" in out


def test_the_distributions_own_plugin_conforms(tmp_path: Path) -> None:
    """A plugin without tables: the contract (API range, public imports, loading only when enabled)
    is what is checked; on SQLite."""
    from crmkit.testing import check_plugin

    check_plugin("fitclub", f"sqlite:///{tmp_path / 'crm.db'}", deployment={"plugins": ["fitness"]})


def test_tenants_upgrade_brings_the_new_release_to_every_tenant_made_from_it(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMKIT_TENANTS", str(tmp_path / "tenants.toml"))
    crmkit("tenants", "add", "club", "--host", "club.test", "--distribution", "fitclub")
    crmkit("tenants", "add", "plain", "--host", "plain.test")
    club = tmp_path / "club" / "crmkit.toml"
    club.write_text(club.read_text().replace('tab_limit = "50.00"', 'tab_limit = "30.00"'))
    env = {**os.environ, "PYTHONPATH": str(_release(tmp_path))}
    proc = subprocess.run([sys.executable, "-m", "crmkit.cli", "tenants", "upgrade", "--distributions", "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run = {t["tenant"]: t for t in json.loads(proc.stdout)["tenants"]}
    assert run["plain"]["applied"] == [] and run["club"]["status"] == "upgraded"
    assert run["club"]["applied"][0] == "fitclub 1.0.0 -> 1.1.0"
    assert "note: settings.inventory.tab_limit: kept your value; the new release has '80.00'" in run["club"]["applied"]
    config = tomllib.loads(club.read_text())
    assert config["settings"]["installments"]["due_soon_days"] == 5 and config["ui"]["primary_color"] == "#115e59"
    assert not (tmp_path / "plain" / "distribution.json").exists()


def test_a_failed_init_leaves_nothing(tmp_path: Path) -> None:
    """A database that cannot be used (a SQLite file in a folder that is a file): no config, no logo,
    no folder left."""
    (tmp_path / "not-a-folder").write_text("")
    out = crmkit("init", "--distribution", "fitclub", str(tmp_path / "club"), "--database",
                 f"sqlite:///{tmp_path / 'not-a-folder' / 'crm.db'}", code=1)
    assert "Error" in out and "Traceback" not in out
    assert not (tmp_path / "club").exists()

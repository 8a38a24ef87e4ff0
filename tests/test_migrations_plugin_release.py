"""A plugin's second release adds a column, exactly as docs/writing-plugins.md shows, on SQLite
and PostgreSQL.

The plugin is generated from the template (cookiecutter-plugin, default answers: ``handover``).
Release 1 is that code; release 2 is the same plus the doc's new column. Each release runs in its
own interpreter, found through its entry point as if pip had installed it (a ``.dist-info`` next to
the package), against the same deployment: release 1 makes the database and a handover; with
release 2, ``crmkit db revision`` writes the file the doc shows, the deployment is then refused
until ``crmkit db upgrade``, which adds the column; ``db check`` is clean, and a downgrade removes
the column again, the handover kept throughout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-plugins.md"
REVISION = "crmkit_handover/migrations/versions/handover_0002_add_a_note_to_handovers.py"

RELEASE_1 = """
import json, sys
from click.testing import CliRunner
from crmkit import Crm, Settings
from crmkit.cli import cli
config = sys.argv[1]
assert CliRunner().invoke(cli, ["init", sys.argv[2], "--database", sys.argv[3]]).exit_code == 0
text = open(config).read().replace("plugins = []", 'plugins = ["handover"]')
open(config, "w").write(text + '\\n[settings.handover]\\noutbox = "outbox.jsonl"\\n')
with Crm(Settings.load(config, environ={})) as crm:
    deal = crm.deals.create(title="Windows for the Smiths", custom={"handover_owner": "bob@delivery.example"})
    crm.deals.win(deal.id)
"""

RELEASE_2 = """
import json, sys
from click.testing import CliRunner
from sqlalchemy import text
from crmkit import Crm, Settings
from crmkit.cli import cli
config = sys.argv[1]
out = {}
def crmkit(name, *args):
    result = CliRunner().invoke(cli, ["--config", config, *args])
    out[name] = {"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}
def rows():
    with Crm(Settings.load(config, environ={}), setup=False) as crm, crm.engine.connect() as conn:
        return [list(r) for r in conn.execute(text("SELECT * FROM handover_handovers ORDER BY id"))]
crmkit("revision", "db", "revision", "handover", "-m", "Add a note to handovers")  # the author, once
crmkit("refused", "handover", "list")  # a deployment that installed release 2
crmkit("upgrade", "db", "upgrade")
crmkit("check", "db", "check")
out["after_upgrade"] = rows()
crmkit("list", "handover", "list")
crmkit("downgrade", "db", "downgrade", "handover@-1", "--yes")
out["after_downgrade"] = rows()
print(json.dumps(out, default=str))
"""


def _doc_block(caption: str) -> str:
    found = re.search(rf"^`{re.escape(caption)}`[^\n]*:\n\n```[a-z]+\n(.*?)^```$", DOC.read_text(), re.M | re.S)
    assert found, f"docs/writing-plugins.md shows no {caption}"
    return found.group(1)


def _release(project: Path, where: Path) -> Path:
    """The package of ``project`` as an installed distribution: the package and its .dist-info."""
    shutil.copytree(project / "crmkit_handover", where / "crmkit_handover")
    info = where / "crmkit_handover-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crmkit-handover\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[crmkit.plugins]\nhandover = crmkit_handover.plugin\n")
    return where


def _run(release: Path, code: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMKIT_", "PYTEST_"))}
    env["PYTHONPATH"] = str(release)
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_a_plugins_second_release_adds_a_column_as_the_doc_shows(db_url: str, tmp_path: Path) -> None:
    project = Path(cookiecutter(str(ROOT / "cookiecutter-plugin"), no_input=True, output_dir=str(tmp_path / "gen")))
    release_1 = _release(project, tmp_path / "release1")
    release_2 = _release(project, tmp_path / "release2")
    plugin = release_2 / "crmkit_handover" / "plugin.py"
    code = plugin.read_text()
    [new_column] = [line for line in _doc_block("crmkit_handover/plugin.py").splitlines() if '"note"' in line]
    anchor = '    Column("handed_over_at", UTCDateTime, nullable=False),\n'
    assert anchor in code and "Text, insert" not in code
    code = code.replace(anchor, anchor + new_column + "\n").replace("Table, insert", "Table, Text, insert")
    plugin.write_text(code)

    deployment = tmp_path / "crm"
    config = str(deployment / "crmkit.toml")
    _run(release_1, RELEASE_1, config, str(deployment), db_url)
    out: dict[str, Any] = json.loads(_run(release_2, RELEASE_2, config))

    written = (release_2 / REVISION).read_text()
    assert out["revision"]["code"] == 0 and written == _doc_block(REVISION), written
    assert out["refused"]["code"] == 1 and out["refused"]["stderr"].strip() == (
        "Error: the database schema is behind this installation (handover handover_0001 -> handover_0002): "
        "run `crmkit db upgrade`")
    assert out["upgrade"]["stdout"].startswith("handover: applied handover_0002 (Add a note to handovers)")
    assert out["check"]["code"] == 0, out["check"]
    [handover] = out["after_upgrade"]
    assert handover[2] == "bob@delivery.example" and handover[-1] is None  # kept; the new column is empty
    assert "-> bob@delivery.example" in out["list"]["stdout"]
    assert out["downgrade"]["code"] == 0 and out["after_downgrade"] == [handover[:-1]]

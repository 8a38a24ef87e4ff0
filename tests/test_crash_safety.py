"""The short CI version of scripts/crash_safety.py (the deep mode runs 50 kills): a real
``crmkit serve`` under write load, SIGKILLed 3 times (SQLite), or its PostgreSQL connections
killed 3 times; nothing acknowledged is lost, nothing is half-written, PostgreSQL answers 503."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crmkit.testing import POSTGRES_ENV

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "crash_safety.py"


def run(tmp_path: Path, *args: str) -> dict[str, object]:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(SCRIPT), *args, "--kills", "3", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures: dict[str, object] = json.loads(out.read_text())
    return figures


@pytest.mark.slow
def test_sigkill_under_write_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    figures = run(tmp_path, "sqlite")["crash_sqlite"]
    assert isinstance(figures, dict)
    assert figures["problems"] == [] and figures["integrity_check"] == "ok" and figures["kills"] == 3
    assert isinstance(figures["acknowledged"], int) and figures["acknowledged"] > 0


@pytest.mark.slow
def test_killed_postgres_connections_are_503s_and_the_pool_recovers(tmp_path: Path) -> None:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    figures = run(tmp_path, "postgres", "--database", url)["crash_postgres"]
    assert isinstance(figures, dict)
    assert figures["problems"] == []
    assert isinstance(figures["backends_terminated"], int) and figures["backends_terminated"] > 0

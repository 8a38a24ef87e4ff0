"""Smoke test of benchmark 9 (start-up with the schema-migration check): ``python -m bench --quick
--only startup`` runs, ours and the pre-migration start-up do the same work, and a start on a
database at head does not import alembic. No timing is asserted (CI machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_startup_bench_does_the_same_work(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "startup", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())["results"]
    names = [r["name"] for r in rows]
    assert any(n.startswith("9 start-up of Crm(...), all plugins") for n in names), names
    assert any(n.startswith("9 cold start") and "does not import alembic" in r["note"] for n, r in zip(names, rows))
    for r in rows:
        assert "NOT THE SAME WORK" not in r["note"] and "ERROR" not in r["note"], r
        assert r["ours"] > 0 and r["baseline"] > 0, r

"""Smoke test of benchmark 11 (single-command writes against Django's ORM and the raw DBAPI floor):
``python -m bench --quick --only peers`` runs, and the three sides wrote the same rows (the
benchmark's own same-work check). No timing is asserted (CI machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ("deal create", "stage move", "note add", "task complete")


def test_quick_peers_bench_does_the_same_work_on_every_side(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "peers", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())["results"]
    for r in rows:
        assert "NOT THE SAME WORK" not in r["note"] and "ERROR" not in r["note"], r
        assert r["ours"] > 0 and r["baseline"] > 0 and r["ratio"] > 0, r
    for backend in {r["backend"] for r in rows}:
        names = [r["name"] for r in rows if r["backend"] == backend]
        for work in WORK:
            assert any(n.startswith(f"11 {work}") and n.endswith("vs Django ORM") for n in names), (work, names)
            assert any(n.startswith(f"11 {work}") and n.endswith("vs raw floor") for n in names), (work, names)

"""Smoke test of benchmark 10 (the board of a pipeline vs the JSON API listing its deals):
``python -m bench --quick --only board`` runs and both saw the same deals. No timing is asserted
(CI machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_board_bench_sees_the_same_deals(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "board", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())["results"]
    assert {r["backend"] for r in rows} >= {"sqlite"}
    for r in rows:
        assert "NOT THE SAME WORK" not in r["note"] and "ERROR" not in r["note"], r
        assert r["ours"] > 0 and r["n"] == 200, r
    ratios = [r for r in rows if r["name"].startswith("10 board of 200 open deals vs the JSON API")]
    assert ratios and all(r["baseline"] > 0 and r["ratio"] > 0 for r in ratios), rows
    assert any(r["name"].startswith("10 board of 200 open deals, server time") for r in rows), rows

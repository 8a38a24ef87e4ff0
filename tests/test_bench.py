"""Smoke test of the benchmarks: ``python -m bench --quick`` runs and ours and the
baselines do the same work. No timing is asserted (CI machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_bench_runs_and_does_the_same_work(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "hooks,funnel,http", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    rows = doc["results"]
    names = [r["name"] for r in rows]
    assert any(n.startswith("1 hook dispatch") for n in names)
    assert any(n.startswith("7 funnel report, whole pipeline") for n in names)
    for target in ("4 API write", "4 API read", "5 middleware stack", "6 concurrent POST", "6 latency"):
        assert any(n.startswith(target) for n in names), (target, names)
    for r in rows:
        assert "NOT THE SAME WORK" not in r["note"] and "ERROR" not in r["note"], r
        assert r["ours"] > 0 and r["baseline"] > 0, r
        assert r["ratio"] is None or r["ratio"] > 0, r
    assert "| benchmark |" in proc.stdout


def test_unknown_benchmark_is_refused() -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "nope"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "unknown benchmark" in proc.stderr

"""``python -m bench``: run every benchmark, print the table, write JSON (and bench/README.md)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from . import (b_api, b_board, b_bulk, b_campaign, b_eventlog, b_fitness, b_fitness_checkins, b_funnel, b_hooks, b_import,
               b_inventory, b_middleware, b_observe, b_peers, b_reports, b_scale, b_startup, b_tenants, b_uvicorn)
from .harness import PG_URL, RESULTS, NotSameWork, Options, Result, backends

# name -> (targets, runner, runs per backend?)
BENCHMARKS: dict[str, tuple[str, Callable[..., list[Result]], bool]] = {
    "hooks": ("1", b_hooks.run, False),
    "bulk": ("2,3", b_bulk.run, True),
    "api": ("4", b_api.run, True),
    "middleware": ("5", b_middleware.run, False),
    "uvicorn": ("6", b_uvicorn.run, False),
    "funnel": ("7", b_funnel.run, True),
    "eventlog": ("8", b_eventlog.run, True),
    "startup": ("9", b_startup.run, True),
    "board": ("10", b_board.run, True),
    "peers": ("11", b_peers.run, True),
    "inventory": ("12", b_inventory.run, True),
    "reports": ("14", b_reports.run, True),
    "observe": ("13", b_observe.run, False),
    "fitness": ("16", b_fitness.run, False),
    "checkins": ("16b", b_fitness_checkins.run, False),
    "import": ("15", b_import.run, True),
    "campaign": ("17", b_campaign.run, True),
    "scale": ("18", b_scale.run, False),
    "tenants": ("19", b_tenants.run, False),
}
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- bench:table:begin -->", "<!-- bench:table:end -->"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "platform": platform.platform(), "sqlite": sqlite3.sqlite_version,
    }
    if PG_URL:
        try:
            import psycopg

            with psycopg.connect("postgresql://" + PG_URL.split("://", 1)[1]) as conn:
                info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            info["postgresql"] = f"unreachable: {exc}"
    return info


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def table(results: list[Result]) -> str:
    head = ["benchmark", "db", "ours", "baseline", "unit", "ratio", "target", "result", "N", "note"]
    rows = []
    for r in results:
        verdict = "-" if r.passed is None else ("PASS" if r.passed else "MISS")
        if r.ours is None and r.ratio is None:
            verdict = "n/a"
        rows.append([r.name, r.backend, _fmt(r.ours), _fmt(r.baseline), r.unit,
                     "-" if r.ratio is None else f"{r.ratio:.2f}", r.target, verdict,
                     "-" if r.n is None else f"{r.n:,}", r.note])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


GROUPS = {"http": ("api", "middleware", "uvicorn")}  # --only http = targets 4-6


def select(only: str | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    wanted = [x for w in wanted for x in GROUPS.get(w, (w,))]
    chosen = []
    for name, (targets, _, _) in BENCHMARKS.items():
        if any(w == name or w in targets.split(",") for w in wanted):
            chosen.append(name)
    unknown = [w for w in wanted if not any(w == n or w in t.split(",") for n, (t, _, _) in BENCHMARKS.items())]
    if unknown:
        raise SystemExit(f"--only: unknown benchmark(s) {', '.join(unknown)} (names: {', '.join([*BENCHMARKS, *GROUPS])}; or target numbers 1-14)")
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small N (CI smoke): checks that everything runs and does the same work")
    ap.add_argument("--only", help="comma-separated benchmark names (" + ", ".join([*BENCHMARKS, *GROUPS]) + ") or target numbers")
    ap.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write the JSON results")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per figure (median is reported)")
    ap.add_argument("--no-readme", action="store_true", help="do not record a full run's table in bench/README.md")
    args = ap.parse_args(argv)
    opts = Options(quick=args.quick, repeats=args.repeats or (3 if args.quick else 5), warmup=1)
    names = select(args.only)
    started = time.perf_counter()
    results: list[Result] = []
    errors = 0
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as tmp:
        workdir = Path(tmp)
        for name in names:
            _, fn, per_backend = BENCHMARKS[name]
            for backend in (backends() if per_backend else [None]):
                t = time.perf_counter()
                label = f"{name}" + (f" [{backend}]" if backend else "")
                print(f"running {label} ...", file=sys.stderr, flush=True)
                try:
                    out = fn(opts, workdir, backend) if per_backend else fn(opts, workdir)
                except NotSameWork as exc:
                    errors += 1
                    out = [Result(name=name, backend=backend or "-", passed=False, note=f"NOT THE SAME WORK: {exc}")]
                except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
                    errors += 1
                    traceback.print_exc()
                    out = [Result(name=name, backend=backend or "-", passed=False, note=f"ERROR: {exc!r}"[:300])]
                print(f"  ... {time.perf_counter() - t:.1f}s", file=sys.stderr, flush=True)
                results.extend(out)
    elapsed = time.perf_counter() - started
    info = machine()
    text = table(results)
    print(text)
    print(f"\n{len(results)} rows in {elapsed:.0f}s on {info['cpu']} ({info['cores']} cores)"
          + (" [quick]" if opts.quick else ""))
    doc = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": opts.quick,
        "repeats": opts.repeats, "seconds": round(elapsed, 1), "machine": info,
        "results": [r.to_json() for r in results],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.json}", file=sys.stderr)
    if not opts.quick and not args.only and not args.no_readme and not errors:
        record(text, doc)
    return 1 if errors else 0


def record(text: str, doc: dict[str, Any]) -> None:
    """Put the latest full run's table into bench/README.md (results/ is git-ignored)."""
    if not README.exists():
        return
    body = README.read_text()
    if BEGIN not in body or END not in body:
        return
    m = doc["machine"]
    stamp = (f"Latest full run: {doc['when']}, {doc['seconds']:.0f} s, on {m['cpu']} ({m['cores']} cores), "
             f"Python {m['python']}, SQLite {m['sqlite']}"
             + (f", PostgreSQL {m['postgresql']}" if "postgresql" in m else "") + ".")
    head, rest = body.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{stamp}\n\n{text}\n{END}{tail}")

"""Target 18 (issue 21): throughput of 2 web processes + 2 workers against 1 + 1, PostgreSQL.

Each setup is a fresh deployment in a fresh schema: ``crmkit serve --workers W`` and W ``crmkit
worker`` processes (``tests/ops/cluster.py``, as the scale test), the ``jobs`` and ``ledger`` test
plugins enabled; the same mixed load (8 client threads: deal creates and moves, tasks added and
completed, web-form posts) for the same time. Ours: acknowledged writes per second of 2 + 2;
baseline: of 1 + 1. The same-work check: zero 5xx and no transport errors in both, every event
delivered to the ledger.

The machine has 2 cores, shared by the load generator (Python threads in this process),
PostgreSQL, the web processes and the workers: a second web process competes for the same cores,
so the ratio shows contention more than capacity (info, no target).
"""

from __future__ import annotations

import time
from pathlib import Path

from .harness import PG_URL, NotSameWork, Options, Result, fresh_db, same


def _throughput(opts: Options, workdir: Path, processes: int, seconds: float) -> tuple[float, int]:
    from tests.ops.cluster import Cluster, make_deployment, run_load

    with fresh_db("postgresql", workdir) as db:
        config, token = make_deployment(workdir / f"scale-{processes}-{time.monotonic_ns()}", db.url)
        cluster = Cluster(config, web=processes, workers=processes)
        try:
            cluster.start()
            acked = run_load(cluster.base, token, seconds=seconds, threads=8)
        finally:
            cluster.stop()
        same(f"{processes}+{processes}: 5xx and transport errors", (
            [s for s in acked.statuses if s >= 500], [e for e in acked.errors if "Error" in e][:3]), ([], []))
        if acked.writes == 0:
            raise NotSameWork(f"{processes}+{processes}: no write was acknowledged")
        return acked.writes / seconds, acked.writes


def run(opts: Options, workdir: Path) -> list[Result]:
    name = "18 scale: 2 web + 2 workers vs 1 + 1 (mixed writes, PostgreSQL)"
    if not PG_URL:
        return [Result(name=name, backend="postgresql", note="needs CRMKIT_TEST_POSTGRES_URL")]
    seconds = 4.0 if opts.quick else 15.0
    one, n_one = _throughput(opts, workdir, 1, seconds)
    two, n_two = _throughput(opts, workdir, 2, seconds)
    return [Result(name=name, backend="postgresql", ours=two, baseline=one, unit="writes/s", ratio=two / one,
                   target="info (2 cores)", passed=None, n=n_one + n_two,
                   note=f"{seconds:g} s of load each, 8 client threads in the bench process; 2 cores shared by "
                        "clients, PostgreSQL, servers and workers")]

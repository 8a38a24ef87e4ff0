"""Target 9: start-up of ``Crm(...)`` with every plugin enabled, with the schema-migration check.

Ours: ``Crm(settings)`` with telephony and installments enabled, on a database at head: the
start-up check of crmkit.core.migrations (the ``alembic_version`` rows read against the branches'
revision files, alembic itself not imported), then pipelines and lost reasons synced and loaded.
Baseline: the start-up before migrations, in the same run: ``Crm(settings, setup=False)`` and the
setup it had (``create_all(checkfirst=True)`` of every enabled table, then the same sync and
loads). Same database, same settings, alternately; the same-work check compares the started
deployments (tables, pipelines, stages, plugins).

Info rows: a brand-new empty database (ours: ``create_all`` and the heads stamped; baseline:
``create_all``, the API's idempotency table included as its first ``create_app`` made it), and a cold process (``python -c`` importing crmkit and starting the deployment,
ours and the pre-migration setup), which also confirms that a start does not import alembic.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import inspect

from crmkit import Crm, Settings
from crmkit.core.sync import load_all_stages, sync_lost_reasons, sync_pipelines
from crmkit.core.unit_of_work import write_connection
from crmkit.web.idempotency import metadata as idempotency_metadata

from .harness import Db, Options, Result, compare, fresh_db, make_crm, same

PLUGINS = ("telephony", "installments")


def baseline_start(settings: Settings, *, idempotency: bool = False) -> Crm:
    """The start-up of crmkit before schema migrations (its ``Crm.setup``; ``idempotency``: plus the
    table the API's ``create_app`` made then, for the same work on a new database)."""
    crm = Crm(settings, setup=False)
    with write_connection(crm) as conn:
        for md in [*crm.metadatas, *([idempotency_metadata] if idempotency else [])]:
            md.create_all(conn, checkfirst=True)
        sync_pipelines(conn, crm.pipeline_specs, crm.clock.now())
        sync_lost_reasons(conn, crm.settings.lost_reasons)
    crm.reload_declarations()
    crm.dispatcher.init_cursors()
    return crm


def _started(crm: Crm) -> tuple[Any, ...]:
    with crm.engine.connect() as conn:
        stages = len(load_all_stages(conn))
        tables = sorted(t for t in inspect(conn).get_table_names() if t != "alembic_version")
    return (tables, [p.key for p in crm.pipelines], stages, [crm.pm.get_name(p) for p in crm.plugins])


def _starts(start: Callable[[], Crm], n: int) -> Callable[[], tuple[Any, ...]]:
    def run() -> tuple[Any, ...]:
        seen: tuple[Any, ...] = ()
        for _ in range(n):
            crm = start()
            seen = _started(crm) if not seen else seen
            crm.close()
        return seen

    return run


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = 5 if opts.quick else 20
    out: list[Result] = []
    with fresh_db(backend, workdir) as db:
        first = make_crm(db, plugins=PLUGINS)
        settings = first.settings
        first.close()
        o_t, b_t, o_out, b_out = compare(_starts(lambda: Crm(settings), n), _starts(lambda: baseline_start(settings), n),
                                         repeats=opts.repeats, warmup=opts.warmup)
        same("started deployment (tables, pipelines, stages, plugins)", o_out, b_out)
        ratio = o_t / b_t
        out.append(Result(
            name="9 start-up of Crm(...), all plugins, migration check vs before migrations", backend=backend,
            ours=o_t / n * 1000, baseline=b_t / n * 1000, unit="ms", ratio=ratio, target="<= 1.2x (time)",
            passed=ratio <= 1.2, n=n, note="database at head; ratio = ours/baseline time; baseline: create_all(checkfirst)",
        ))
    out.append(_new_database(opts, workdir, backend))
    if backend == "sqlite":
        out.append(_cold(opts, workdir))
    return out


def _new_database(opts: Options, workdir: Path, backend: str) -> Result:
    """A brand-new empty database: ours creates and stamps it, the baseline creates it."""
    times: dict[str, list[float]] = {"ours": [], "baseline": []}
    seen: dict[str, Any] = {}
    repeats = _info_repeats(opts)
    for i in range(repeats):
        for which in (("ours", "baseline") if i % 2 == 0 else ("baseline", "ours")):
            with fresh_db(backend, workdir) as db:
                settings = _settings(db)
                t = time.perf_counter()
                crm = Crm(settings) if which == "ours" else baseline_start(settings, idempotency=True)
                times[which].append(time.perf_counter() - t)
                seen[which] = _started(crm)
                crm.close()
    same("new database (tables, pipelines, stages, plugins)", seen["ours"], seen["baseline"])
    o, b = statistics.median(times["ours"]), statistics.median(times["baseline"])
    return Result(name="9 start-up on a new empty database (create_all + stamp vs create_all)", backend=backend,
                  ours=o * 1000, baseline=b * 1000, unit="ms", ratio=o / b, target="info", passed=None,
                  n=repeats, note="ratio = ours/baseline time")


def _settings(db: Db) -> Settings:
    crm = make_crm(db, plugins=PLUGINS, setup=False)
    settings = crm.settings
    crm.close()
    return settings


COLD = """
import json, sys, time
t = time.perf_counter()
from crmkit import Crm, Settings
settings = Settings.load(sys.argv[1], environ={})
if sys.argv[2] == "ours":
    crm = Crm(settings)
else:  # baseline_start, inlined: the bench package is not imported
    from crmkit.core.sync import sync_lost_reasons, sync_pipelines
    from crmkit.core.unit_of_work import write_connection
    crm = Crm(settings, setup=False)
    with write_connection(crm) as conn:
        for md in crm.metadatas:
            md.create_all(conn, checkfirst=True)
        sync_pipelines(conn, crm.pipeline_specs, crm.clock.now())
        sync_lost_reasons(conn, crm.settings.lost_reasons)
    crm.reload_declarations()
    crm.dispatcher.init_cursors()
crm.close()
print(json.dumps({"seconds": time.perf_counter() - t, "alembic": "alembic" in sys.modules}))
"""


def _cold(opts: Options, workdir: Path) -> Result:
    """A new interpreter: import crmkit, load the settings, start the deployment (SQLite at head)."""
    from crmkit.testing import template

    with fresh_db("sqlite", workdir) as db:
        config = workdir / "cold.toml"
        lines = [f"database = {json.dumps(db.url)}", f"plugins = {json.dumps(list(PLUGINS))}",
                 f"lost_reasons = {json.dumps(template()['lost_reasons'])}"]
        config.write_text("\n".join(lines) + "\n")
        Crm(Settings.load(config, environ={})).close()
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        alembic = False
        repeats = _info_repeats(opts)
        for i in range(repeats):
            for which in (("ours", "baseline") if i % 2 == 0 else ("baseline", "ours")):
                proc = subprocess.run([sys.executable, "-c", COLD, str(config), which], capture_output=True,
                                      text=True, timeout=120, check=True)
                got = json.loads(proc.stdout)
                times[which].append(got["seconds"])
                alembic = alembic or (which == "ours" and got["alembic"])
    same("alembic imported by a start at head", alembic, False)
    o, b = statistics.median(times["ours"]), statistics.median(times["baseline"])
    return Result(name="9 cold start: new process, import crmkit, start (SQLite at head)", backend="sqlite",
                  ours=o * 1000, baseline=b * 1000, unit="ms", ratio=o / b, target="info", passed=None,
                  n=repeats, note="ours does not import alembic; ratio = ours/baseline time")


def _info_repeats(opts: Options) -> int:
    """The info rows are slow per repeat (a new database, a new process): fewer in --quick."""
    return 2 if opts.quick else opts.repeats

"""Target 7: the funnel report against the best hand-written SQL.

Data: N deals (1,000,000; --quick: 20,000) with ~2.15 N stage-history rows (see
dataset.py). Ours: ``crmkit.core.reports.funnel(crm, "sales")`` (SQLAlchemy Core,
result as attrs records). Baseline: the fastest SQL we could write by hand for the
same figures, run on a raw DBAPI connection. Both results are compared stage by
stage (entered, current, advanced, ended stays, median in ms) before any ratio.
Then the funnel of one manager for one quarter (absolute target: <= 50 ms).
"""

from __future__ import annotations

import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crmkit.core.reports import FunnelReport, funnel

from .dataset import load_postgres, sqlite_dataset
from .harness import Db, Options, Result, compare, fresh_db, make_crm, same

UTC = timezone.utc
MANAGER = 7
SINCE, UNTIL = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)

_WINDOW = """
  SELECT h.deal_id, h.to_stage_id AS stage_id, s.pipeline_id, s.position, h.moved_at,
         lead(h.moved_at) OVER w AS left_at,
         max(CASE WHEN s.pipeline_id = {p} AND s.kind <> 'lost' THEN s.position END)
           OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS reach
  FROM crm_stage_history h JOIN crm_stages s ON s.id = h.to_stage_id {scope}
  WINDOW w AS (PARTITION BY h.deal_id ORDER BY h.moved_at, h.id)"""

_SQLITE = """
WITH m AS ({window}),
st AS MATERIALIZED (
  SELECT stage_id, deal_id, reach > position AS adv, (julianday(left_at) - julianday(moved_at)) * 86400.0 AS dur
  FROM m WHERE pipeline_id = :p),
r AS (
  SELECT stage_id, dur, row_number() OVER (PARTITION BY stage_id ORDER BY dur) AS rn,
         count(*) OVER (PARTITION BY stage_id) AS cnt
  FROM st WHERE dur IS NOT NULL),
med AS (SELECT stage_id, avg(dur) AS med, max(cnt) AS stays FROM r WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2) GROUP BY stage_id),
cn AS (SELECT stage_id, count(DISTINCT deal_id) AS entered, count(DISTINCT CASE WHEN adv THEN deal_id END) AS advanced
       FROM st GROUP BY stage_id)
SELECT cn.stage_id, entered, advanced, coalesce(stays, 0), med FROM cn LEFT JOIN med ON med.stage_id = cn.stage_id"""

_POSTGRES = """
WITH m AS ({window})
SELECT stage_id, count(DISTINCT deal_id), count(DISTINCT deal_id) FILTER (WHERE reach > position), count(left_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM left_at - moved_at))
FROM m WHERE pipeline_id = %(p)s GROUP BY stage_id"""

_CURRENT = """SELECT d.stage_id, count(*) FROM crm_deals d WHERE d.stage_id IN ({ids}) {scope} GROUP BY d.stage_id"""


def hand_written(db: Db, conn: Any, pipeline_id: int, stage_ids: list[int], scoped: bool) -> dict[int, tuple[Any, ...]]:
    """The baseline: two hand-written statements on a raw DBAPI connection."""
    sqlite = db.backend == "sqlite"
    ph = (lambda n: f":{n}") if sqlite else (lambda n: f"%({n})s")
    if sqlite:
        args: dict[str, Any] = {"p": pipeline_id, "m": MANAGER, "a": SINCE.strftime("%Y-%m-%d %H:%M:%S.%f"),
                                "b": UNTIL.strftime("%Y-%m-%d %H:%M:%S.%f")}
    else:
        args = {"p": pipeline_id, "m": MANAGER, "a": SINCE, "b": UNTIL}
    where = f"d.responsible_id = {ph('m')} AND d.created_at >= {ph('a')} AND d.created_at < {ph('b')}"
    scope = f"JOIN crm_deals d ON d.id = h.deal_id WHERE {where}" if scoped else ""
    window = _WINDOW.format(p=ph("p"), scope=scope)
    sql = (_SQLITE if sqlite else _POSTGRES).format(window=window)
    current_sql = _CURRENT.format(ids=", ".join(str(i) for i in stage_ids), scope=f"AND {where}" if scoped else "")
    cur = conn.cursor()
    moves = cur.execute(sql, args).fetchall()
    current = dict(cur.execute(current_sql, args if scoped else {}).fetchall())
    if not sqlite:
        conn.rollback()
    out: dict[int, tuple[Any, ...]] = {}
    for stage_id, entered, advanced, stays, median in moves:
        out[stage_id] = (entered, current.pop(stage_id, 0), advanced, stays,
                         None if median is None else round(float(median) * 1000))
    for stage_id, n in current.items():
        out[stage_id] = (0, n, 0, 0, None)
    return out


def as_table(crm: Any, report: FunnelReport) -> dict[int, tuple[Any, ...]]:
    pipe = crm.pipeline(report.pipeline)
    ids = {s.key: s.id for s in pipe.stages}
    return {
        ids[s.key]: (s.entered, s.current, s.advanced, s.stays,
                     None if s.median_time is None else round(s.median_time.total_seconds() * 1000))
        for s in report.stages if s.entered or s.current
    }


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = 20_000 if opts.quick else 1_000_000
    source = sqlite_dataset(n, workdir)
    if backend == "sqlite":
        return _measure(Db("sqlite", f"sqlite:///{source}", path=source), opts, n)
    with fresh_db("postgresql", workdir) as db:
        load_postgres(db, source)
        return _measure(db, opts, n)


def _measure(db: Db, opts: Options, n: int) -> list[Result]:
    crm = make_crm(db)
    raw = db.raw()
    try:
        history = db.count("crm_stage_history")
        pipe = crm.pipeline("sales")
        stage_ids = [s.id for s in pipe.stages]
        results = []
        for scoped in (False, True):
            kwargs: dict[str, Any] = {"responsible_id": MANAGER, "since": SINCE, "until": UNTIL} if scoped else {}

            def ours() -> FunnelReport:
                return funnel(crm, "sales", **kwargs)

            def baseline() -> dict[int, tuple[Any, ...]]:
                return hand_written(db, raw, pipe.id, stage_ids, scoped)

            repeats = max(3, opts.repeats) if scoped or opts.quick else 3
            if scoped:
                repeats = 15
            o_t, b_t, o_res, b_res = compare(ours, baseline, repeats=repeats, warmup=opts.warmup)
            same("funnel figures per stage", as_table(crm, o_res), b_res)
            if not scoped:
                same("deals in the funnel", o_res.deals > 0, True)
                ratio = o_t / b_t
                results.append(Result(
                    name="7 funnel report, whole pipeline vs hand-written SQL", backend=db.backend, ours=o_t,
                    baseline=b_t, unit="s", ratio=ratio, target="<= 1.5x hand-written (time)", passed=ratio <= 1.5,
                    n=n, note=f"{n} deals, {history} stage-history rows; ratio = ours/baseline time",
                ))
            else:
                results.append(Result(
                    name="7 funnel report, one manager x one quarter", backend=db.backend, ours=o_t * 1000,
                    baseline=b_t * 1000, unit="ms", ratio=o_t / b_t, target="<= 50 ms", passed=o_t * 1000 <= 50,
                    n=o_res.deals, note=f"{o_res.deals} deals in scope of {n}; ratio = ours/baseline time (info)",
                ))
        return results
    finally:
        raw.close()
        crm.close()

"""Target 14 (extends 7): every KPI report against the best hand-written SQL.

Data: the funnel's N deals (1,000,000; --quick: 20,000) and their history, plus contacts, leads,
lead events and tasks (reports_data.py). Ours: ``crmkit.run_report(crm, name)`` as the system
(the whole data), and as one manager (record rules applied) over one quarter (absolute target:
<= 50 ms). Baseline: hand-written SQL on a raw DBAPI connection computing the same figures, which
are compared (counts exactly, seconds and ratios to 1e-6 relative) before any ratio is printed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from crmkit import FrozenClock, Money, run_report

from .harness import Db, NotSameWork, Options, Result, compare, fresh_db, make_crm
from .reports_data import load_postgres_reports, reports_dataset

UTC = timezone.utc
MANAGER = 7
SINCE, UNTIL = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOST_DAYS, STALL_DAYS = 365, 14


def _e(x: str, pg: bool) -> str:
    return f"extract(epoch FROM {x})" if pg else f"((julianday({x}) - 2440587.5) * 86400.0)"


def _month(x: str, pg: bool) -> str:
    return f"to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM')" if pg else f"strftime('%Y-%m', {x})"


def _pct(table: str, value: str, group: str, pg: bool) -> str:
    """n, p50, p90 of ``value`` per ``group`` of ``table`` (a CTE name)."""
    if pg:
        return (f"SELECT {group}, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}),"
                f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {value}) FROM {table} GROUP BY {group}")
    parts = []
    for p in (0.5, 0.9):
        pos = f"((cnt - 1) * {p})"
        lo = f"CAST({pos} AS INTEGER)"
        parts.append(f"sum(CASE WHEN rn = {lo} + 1 THEN v * (1 - ({pos} - {lo})) WHEN rn = {lo} + 2"
                     f" THEN v * ({pos} - {lo}) ELSE 0 END)")
    return (f"SELECT {group}, max(cnt), {', '.join(parts)} FROM (SELECT {group}, {value} AS v,"
            f" row_number() OVER (PARTITION BY {group} ORDER BY {value}) AS rn,"
            f" count(*) OVER (PARTITION BY {group}) AS cnt FROM {table}) r GROUP BY {group}")


def _in(col: str, scoped: bool, *, who: str = "responsible_id") -> str:
    """The scope of the manager's quarter on ``col`` (and the manager on ``who``)."""
    return f" AND {who} = :m AND {col} >= :a AND {col} < :b" if scoped else ""


# -- the hand-written statements: (SQL, ...) -> rows keyed like ours -----------------------------


def h_conversion(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    if scoped:
        sql = ("SELECT count(*), count(CASE WHEN EXISTS (SELECT 1 FROM crm_deals d WHERE d.lead_id = l.id) THEN 1 END),"
               " count(CASE WHEN EXISTS (SELECT 1 FROM crm_deals d WHERE d.lead_id = l.id AND d.status = 'won')"
               " THEN 1 END) FROM crm_leads l WHERE l.responsible_id = :m AND l.created_at >= :a AND l.created_at < :b")
    else:
        sql = ("SELECT count(*), count(dl.lead_id), count(CASE WHEN dl.won = 1 THEN 1 END) FROM crm_leads l LEFT JOIN"
               " (SELECT lead_id, max(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS won FROM crm_deals"
               " WHERE lead_id IS NOT NULL GROUP BY lead_id) dl ON dl.lead_id = l.id")
    (r,) = run(sql)
    return {(): tuple(r)}


def h_average_check(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    rows = run("SELECT currency, count(*), sum(amount_minor) FROM crm_deals WHERE status = 'won'"
               " AND amount_minor IS NOT NULL AND currency IS NOT NULL" + _in("closed_at", scoped) + " GROUP BY currency")
    return {(r[0],): (r[1], int(r[2])) for r in rows}


def h_lost_reasons(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    rows = run(
        "SELECT p.key, coalesce(fs.key, '(none)'), coalesce(lr.label, nullif(trim(d.lost_reason_text), ''), '(none)'),"
        " count(*) FROM crm_deals d JOIN crm_pipelines p ON p.id = d.pipeline_id"
        " LEFT JOIN crm_stages fs ON fs.id = (SELECT h.from_stage_id FROM crm_stage_history h WHERE h.deal_id = d.id"
        " ORDER BY h.moved_at DESC, h.id DESC LIMIT 1) LEFT JOIN crm_lost_reasons lr ON lr.id = d.lost_reason_id"
        " WHERE d.status = 'lost'" + _in("d.closed_at", scoped, who="d.responsible_id") + " GROUP BY 1, 2, 3")
    return {(r[0], r[1], r[2]): (r[3],) for r in rows}


def h_time_in_stage(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    secs = f"{_e('left_at', pg)} - {_e('moved_at', pg)}"
    if scoped:  # the manager's deals' moves in the quarter, each one's next move by index
        m = ("SELECT h.to_stage_id AS stage_id, h.moved_at, (SELECT min(n.moved_at) FROM crm_stage_history n"
             " WHERE n.deal_id = h.deal_id AND (n.moved_at > h.moved_at OR (n.moved_at = h.moved_at AND n.id > h.id)))"
             " AS left_at FROM crm_stage_history h JOIN dd ON dd.id = h.deal_id"
             " WHERE h.to_stage_id IN (SELECT id FROM crm_stages WHERE pipeline_id = :p)"
             " AND h.moved_at >= :a AND h.moved_at < :b")
        sql = (f"WITH dd AS MATERIALIZED (SELECT id FROM crm_deals WHERE responsible_id = :m), m AS MATERIALIZED ({m}),"
               f" s AS (SELECT stage_id, {secs} AS secs FROM m WHERE left_at IS NOT NULL) ")
    else:
        sql = (f"WITH m AS (SELECT h.to_stage_id AS stage_id, h.pipeline_id, h.moved_at, lead(h.moved_at) OVER"
               f" (PARTITION BY h.deal_id ORDER BY h.moved_at, h.id) AS left_at FROM crm_stage_history h),"
               f" s AS (SELECT stage_id, {secs} AS secs FROM m WHERE pipeline_id = :p AND left_at IS NOT NULL) ")
    sql += _pct("s", "secs", "stage_id", pg)
    stays = {r[0]: (r[1], r[2], r[3]) for r in run(sql)}
    cur = run("SELECT stage_id, count(*), sum(CASE WHEN stage_entered_at < :cut THEN 1 ELSE 0 END) FROM crm_deals"
              " WHERE status = 'open' AND stage_id IN (SELECT id FROM crm_stages WHERE pipeline_id = :p AND kind = 'open')"
              + (" AND responsible_id = :m" if scoped else "") + " GROUP BY stage_id")
    current = {r[0]: (r[1], int(r[2])) for r in cur}
    keys = run("SELECT id, key FROM crm_stages WHERE pipeline_id = :p")
    out = {}
    for sid, key in keys:
        n, p50, p90 = stays.get(sid, (0, None, None))
        c, st = current.get(sid, (0, 0))
        out[(key,)] = (n, p50, p90, c, st)
    return out


def h_handling_time(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    where = " WHERE responsible_id = :m AND created_at >= :a AND created_at < :b" if scoped else ""
    c = _e("l.created_at", pg)
    sql = (f"WITH l AS (SELECT id, created_at, status, closed_at FROM crm_leads{where}),"
           f" a AS (SELECT l.id, min(e.occurred_at) AS at FROM l JOIN crm_events e ON e.entity_type = 'lead'"
           f" AND e.entity_id = l.id WHERE e.type <> 'lead.created' AND e.actor_id IS NOT NULL GROUP BY l.id"
           f" UNION ALL SELECT l.id, t.completed_at FROM l JOIN crm_tasks t ON t.entity_type = 'lead'"
           f" AND t.entity_id = l.id WHERE t.status = 'done'),"
           f" q AS (SELECT l.id, min(e.occurred_at) AS at FROM l JOIN crm_events e ON e.entity_type = 'lead'"
           f" AND e.entity_id = l.id WHERE e.type IN ('lead.stage_changed', 'lead.converted') GROUP BY l.id),"
           f" s AS (SELECT 'first_action' AS measure, {_e('x.at', pg)} - {c} AS secs FROM l JOIN"
           f" (SELECT id, min(at) AS at FROM a GROUP BY id) x ON x.id = l.id"
           f" UNION ALL SELECT 'qualified', {_e('q.at', pg)} - {c} FROM l JOIN q ON q.id = l.id"
           f" UNION ALL SELECT 'converted', {_e('l.closed_at', pg)} - {c} FROM l WHERE l.status = 'converted') "
           + _pct("s", "secs", "measure", pg))
    return {(r[0],): (r[1], r[2], r[3]) for r in run(sql)}


def h_channels(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    if scoped:
        leads = run("SELECT l.source, coalesce(l.utm_source, '(none)'), count(*),"
                    " count(CASE WHEN EXISTS (SELECT 1 FROM crm_deals d WHERE d.lead_id = l.id) THEN 1 END),"
                    " count(CASE WHEN EXISTS (SELECT 1 FROM crm_deals d WHERE d.lead_id = l.id AND d.status = 'won')"
                    " THEN 1 END) FROM crm_leads l WHERE l.responsible_id = :m AND l.created_at >= :a"
                    " AND l.created_at < :b GROUP BY 1, 2")
    else:
        leads = run("SELECT l.source, coalesce(l.utm_source, '(none)'), count(*), count(dl.lead_id),"
                    " count(CASE WHEN dl.won = 1 THEN 1 END) FROM crm_leads l LEFT JOIN (SELECT lead_id,"
                    " max(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS won FROM crm_deals WHERE lead_id IS NOT NULL"
                    " GROUP BY lead_id) dl ON dl.lead_id = l.id GROUP BY 1, 2")
    won = run("SELECT source, coalesce(utm_source, '(none)'), count(*), sum(amount_minor) FROM crm_deals"
              " WHERE status = 'won' AND currency = 'USD'" + _in("closed_at", scoped) + " GROUP BY 1, 2")
    out = {(r[0], r[1]): (r[2], r[3], r[4], 0, 0) for r in leads}
    for r in won:
        base = out.get((r[0], r[1]), (0, 0, 0, 0, 0))
        out[(r[0], r[1])] = base[:3] + (r[2], int(r[3] or 0))
    return out


def h_managers(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    m = " AND responsible_id = :m" if scoped else ""
    sql = ("SELECT x.uid, sum(leads), sum(conv), sum(won), sum(minor), sum(overdue) FROM ("
           " SELECT responsible_id AS uid, count(*) AS leads, count(CASE WHEN status = 'converted' THEN 1 END) AS conv,"
           " 0 AS won, 0 AS minor, 0 AS overdue FROM crm_leads WHERE responsible_id IS NOT NULL"
           + (m + " AND created_at >= :a AND created_at < :b" if scoped else "") + " GROUP BY responsible_id"
           " UNION ALL SELECT responsible_id, 0, 0, count(*), coalesce(sum(CASE WHEN currency = 'USD' THEN amount_minor"
           " END), 0), 0 FROM crm_deals WHERE status = 'won' AND responsible_id IS NOT NULL"
           + (m + " AND closed_at >= :a AND closed_at < :b" if scoped else "") + " GROUP BY responsible_id"
           " UNION ALL SELECT assignee_id, 0, 0, 0, 0, count(*) FROM crm_tasks WHERE status = 'open' AND due_at < :now"
           " AND assignee_id IS NOT NULL" + (" AND assignee_id = :m" if scoped else "") + " GROUP BY assignee_id"
           ") x JOIN crm_users u ON u.id = x.uid GROUP BY x.uid")
    return {(r[0],): (int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in run(sql)}


def h_tasks(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    done = "status = 'done'" + (" AND completed_at >= :a AND completed_at < :b" if scoped else "")
    figures = (f"count(CASE WHEN {done} AND completed_at <= due_at THEN 1 END),"
               f" count(CASE WHEN {done} AND completed_at > due_at THEN 1 END),"
               " count(CASE WHEN status = 'open' AND due_at < :now THEN 1 END)")
    where = " WHERE due_at IS NOT NULL" + (" AND assignee_id = :m" if scoped else "")
    rows = run(f"SELECT assignee_id, {figures} FROM crm_tasks{where} GROUP BY assignee_id")
    (total,) = run(f"SELECT {figures} FROM crm_tasks{where}")
    out = {(r[0],): tuple(r[1:]) for r in rows if any(r[1:])}
    out[("(all)",)] = tuple(total)
    return out


def h_base_growth(run: Callable[[str], list[Any]], pg: bool, scoped: bool) -> dict[Any, tuple[Any, ...]]:
    gap = LOST_DAYS * 86400.0
    lapse = f"at + {gap}"
    lapse_month = (f"to_char(to_timestamp({lapse}) AT TIME ZONE 'UTC', 'YYYY-MM')" if pg
                   else f"strftime('%Y-%m', {lapse}, 'unixepoch')")
    cust = ("CASE WHEN contact_id IS NOT NULL THEN contact_id * 2 WHEN company_id IS NOT NULL"
            " THEN company_id * 2 + 1 END")
    sql = (f"WITH w AS (SELECT {cust} AS cust, id, closed_at, {_e('closed_at', pg)} AS at FROM crm_deals"
           f" WHERE status = 'won' AND closed_at IS NOT NULL" + (" AND responsible_id = :m" if scoped else "") + "),"
           f" x AS (SELECT closed_at, at, lag(at) OVER (PARTITION BY cust ORDER BY closed_at, id) AS prev,"
           f" lead(at) OVER (PARTITION BY cust ORDER BY closed_at, id) AS nxt FROM w WHERE cust IS NOT NULL),"
           f" c AS (SELECT {_month('closed_at', pg)} AS month, 1 AS new, 0 AS lost FROM x"
           f" WHERE prev IS NULL OR at - prev > {gap}"
           f" UNION ALL SELECT {lapse_month}, 0, 1 FROM x WHERE (nxt IS NULL OR nxt - at > {gap}) AND {lapse} <= :nows),"
           f" g AS (SELECT month, sum(new) AS new, sum(lost) AS lost FROM c GROUP BY month)"
           f" SELECT month, new, lost, sum(new - lost) OVER (ORDER BY month) FROM g")
    rows = run(sql)
    if scoped:
        rows = [r for r in rows if SINCE.strftime("%Y-%m") <= r[0] <= (UNTIL - timedelta(days=1)).strftime("%Y-%m")]
    return {(r[0],): (int(r[1]), int(r[2]), int(r[3])) for r in rows}


HAND: dict[str, Callable[..., dict[Any, tuple[Any, ...]]]] = {
    "conversion": h_conversion, "average_check": h_average_check, "lost_reasons": h_lost_reasons,
    "time_in_stage": h_time_in_stage, "handling_time": h_handling_time, "channels": h_channels,
    "managers": h_managers, "tasks": h_tasks, "base_growth": h_base_growth,
}
# ours' columns matching the baseline's figures, per report
COLUMNS = {
    "conversion": ((), ("leads", "deals", "won")),
    "average_check": (("currency",), ("won", "total")),
    "lost_reasons": (("pipeline", "stage", "reason"), ("lost",)),
    "time_in_stage": (("stage",), ("stays", "median_seconds", "p90_seconds", "current", "stalled")),
    "handling_time": (("measure",), ("measured", "median_seconds", "p90_seconds")),
    "channels": (("channel", "utm_source"), ("leads", "deals", "won", "won_deals", "won_amount")),
    "managers": (("manager_id",), ("leads", "converted", "won", "won_amount", "overdue_tasks")),
    "tasks": (("assignee_id",), ("on_time", "late", "overdue_open")),
    "base_growth": (("month",), ("new", "lost", "base")),
}


def as_table(name: str, report: Any) -> dict[Any, tuple[Any, ...]]:
    keys, metrics = COLUMNS[name]
    out = {}
    for r in report.rows:
        key = tuple(r[k] for k in keys)
        if name == "tasks" and r["assignee"] == "(all)":
            key = ("(all)",)
        vals = tuple(v.minor_units if isinstance(v, Money) else v for v in (r[m] for m in metrics))
        if name == "handling_time" and not r["measured"]:
            continue
        out[key] = vals
    return out


def same_figures(what: str, ours: dict[Any, tuple[Any, ...]], base: dict[Any, tuple[Any, ...]]) -> None:
    if set(ours) != set(base):
        raise NotSameWork(f"{what}: rows {sorted(map(str, set(ours) ^ set(base)))[:5]} differ")
    for k, o in ours.items():
        for a, b in zip(o, base[k]):
            if a is None or b is None:
                ok = a is None and b is None
            elif isinstance(a, float) or isinstance(b, float):
                ok = math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-2)
            else:
                ok = a == b
            if not ok:
                raise NotSameWork(f"{what} {k}: ours {o} != baseline {base[k]}")


def runner(db: Db, conn: Any, params: dict[str, Any]) -> Callable[[str], list[Any]]:
    sqlite = db.backend == "sqlite"

    def run(sql: str) -> list[Any]:
        if not sqlite:
            import re

            sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))
        rows = conn.execute(sql, params).fetchall()
        if not sqlite:
            conn.rollback()
        return rows

    return run


def run(opts: Options, workdir: Path, backend: str) -> list[Result]:
    n = 20_000 if opts.quick else 1_000_000
    source = reports_dataset(n, workdir)
    if backend == "sqlite":
        return _measure(Db("sqlite", f"sqlite:///{source}", path=source), opts, n)
    with fresh_db("postgresql", workdir) as db:
        load_postgres_reports(db, source)
        return _measure(db, opts, n)


def _measure(db: Db, opts: Options, n: int) -> list[Result]:
    crm = make_crm(db, clock=FrozenClock(NOW))
    raw = db.raw()
    sqlite = db.backend == "sqlite"
    fmt = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda t: t)
    params = {"m": MANAGER, "a": fmt(SINCE), "b": fmt(UNTIL), "now": fmt(NOW), "nows": NOW.timestamp(),
              "cut": fmt(NOW - timedelta(days=STALL_DAYS)), "p": crm.pipeline("sales").id}
    run_sql = runner(db, raw, params)
    results = []
    try:
        for name, hand in HAND.items():
            for scoped in (False, True):
                who = crm.as_user(MANAGER) if scoped else crm
                kwargs: dict[str, Any] = {"since": SINCE, "until": UNTIL} if scoped else {}

                def ours(who: Any = who, kwargs: dict[str, Any] = kwargs, name: str = name) -> Any:
                    return run_report(who, name, **kwargs)

                def baseline(hand: Any = hand, scoped: bool = scoped) -> Any:
                    return hand(run_sql, not sqlite, scoped)

                repeats = 15 if scoped else (opts.repeats if opts.quick else 3)
                o_t, b_t, o_res, b_res = compare(ours, baseline, repeats=repeats, warmup=opts.warmup)
                same_figures(f"{name}{' (manager, quarter)' if scoped else ''}", as_table(name, o_res), b_res)
                if not scoped:
                    ratio = o_t / b_t
                    results.append(Result(
                        name=f"14 report {name}, all data vs hand-written SQL", backend=db.backend, ours=o_t,
                        baseline=b_t, unit="s", ratio=ratio, target="<= 1.5x hand-written (time)",
                        passed=ratio <= 1.5, n=n, note=f"{n} deals; {len(o_res.rows)} rows"))
                else:
                    results.append(Result(
                        name=f"14 report {name}, one manager x one quarter", backend=db.backend, ours=o_t * 1000,
                        baseline=b_t * 1000, unit="ms", ratio=o_t / b_t, target="<= 50 ms", passed=o_t * 1000 <= 50,
                        n=n, note="record rules of the manager applied; ratio = ours/baseline time (info)"))
        return results
    finally:
        raw.close()
        crm.close()

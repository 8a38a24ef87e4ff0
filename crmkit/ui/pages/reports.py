"""The reports page: the KPIs of a period (and the period before, side by side), the funnel, time in
stage, the base's growth, channels, lost reasons, managers, customers' lifecycle and RFM, cohorts
and the lead_win calibration, with server-side SVG charts (:mod:`.report_charts`).

Every figure comes from :func:`crmkit.core.reports.run_report` as the logged-in user, so a
manager's page covers what that manager may see (docs/reports.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from ...core.errors import ValidationError
from ...core.reports import Comparison, Report, run_report
from ...core.reports.scores import ranked
from . import report_charts as charts

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext, UiState

FILTERS = ("from", "to", "team", "manager", "pipeline", "source")


def _options(ctx: "PageContext") -> tuple[dict[str, str], dict[str, Any]]:
    """The form's values (defaults: the last 90 days) and the matching ``run_report`` options."""
    q = ctx.request.query_params
    today = ctx.crm.clock.now().astimezone(ctx.crm.settings.tz).date()
    form = {k: (q.get(k) or "").strip()[:200] for k in FILTERS}
    form["from"] = form["from"] or (today - timedelta(days=89)).isoformat()
    form["to"] = form["to"] or today.isoformat()
    form["compare"] = "1" if q.get("compare") else ""
    names = {"from": "since", "to": "until", "manager": "manager_id"}
    options = {names.get(k, k): v for k, v in form.items() if v and k in FILTERS}
    return form, options


def _run(ctx: "PageContext", name: str, options: dict[str, Any], compare: bool = False) -> Any:
    assert ctx.services is not None
    return run_report(ctx.services, name, compare_to="previous" if compare else None, **options)


def _days(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds / 86400:.1f} d" if seconds >= 86400 else f"{seconds / 3600:.1f} h"


def _kpis(ctx: "PageContext", conv: Any, check: Any, handling: Any, tasks: Any) -> list[dict[str, Any]]:
    """The headline figures: (label, value now, value before or None)."""
    def pair(report: Any, metric: str, **key: Any) -> tuple[Any, Any]:
        try:
            row = report.row(**key) if key else report.rows[0]
        except (KeyError, IndexError):
            return None, None
        return row.get(metric), row.get(f"{metric}_before") if isinstance(report, Comparison) else None

    def pct(v: Any) -> str:
        return "–" if v is None else f"{v:.1f}"

    out = []
    now, before = pair(conv, "deals_per_100")
    out.append({"label": ctx._("Deals per 100 leads"), "now": pct(now), "before": pct(before) if before is not None
                else None})
    now, before = pair(conv, "won_per_100")
    out.append({"label": ctx._("Won per 100 leads"), "now": pct(now), "before": pct(before) if before is not None
                else None})
    for row in check.rows:
        out.append({"label": ctx._("Average check, %(currency)s", currency=row["currency"]),
                    "now": ctx.fmt.money(row["average"]),
                    "before": (ctx.fmt.money(row.get("average_before")) or "–") if isinstance(check, Comparison)
                    else None})
    now, before = pair(handling, "median_seconds", measure="first_action")
    out.append({"label": ctx._("First action on a lead (median)"), "now": _days(now),
                "before": _days(before) if isinstance(handling, Comparison) else None})
    now, before = pair(tasks, "on_time_share", assignee="(all)")
    out.append({"label": ctx._("Tasks done on time"), "now": "–" if now is None else f"{now:.0%}",
                "before": (None if not isinstance(tasks, Comparison) else "–" if before is None else f"{before:.0%}")})
    return out


def reports_page(ctx: "PageContext") -> Response:
    form, options = _options(ctx)
    compare = bool(form["compare"])
    color = ctx.ui.config.primary_color
    try:
        conv = _run(ctx, "conversion", options, compare)
        check = _run(ctx, "average_check", options, compare)
        handling = _run(ctx, "handling_time", options, compare)
        tasks = _run(ctx, "tasks", options, compare)
        funnel: Report = _run(ctx, "funnel", options)
        stages: Report = _run(ctx, "time_in_stage", options)
        growth: Report = _run(ctx, "base_growth", options)
        channels: Report = _run(ctx, "channels", options)
        lost: Report = _run(ctx, "lost_reasons", options)
        managers: Report = _run(ctx, "managers", options)
        lifecycle: Report = _run(ctx, "lifecycle", options)
        rfm: Report = _run(ctx, "rfm", options)
        cohorts: Report = _run(ctx, "cohorts", options)
        backtest: Report = _run(ctx, "score_backtest", options)
    except ValidationError as exc:
        return ctx.page("reports.html", status=422, form=form, error=exc.message, pipelines=ctx.crm.pipelines)
    pipe = ctx.crm.pipeline(options.get("pipeline") or ctx.crm.settings.sales_pipeline)
    names = {s.key: s.name for s in pipe.stages}
    all_stages = {(p.key, s.key): s.name for p in ctx.crm.pipelines for s in p.stages}
    stage_names = {"potential": ctx._("potential"), "active": ctx._("active"), "regular": ctx._("regular"),
                   "lost": ctx._("lost")}
    figures = {
        "funnel": charts.bars([(names.get(r["stage"], r["stage"]), r["entered"],
                                f"{r['entered']}" + (f" · {r['conversion']:.0%}" if r["conversion"] is not None else ""))
                               for r in funnel.rows], title=ctx._("Funnel"), color=color),
        "stages": charts.bars([(names.get(r["stage"], r["stage"]), r["median_seconds"] or 0,
                                f"{_days(r['median_seconds'])} · " + ctx._("%(n)s stalled", n=r["stalled"]))
                               for r in stages.rows if r["norm_days"] is not None],
                              title=ctx._("Time in stage"), color=color),
        "growth": charts.growth([(r["month"], r["new"], r["lost"], r["base"]) for r in growth.rows],
                                title=ctx._("Customer base"), color=color),
        "lost": charts.bars([(f"{all_stages.get((r['pipeline'], r['stage']), r['stage'])}: {r['reason']}", r["lost"],
                              f"{r['lost']} · {r['share']:.0%}")
                             for r in lost.rows[:10]], title=ctx._("Lost reasons"), color=charts.RED),
        "lifecycle": charts.bars([(f"{ctx.label(r['entity_type'], True)}: {stage_names[r['lifecycle']]}", r["customers"],
                                   str(r["customers"])) for r in lifecycle.rows],
                                 title=ctx._("Lifecycle"), color=color),
        "rfm": charts.bars([(f"{ctx.label(r['entity_type'], True)}: {r['segment']}", r["customers"],
                             str(r["customers"])) for r in rfm.rows], title=ctx._("RFM segments"), color=color),
        "cohorts": charts.heatmap([(r["cohort"], r["customers"], [r[f"m{k}"] for k in range(1, 13)])
                                   for r in cohorts.rows], title=ctx._("Retention by cohort"), color=color),
        "calibration": charts.calibration([(r["predicted"], r["actual"], r["predictions"]) for r in backtest.rows
                                           if r["band"] != "all" and r["predictions"]],
                                          title=ctx._("Chance to win: predicted and actual"), color=color),
    }
    overall = next((r for r in backtest.rows if r["band"] == "all"), None)
    likely = ranked(ctx.services, "deal", "lead_win", filters={"status": "open"}, limit=10).items
    return ctx.page("reports.html", form=form, error=None, pipelines=ctx.crm.pipelines,
                    kpis=_kpis(ctx, conv, check, handling, tasks), figures=figures, channels=channels.rows,
                    managers=managers.rows, backtest=overall, likely=likely, compare=compare, handling=handling,
                    period=(date.fromisoformat(form["from"]) if _is_date(form["from"]) else None))


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def routes(ui: "UiState") -> list[tuple[str, Any, tuple[str, ...], bool]]:
    return [("/reports", reports_page, ("GET",), True)]

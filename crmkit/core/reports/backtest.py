"""The ``score_backtest`` report: how well ``lead_win`` would have predicted the deals closed in
the period, learned only from the deals closed before it (out of time; without a start, from
every closed deal: in sample).

Each stay of a deal closed in the period in an open stage is one prediction (the model's ``p``
of that stage, channel and age) against the outcome (won 1, lost 0). Rows: the ten bands of
``p`` (``0.0-0.1`` ... ``0.9-1.0``) with their predictions, mean ``p`` and actual win rate
(calibration: the two should be close), and ``all`` with the Brier score (mean squared error,
0 is perfect, 0.25 is a coin) and the base rate. One SQL ``GROUP BY`` over the samples joined
with the model's table of ``p`` (a ``VALUES`` CTE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, Integer, String, case, cast, column, func, select, values

from .. import schema
from .result import Report
from .scope import Scope, deal_scope, period
from .scoring import WinModel, samples

if TYPE_CHECKING:  # pragma: no cover
    from ..services import Services

BANDS = 10


def score_backtest(services: "Services", scope: Scope) -> Report:
    crm = services.crm
    model = WinModel.learn(crm, before=scope.since)
    d = schema.deals
    sm = samples(crm).where(*deal_scope(services, scope), *period(scope, d.c.closed_at)).subquery("samples")
    with crm.engine.connect() as conn:
        keys = conn.execute(select(sm.c.stage_id, sm.c.source).distinct()).all()
        stages = sorted({k.stage_id for k in keys})
        sources = sorted({k.source for k in keys})
        table = model.table(stages, sources)
        rows: list[dict[str, Any]] = []
        if table:
            grid = values(column("stage_id", Integer), column("source", String), column("bucket", Integer),
                          column("p", Float), name="model_rows").data(
                [(st, src, b, p) for (st, src, b), p in table.items()]).cte("model")
            p = grid.c.p
            band = case(*[(p < (i + 1) / BANDS, i) for i in range(BANDS - 1)], else_=BANDS - 1)
            joined = sm.join(grid, (grid.c.stage_id == sm.c.stage_id) & (grid.c.source == sm.c.source)
                             & (grid.c.bucket == sm.c.bucket))
            won = cast(sm.c.won, Float)
            figures = (func.count().label("n"), func.avg(p).label("predicted"), func.avg(won).label("actual"),
                       func.avg((p - won) * (p - won)).label("brier"))
            per_band = {r.band: r for r in conn.execute(select(band.label("band"), *figures)
                                                        .select_from(joined).group_by(band))}
            total = conn.execute(select(*figures).select_from(joined)).one()
            for i in range(BANDS):
                r = per_band.get(i)
                rows.append({"band": f"{i / BANDS:.1f}-{(i + 1) / BANDS:.1f}", "predictions": r.n if r else 0,
                             "predicted": _f(r.predicted) if r else None, "actual": _f(r.actual) if r else None,
                             "brier": _f(r.brier) if r else None})
            rows.append({"band": "all", "predictions": total.n, "predicted": _f(total.predicted),
                         "actual": _f(total.actual), "brier": _f(total.brier)})
    return Report("score_backtest", ("band",), ("predictions", "predicted", "actual", "brier"), tuple(rows), scope)


def _f(value: Any) -> float | None:
    return None if value is None else round(float(value), 9)


"""The core's default score, ``lead_win``: the chance an open deal is won, learned from the
deployment's own closed deals (no ML library: counted win rates with smoothing).

Training samples are the stays of closed (won or lost) deals in open stages: the stage,
the deal's channel (``source``) and its age when it entered the stage, bucketed
(:data:`AGE_BUCKETS`). The win rate of a (stage, source, age) cell is shrunk toward its
(stage, source) rate, that toward the stage's rate, that toward the overall rate, each
with ``prior`` pseudo-deals (``[settings.reports.scoring] prior``, default 10)::

    p(cell) = (won(cell) + prior * p(parent)) / (deals(cell) + prior)

An open deal scores ``p`` of its current stage, source and age at entering the stage.
The counts are one SQL ``GROUP BY``; the smoothing runs over those groups.
"""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import attrs
from sqlalchemy import case, func, select
from sqlalchemy.sql import ColumnElement

from .. import schema
from ..errors import ConfigError
from ..hookspecs import hookimpl
from .sqlfn import epoch

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

MODEL = "lead_win"
AGE_BUCKETS = (7, 30, 90)
"""Days: a deal younger than 7 days is in bucket 0, then 7-30, 30-90, and 90 or more (3)."""
DEFAULT_PRIOR = 10.0


def prior(crm: "Crm") -> float:
    value = crm.settings.for_plugin("reports").get("scoring", {}).get("prior", DEFAULT_PRIOR)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 10000:
        raise ConfigError("crmkit.toml [settings.reports.scoring] prior: a number of pseudo-deals above 0")
    return float(value)


def age_bucket(start: Any, end: Any, *, postgres: bool) -> ColumnElement[int]:
    """The bucket of the time from ``start`` to ``end`` (datetime columns), see :data:`AGE_BUCKETS`."""
    days = (epoch(end, postgres=postgres) - epoch(start, postgres=postgres)) / 86400.0
    return case(*[(days < limit, i) for i, limit in enumerate(AGE_BUCKETS)], else_=len(AGE_BUCKETS))


def samples(crm: "Crm") -> Any:
    """Every stay of a closed deal in an open stage: ``deal_id``, ``stage_id``, ``source``, ``bucket``,
    ``won`` (1/0), ``closed_at``."""
    postgres = crm.engine.dialect.name == "postgresql"
    h, s, d = schema.stage_history.c, schema.stages.c, schema.deals.c
    return (select(h.deal_id, h.to_stage_id.label("stage_id"), d.source,
                   age_bucket(d.created_at, h.moved_at, postgres=postgres).label("bucket"),
                   case((d.status == "won", 1), else_=0).label("won"), d.closed_at)
            .select_from(schema.stage_history.join(schema.deals, d.id == h.deal_id)
                         .join(schema.stages, s.id == h.to_stage_id))
            .where(d.status.in_(("won", "lost")), s.kind == "open"))


@attrs.frozen
class WinModel:
    """Counted win rates per cell, smoothed on the way down (see the module docstring)."""

    prior: float
    counts: Mapping[tuple[int, str, int], tuple[int, int]]
    """(stage id, source, bucket) -> (won, deals)."""

    @classmethod
    def learn(cls, crm: "Crm", *, before: datetime | None = None) -> "WinModel":
        """Count the samples of deals closed before ``before`` (all closed deals for ``None``)."""
        sm = samples(crm).subquery("samples")
        q = (select(sm.c.stage_id, sm.c.source, sm.c.bucket, func.sum(sm.c.won).label("won"),
                    func.count().label("n")).group_by(sm.c.stage_id, sm.c.source, sm.c.bucket))
        if before is not None:
            q = q.where(sm.c.closed_at < before)
        with crm.engine.connect() as conn:
            counts = {(r.stage_id, r.source, int(r.bucket)): (int(r.won), int(r.n)) for r in conn.execute(q)}
        return cls(prior(crm), counts)

    def _sums(self) -> tuple[tuple[int, int], dict[Any, tuple[int, int]], dict[Any, tuple[int, int]]]:
        total = [0, 0]
        stage: dict[Any, list[int]] = {}
        pair: dict[Any, list[int]] = {}
        for (st, src, _), (won, n) in self.counts.items():  # the groups of one GROUP BY, not data rows
            for acc in (total, stage.setdefault(st, [0, 0]), pair.setdefault((st, src), [0, 0])):
                acc[0] += won
                acc[1] += n
        return ((total[0], total[1]), {k: (v[0], v[1]) for k, v in stage.items()},
                {k: (v[0], v[1]) for k, v in pair.items()})

    def table(self, stages: Sequence[int], sources: Sequence[str]) -> dict[tuple[int, str, int], float]:
        """``p`` of every (stage, source, bucket) of ``stages`` x ``sources`` x the buckets."""
        (won, n), by_stage, by_pair = self._sums()
        base = (won + 1.0) / (n + 2.0)  # Laplace: 0.5 with no history
        out = {}
        for st in stages:
            w, k = by_stage.get(st, (0, 0))
            p_stage = (w + self.prior * base) / (k + self.prior)
            for src in sources:
                w, k = by_pair.get((st, src), (0, 0))
                p_pair = (w + self.prior * p_stage) / (k + self.prior)
                for b in range(len(AGE_BUCKETS) + 1):
                    w, k = self.counts.get((st, src, b), (0, 0))
                    out[(st, src, b)] = (w + self.prior * p_pair) / (k + self.prior)
        return out


def score_deals(crm: "Crm", ids: Sequence[int], model: WinModel) -> dict[int, float]:
    """``lead_win`` of the open deals among ``ids``."""
    postgres = crm.engine.dialect.name == "postgresql"
    d = schema.deals.c
    q = (select(d.id, d.stage_id, d.source,
                age_bucket(d.created_at, d.stage_entered_at, postgres=postgres).label("bucket"))
         .where(d.id.in_(list(ids)), d.status == "open"))
    with crm.engine.connect() as conn:
        found = conn.execute(q).all()
    table = model.table(sorted({r.stage_id for r in found}), sorted({r.source for r in found}))
    return {r.id: table[(r.stage_id, r.source, int(r.bucket))] for r in found}


# Per deployment object, never by id(): a closed tenant's id may be reused by another tenant's Crm.
_CACHE: "weakref.WeakKeyDictionary[Crm, tuple[datetime, WinModel]]" = weakref.WeakKeyDictionary()


@hookimpl(trylast=True)
def crm_score(crm: "Crm", entity_type: str, ids: Sequence[int], now: datetime) -> Mapping[str, Mapping[int, float]] | None:
    """The core's ``lead_win`` for open deals, learned once per job run (``now``)."""
    if entity_type != "deal":
        return None
    cached = _CACHE.get(crm)
    if cached is None or cached[0] != now:
        cached = (now, WinModel.learn(crm))
        _CACHE[crm] = cached
    return {MODEL: score_deals(crm, ids, cached[1])}


"""The worker's ``core.scores`` job: ask every plugin's ``crm_score`` (and the core's ``lead_win``)
for the open cards, batch by batch, and keep the latest score per card and model in ``crm_scores``."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import delete, insert, select

from .. import schema
from ..errors import PluginError
from ..hookcall import call_hook
from .tables import scores

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

BATCH = 1000


def open_cards(entity_type: str) -> Any:
    """The ids of the cards of ``entity_type`` that are scored (open, not archived), in id order."""
    table = schema.CARD_TABLES[entity_type]
    q = select(table.c.id).where(table.c.archived_at.is_(None))
    if entity_type == "lead":
        q = q.where(table.c.status.in_(("new", "in_progress")))
    if entity_type == "deal":
        q = q.where(table.c.status == "open")
    return q.order_by(table.c.id)


def recompute_scores(crm: "Crm", now: datetime) -> int:
    """Score every open card through ``crm_score`` (plugins first: a plugin's answer for a model
    overrides the core's); store the results; return how many scores."""
    fresh: dict[tuple[str, int, str], dict[str, Any]] = {}  # the first answer per card and model wins
    for entity_type in ("lead", "deal", "contact", "company"):
        with crm.engine.connect() as conn:
            ids = list(conn.scalars(open_cards(entity_type)))
        for i in range(0, len(ids), BATCH):
            batch = ids[i:i + BATCH]
            for plugin, answer in call_hook(crm.pm, "crm_score", crm=crm, entity_type=entity_type, ids=batch, now=now):
                for row in _checked(plugin, entity_type, set(batch), answer, now):
                    fresh.setdefault((entity_type, row["entity_id"], row["model"]), row)
    found = list(fresh.values())
    with crm.transaction(None) as tx:
        tx.conn.execute(delete(scores))
        for i in range(0, len(found), 5000):
            tx.conn.execute(insert(scores), found[i:i + 5000])
    return len(fresh)


def _checked(plugin: str, entity_type: str, batch: set[int], answer: Any, now: datetime) -> list[dict[str, Any]]:
    if not isinstance(answer, Mapping):
        raise PluginError(f"plugin {plugin}: crm_score must return {{model: {{id: score}}}}, got {answer!r:.60}")
    out = []
    for model, by_id in answer.items():
        if not isinstance(model, str) or not 1 <= len(model) <= 100 or not isinstance(by_id, Mapping):
            raise PluginError(f"plugin {plugin}: crm_score: model names are short texts mapping ids to scores")
        for ident, value in by_id.items():
            if ident not in batch:
                raise PluginError(f"plugin {plugin}: crm_score scored {entity_type} {ident!r}, not in the batch")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not 0 <= value <= 1:
                raise PluginError(f"plugin {plugin}: crm_score {model} of {entity_type} {ident}: {value!r} is not "
                                  "a number from 0 to 1")
            out.append({"entity_type": entity_type, "entity_id": ident, "model": model, "score": float(value),
                        "computed_at": now})
    return out

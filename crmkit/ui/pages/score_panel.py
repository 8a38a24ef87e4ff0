"""The Scores panel on card pages: each model's latest score of the card (``crm_scores``, written by the
worker's ``core.scores`` job), registered by :mod:`crmkit.core.reports.report_hooks`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ...core.reports.scores import scores_of
from ..contrib import CardPanel
from ..i18n import N_

if TYPE_CHECKING:  # pragma: no cover
    from ..context import PageContext

ENTITIES = ("deal", "lead", "contact", "company")


def scores_panel(ctx: "PageContext", entity: str, card: Any) -> Any:
    """The card's scores as percentages (no panel when it has none)."""
    assert ctx.services is not None
    found = scores_of(ctx.services, entity, card.id)
    if not found:
        return None
    names = {"lead_win": ctx._("Chance to win")}
    items = Markup("").join(Markup("<li>{}: <strong>{}%</strong></li>").format(names.get(model, model),
                                                                                round(score * 100))
                            for model, score in found.items())
    return Markup('<ul class="plain">{}</ul>').format(items)


def panel() -> CardPanel:
    return CardPanel("core.scores", N_("Scores"), scores_panel, entities=ENTITIES)

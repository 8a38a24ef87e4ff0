"""The reports' own hook implementations, registered with the core's defaults (``trylast``):
the ``lead_win`` score (:mod:`.scoring`) and the Scores panel on card pages of the web UI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..hookspecs import hookimpl
from .scoring import crm_score

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

__all__ = ["crm_register_ui_panels", "crm_score"]


@hookimpl(trylast=True)
def crm_register_ui_panels(crm: "Crm") -> list[Any]:
    from ...ui.pages.score_panel import panel  # the web UI is imported only when it starts

    return [panel()]

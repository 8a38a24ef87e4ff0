"""Hookspecs the inventory plugin publishes (``PluginInfo(hookspecs=...)``), and the record one returns.

Other plugins answer them without importing the inventory plugin's internals; the glue plugin
``inventory_installments`` implements :func:`inventory_tab_holds`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import attrs

from crmkit import Money, hookspec


@attrs.frozen
class TabHold:
    """A restriction on a member's tab: ``blocks`` refuses every charge; ``reduce_by`` lowers the
    credit limit (in the tab's currency; another currency is ignored); ``reason`` is shown to the
    bartender."""

    reason: str
    blocks: bool = False
    reduce_by: Money | None = None


@hookspec
def inventory_tab_holds(tx: Any, contact_id: int, currency: str) -> Sequence[TabHold] | TabHold | None:
    """Called inside the transaction of a sale charged to contact ``contact_id``'s tab (and when a
    tab is shown), before the limit is checked. Return holds (or ``None``); every plugin's answers
    count. Raising rolls the sale back."""


@hookspec(firstresult=True)
def inventory_member_segments(crm: Any, contact_ids: Sequence[int]) -> Mapping[int, str] | None:
    """The segment (e.g. a fitness lifecycle phase) of each of ``contact_ids`` for the report of
    sales per member segment; called outside any transaction. The first plugin answering (not
    ``None``) wins; contacts it leaves out count as ``"unsegmented"``."""

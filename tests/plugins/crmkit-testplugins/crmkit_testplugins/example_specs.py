"""Hookspecs the example plugin publishes for other plugins."""

from __future__ import annotations

from crmkit import hookspec


@hookspec
def example_deal_greeting(deal_id: int) -> str:
    """Return a greeting for a deal the example plugin audits (all results collected)."""

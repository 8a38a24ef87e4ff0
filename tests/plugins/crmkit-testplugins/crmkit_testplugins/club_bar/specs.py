"""Hookspecs the ``club_bar`` glue plugin publishes."""

from __future__ import annotations

from crmkit import hookspec


@hookspec
def club_bar_tab_opened(deal_id: int, member_no: str) -> None:
    """Called inside the transaction that opened a member's tab (``deal_id``, ``member_no``); the
    return value is ignored, raising rolls the deal's creation back."""

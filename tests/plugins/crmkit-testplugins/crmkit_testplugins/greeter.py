"""Implements a hook that the ``example`` plugin publishes (and so requires it)."""

from __future__ import annotations

import crmkit
from crmkit import hookimpl

plugin_info = crmkit.PluginInfo(name="greeter", version="0.2.0", requires=("example",))


@hookimpl
def example_deal_greeting(deal_id: int) -> str:
    return f"hello deal {deal_id}"

"""Implements a hook name that does not exist: refused at start (check_pending)."""

from typing import Any

import crmkit
from crmkit import hookimpl

plugin_info = crmkit.PluginInfo(name="misspelled_hook", version="0.1.0")


@hookimpl
def crm_on_event(tx: Any, events: Any) -> None:  # the real hook is crm_on_events
    pass

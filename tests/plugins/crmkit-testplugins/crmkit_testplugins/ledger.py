"""Records every delivery of an event (``crm_event_committed``) to a file, one line each:
``<pid> <event id>`` -- for tests of at-least-once delivery across processes.

``[settings.ledger] path = "..."`` (required), ``delay = 0.001`` (seconds per event, widens
races), ``once = true`` (act through :meth:`Tx.once`: a line only the first time).
"""

from __future__ import annotations

import os
import time
from typing import Any

import crmkit
from crmkit import hookimpl

plugin_info = crmkit.PluginInfo(name="ledger", version="0.1.0")


@hookimpl
def crm_event_committed(crm: Any, event: Any) -> None:
    settings = crm.plugin_settings("ledger")
    time.sleep(float(settings.get("delay", 0)))
    if settings.get("once"):
        with crm.transaction() as tx:
            if not tx.once("ledger", event.id):
                return
    with open(settings["path"], "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {event.id}\n")

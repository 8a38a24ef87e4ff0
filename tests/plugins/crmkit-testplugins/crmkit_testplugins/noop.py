"""Four plugins implementing the in-transaction and after-commit hooks trivially (benchmarks, tests)."""

from __future__ import annotations

from typing import Any, Sequence

import crmkit
from crmkit import hookimpl


class _Noop:
    def __init__(self, n: int) -> None:
        self.plugin_info = crmkit.PluginInfo(name=f"noop{n}", version="0.1.0")

    @hookimpl
    def crm_validate(self, tx: Any, events: Sequence[Any]) -> None:
        pass

    @hookimpl
    def crm_on_events(self, tx: Any, events: Sequence[Any]) -> None:
        pass

    @hookimpl
    def crm_event_committed(self, crm: Any, event: Any) -> None:
        pass


plugin1, plugin2, plugin3, plugin4 = (_Noop(n) for n in range(1, 5))

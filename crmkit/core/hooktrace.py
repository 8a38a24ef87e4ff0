"""Hook tracing: ``CRMKIT_TRACE_HOOKS=1`` (or ``crmkit --trace-hooks``, or ``Crm(trace_hooks=True)``)
logs every hook call of a deployment to the ``crmkit.hooks`` logger, one line per call::

    crm_register_routes installments 0.214 ms ok (1 result)
    crm_validate example,crmkit.automation 0.051 ms raised ValidationError: title: ...
    crm_on_events - 0.002 ms ok (no implementation)

with the plugin(s) that ran, the duration and the outcome. It uses pluggy's
``add_hookcall_monitoring`` on the deployment's own plugin manager; with tracing off nothing
is installed and hook calls cost what they always did. When nothing else handles the
``crmkit.hooks`` logger, the lines go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any, Mapping, Sequence

import pluggy

ENV = "CRMKIT_TRACE_HOOKS"
log = logging.getLogger("crmkit.hooks")


def wanted(flag: bool | None) -> bool:
    """``flag``, or else whether ``CRMKIT_TRACE_HOOKS`` is set to something other than ``""``/``0``."""
    if flag is not None:
        return flag
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stderr`` (a test runner or the CLI may swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_handler = _Stderr()
_handler.setFormatter(logging.Formatter("hook: %(message)s"))


def _ensure_output() -> None:
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    if not log.hasHandlers() and _handler not in log.handlers:
        log.addHandler(_handler)


def trace(pm: pluggy.PluginManager) -> None:
    """Log every hook call of ``pm`` (see the module doc)."""
    _ensure_output()
    starts = threading.local()

    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]) -> None:
        stack = getattr(starts, "stack", None)
        if stack is None:
            stack = starts.stack = []
        stack.append(time.perf_counter())

    def after(outcome: pluggy.Result[Any], hook_name: str, impls: Sequence[pluggy.HookImpl],
              kwargs: Mapping[str, object]) -> None:
        ms = (time.perf_counter() - starts.stack.pop()) * 1000
        plugins = ",".join(i.plugin_name for i in reversed(impls)) or "-"
        log.info("%s %s %.3f ms %s", hook_name, plugins, ms, _outcome(outcome, impls))

    pm.add_hookcall_monitoring(before, after)


def _outcome(outcome: pluggy.Result[Any], impls: Sequence[pluggy.HookImpl]) -> str:
    exc = outcome.exception
    if exc is not None:
        return f"raised {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    if not impls:
        return "ok (no implementation)"
    result = outcome.get_result()
    if isinstance(result, list):
        return f"ok ({len(result)} result{'s' if len(result) != 1 else ''})"
    return "ok" if result is None else "ok (1 result)"

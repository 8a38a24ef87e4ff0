"""When a command's after-commit delivery runs: ``[settings.events] delivery`` in crmkit.toml.

    [settings.events]
    delivery = "outside_writer"   # the default; or "inline", "background", "worker"

- ``outside_writer``: right after COMMIT, in the command's thread -- except for the HTTP API on
  SQLite, whose writes queue for one writer slot: there the events are delivered after the
  command leaves the slot (the next write starts meanwhile) and before the response is sent.
- ``inline``: right after COMMIT in the command's thread, inside the writer slot (as before 0.2).
- ``background``: a delivery thread of the process delivers what is pending; the command (and
  the HTTP response) does not wait for plugins.
- ``worker``: this process never delivers; ``crmkit worker`` does.

Delivery is from the event log by each subscriber's cursor, so whatever one process did not
deliver (a crash, an error) is delivered by the next delivery or the worker: never lost.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from sqlalchemy import event

from .errors import ConfigError
from .events import Event

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm

SECTION = "events"
MODES = ("outside_writer", "inline", "background", "worker")
log = logging.getLogger("crmkit.events")


def delivery_mode(settings: Any) -> str:
    """The deployment's mode (``ConfigError`` naming a bad key or value)."""
    table = settings.plugin_settings.get(SECTION, {})
    unknown = sorted(set(table) - {"delivery"})
    if unknown:
        raise ConfigError(f"crmkit.toml: [settings.{SECTION}]: unknown key {unknown[0]!r} (known: delivery)")
    mode = table.get("delivery", MODES[0])
    if mode not in MODES:
        raise ConfigError(f"crmkit.toml: [settings.{SECTION}] delivery must be one of "
                          f"{', '.join(repr(m) for m in MODES)}, got {mode!r:.60}")
    return str(mode)


class Delivery:
    """Hands each committed command's events to the dispatcher as the mode says."""

    def __init__(self, crm: "Crm") -> None:
        self.crm = crm
        self.mode = delivery_mode(crm.settings)
        if self.mode == "worker":
            crm.dispatcher.inline = False
        self._local = threading.local()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def committed(self, events: Sequence[Event]) -> None:
        """Called by the unit of work after each COMMIT with the command's events."""
        deferred = getattr(self._local, "deferred", None)
        if deferred is not None:
            deferred.extend(events)
        elif self.mode == "background":
            if self.crm.dispatcher.inline and self.crm.dispatcher.subscribers:
                self._start()
                self._wake.set()
        else:
            self.crm.dispatcher.after_commit(events)

    @property
    def defers_writes(self) -> bool:
        """Whether an SQLite writer slot should leave delivery to after it (``outside_writer``)."""
        return self.mode == "outside_writer"

    @contextmanager
    def deferred(self) -> Iterator[list[Event]]:
        """Collect the events this thread commits instead of delivering them (then :meth:`deliver`)."""
        outer = getattr(self._local, "deferred", None)
        events: list[Event] = []
        self._local.deferred = events
        try:
            yield events
        finally:
            self._local.deferred = outer

    def deliver(self, events: Sequence[Event]) -> None:
        """Deliver collected events; an error is logged, not raised (the write is committed and the
        events stay pending for the next delivery or the worker)."""
        try:
            self.crm.dispatcher.after_commit(events)
        except Exception:  # noqa: BLE001 - after the commit, never the command's failure
            log.exception("after-commit delivery failed; the events stay pending for the worker")

    # -- the background thread -------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None or self._stopped:
            return
        with _START:
            if self._thread is None:
                event.listen(self.crm.engine, "engine_disposed", self._stop)
                self._thread = threading.Thread(target=self._run, name="crmkit-delivery", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopped:
                return
            try:
                self.crm.dispatcher.deliver_pending()
            except Exception:  # noqa: BLE001 - keep delivering later; the events stay pending
                log.exception("background delivery failed; retrying with the next command")

    def _stop(self, _engine: Any = None) -> None:
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)


_START = threading.Lock()

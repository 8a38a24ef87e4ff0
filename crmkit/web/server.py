"""Running the API with uvicorn: what ``crmkit serve`` calls.

uvicorn bounds an idle keep-alive connection (``timeout_keep_alive``) and a request head that is
still incomplete after ``h11_max_incomplete_event_size`` bytes, but not a head that arrives whole
in one read (100 KiB of headers pass), nor the time a client takes to send its head: one header
byte every few seconds would hold a connection forever. :class:`HeadDeadlineProtocol` adds both
bounds; the app's middleware bounds the body (:class:`crmkit.web.middleware.BodyLimit`). The
limits come from ``[settings.server]`` (:mod:`crmkit.web.limits`).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:  # pragma: no cover
    from starlette.applications import Starlette

    from ..core.app import Crm

MAX_HEAD_BYTES = 16 * 1024
"""The request line and headers together: 431 (JSON, connection closed) beyond it."""
_HEAD_END = b"\r\n\r\n"
CONFIG_ENV = "CRMKIT_SERVE_CONFIG"
"""How ``crmkit serve --workers N`` tells each worker process its crmkit.toml."""


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline: a connection that has not sent a whole request head
    within :attr:`header_timeout` seconds of opening (or of the previous response) is closed; a
    head longer than :data:`MAX_HEAD_BYTES` gets 431 and is closed.

    While the app handles a request the deadline does not apply (the body has its own); once the
    response is sent it starts again, so a client that never finishes a body the app did not read
    (a GET with ``Content-Length``) is closed too. :func:`configure` sets the timeout of the
    process from the deployment's ``[settings.server]``.
    """

    header_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head():
            buffered = self.conn.trailing_data[0]
            pending = buffered + data if buffered else data
            if pending.find(_HEAD_END, 0, MAX_HEAD_BYTES + len(_HEAD_END)) == -1 and len(pending) > MAX_HEAD_BYTES:
                self._head_too_large()
                return
        super().data_received(data)

    def _awaiting_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _head_too_large(self) -> None:
        from .errors import error_body

        body = error_body(431, "headers_too_large", f"the request line and headers are over {MAX_HEAD_BYTES} bytes")
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
        self._disarm()
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expired(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if not self._awaiting_head():
            return  # the app has the request: armed again when its response is sent
        if self.conn.our_state is not h11.ERROR:
            try:
                self.conn.send(h11.ConnectionClosed())
            except h11.LocalProtocolError:
                pass
        self.transport.close()


def configure(crm: "Crm") -> dict[str, Any]:
    """uvicorn's options for ``crm`` (from its ``[settings.server]``), setting this process's
    :attr:`HeadDeadlineProtocol.header_timeout`."""
    from .limits import server_limits

    limits = server_limits(crm)
    HeadDeadlineProtocol.header_timeout = limits.header_timeout_seconds
    return {"http": HeadDeadlineProtocol, "timeout_keep_alive": limits.keep_alive_seconds,
            "h11_max_incomplete_event_size": MAX_HEAD_BYTES}


def worker_app() -> "Starlette":
    """The app of one ``--workers`` process (uvicorn's factory): the deployment at ``$CRMKIT_SERVE_CONFIG``."""
    from ..core.app import Crm
    from .app import create_app

    crm = Crm.from_config(os.environ[CONFIG_ENV])
    configure(crm)
    _log_setup(crm)
    return create_app(crm)


def _log_setup(crm: "Crm") -> dict[str, Any]:
    """This process's logging from ``[settings.logging]`` (crmkit's and uvicorn's loggers); uvicorn's
    options that go with it (its access log replaced by crmkit's request lines)."""
    from ..ops.config import logging_options
    from ..ops.logs import configure_logging

    options = logging_options(crm.settings)
    configure_logging(options, loggers=("crmkit", "uvicorn"))
    return {"log_config": None, "access_log": not options.requests}


def serve(config_path: str | Path = "crmkit.toml", host: str = "127.0.0.1", port: int = 8000,
          workers: int = 1, **uvicorn_options: Any) -> None:
    """Start the deployment at ``config_path`` and serve its API until interrupted.

    One event loop per process; service calls run in uvicorn's thread pool and SQLite writes
    are serialized by the core. ``workers`` > 1 starts that many processes (PostgreSQL), each
    loading the deployment. Raises ``crmkit.ConfigError`` for a bad config (``[settings.server]``
    included) before listening. ``uvicorn_options`` override the limits of ``[settings.server]``.
    """
    import uvicorn

    from ..core.app import Crm
    from .app import create_app

    import tempfile

    from .metrics import DIR_ENV

    crm = Crm.from_config(config_path)
    try:
        options = {**configure(crm), **_log_setup(crm), "log_level": "info", **uvicorn_options}
        if workers > 1:
            crm.close()  # each worker opens its own
            os.environ[CONFIG_ENV] = str(Path(config_path).resolve())
            with tempfile.TemporaryDirectory(prefix="crmkit-metrics-") as shared:
                os.environ.setdefault(DIR_ENV, shared)  # /metrics on any process adds up all of them
                uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, host=host, port=port, **options)
        else:
            uvicorn.run(create_app(crm), host=host, port=port, **options)
    finally:
        crm.close()

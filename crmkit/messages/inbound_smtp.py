"""The inbound SMTP listener: mail sent to the CRM's address lands in ``crm.messages.inbound``.

Point an MX (or a forwarding rule) at it: ``crmkit messages listen-smtp --port 2525``. A message is
acknowledged (``250``) only after it is committed; a failure answers ``451`` so the sending server
retries -- nothing is lost, and a retry of a committed message is recognised by its ``Message-ID``.
Needs ``aiosmtpd`` (``pip install crmkit[inbound]``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from crmkit import CrmError

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

log = logging.getLogger("crmkit.messages")


class InboundSmtpHandler:
    """An aiosmtpd handler handing each message to :meth:`InboundService.receive_email`."""

    def __init__(self, crm: "Crm") -> None:
        self.crm = crm

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or b""
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.crm.messages.inbound.receive_email, raw)
        except CrmError as exc:  # not a message we can take (no sender...): refuse it for good
            return f"550 5.6.0 {exc.message[:200]}"
        except Exception:  # the database is away: the sender keeps it and retries
            log.exception("inbound e-mail not taken")
            return "451 4.3.0 not taken now, try again later"
        return "250 OK"


def start_listener(crm: "Crm", host: str = "127.0.0.1", port: int = 2525) -> Any:
    """Start the listener in a thread; returns the aiosmtpd ``Controller`` (``.stop()`` it)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover - an optional dependency
        raise CrmError("the inbound SMTP listener needs aiosmtpd: pip install 'crmkit[inbound]'") from None
    controller = Controller(InboundSmtpHandler(crm), hostname=host, port=port)
    controller.start()
    return controller

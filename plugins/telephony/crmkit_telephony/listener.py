"""The Asterisk listener: AMI messages -> call tracker -> ingestion."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import config
from .ami import AmiClient, Message
from .ingest import ingest
from .providers.asterisk import tracker_for

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm


def client_for(crm: "Crm") -> AmiClient:
    """An AMI client for the deployment's ``[settings.telephony.asterisk]`` that logs every call."""
    cfg = config.load(crm)
    opts = cfg.provider_settings("asterisk")
    tracker = tracker_for(crm, cfg)

    def handle(message: Message) -> None:
        for event in tracker.feed(message):
            ingest(crm, event)

    return AmiClient(str(opts.get("host", "127.0.0.1")), int(opts.get("port", 5038)), str(opts.get("username", "")),
                     str(opts.get("secret", "")), handle, backoff=float(opts.get("backoff_seconds", 1.0)),
                     max_backoff=float(opts.get("max_backoff_seconds", 30.0)))


def listen(crm: "Crm", stop: threading.Event) -> None:
    """Run the listener until ``stop`` is set (reconnecting as needed)."""
    client_for(crm).run(stop)

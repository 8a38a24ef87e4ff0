"""crmkit-telephony: calls become leads, call history and call-back tasks.

Enable with ``plugins = ["telephony"]`` in crmkit.toml; see README.md for providers.
"""

from __future__ import annotations

from .events import CallEvent, CallRecord

__all__ = ["CallEvent", "CallRecord"]

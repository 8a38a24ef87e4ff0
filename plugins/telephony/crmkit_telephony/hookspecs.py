"""Hooks the telephony plugin publishes. Plugins implementing them declare
``PluginInfo(..., requires=("telephony",))``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from crmkit import hookspec

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm, Tx

    from .events import CallRecord
    from .providers import Provider


@hookspec
def telephony_register_providers(crm: "Crm") -> "Iterable[Provider] | None":
    """Declare provider adapters (objects with ``name``, see :class:`crmkit_telephony.providers.Provider`).

    :return: providers; a name declared twice fails at start. Called once per ``Crm``, all collected.
    """


@hookspec
def telephony_call_finished(tx: "Tx", call: "CallRecord") -> Any:
    """A call ended and is logged with its caller's cards (contact, deal, lead).

    :param tx: the ingestion's open transaction (write your rows with ``tx.conn``).
    :param call: the call as logged.

    Called once per call, inside the transaction that records the first event after which the call
    has both ended and a known caller (events arrive out of order: the end may come before the
    ringing that says who calls); a duplicate or late event never calls it again. A late event may
    still add facts afterwards (an ``answered`` delivered after ``ended`` turns a ``missed`` call
    into ``answered``; a late recording): read the call log for the final state. Raising rolls the
    ingestion back (the provider gets an error and retries). The return value is ignored.
    """

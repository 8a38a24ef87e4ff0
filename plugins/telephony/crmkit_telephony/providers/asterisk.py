"""Asterisk through AMI: the documented events of a call become call events.

A call is the set of channels sharing a ``Linkedid`` (the ``Uniqueid`` of its first
channel). ``Newchannel`` of that first channel starts it; ``DialBegin``/``DialEnd``
say which extension rang and whether it answered (``DialStatus: ANSWER``); the
first channel's ``Hangup`` (with ``Cause``) ends it; ``VarSet`` of
``MIXMONITOR_FILENAME`` names the recording when MixMonitor is used.

Each message is read on its own as far as possible (a dialled channel is an extension when its
name is internal, not because an earlier message said the call was incoming), so the events a
call gets do not depend on the order its messages arrive in: a ``DialBegin``/``DialEnd`` after
the ``Hangup`` still reports the extension and the dial result (ingestion merges them, see
:mod:`crmkit_telephony.merge`).
"""

from __future__ import annotations

import logging
import posixpath
import re
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

import attrs

from ..ami import AmiError, Connection, Message, UnsafeValueError
from ..events import CallEvent
from ..merge import PRECEDENCE
from . import NotSupportedError, Originated, ProviderUnavailableError, configured_extension, e164, unreachable

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

    from ..config import TelephonySettings

log = logging.getLogger("crmkit_telephony.asterisk")

DIAL_RESULTS = {"ANSWER": "answered", "BUSY": "busy", "NOANSWER": "missed", "CANCEL": "missed",
                "CHANUNAVAIL": "failed", "CONGESTION": "failed"}
CAUSE_RESULTS = {17: "busy", 21: "busy", 34: "failed", 38: "failed", 41: "failed", 42: "failed"}
ENDED_KEPT = 1000
"""How many ended calls the tracker remembers, for their late ``DialBegin``/``DialEnd``/duplicate ``Hangup``."""
_CHANNEL = re.compile(r"^[A-Za-z0-9]+/([^-@;]+)")


@attrs.define
class _Call:
    extension: str | None = None  # outbound: the caller's extension; inbound: who answered
    dialled: set[str] = attrs.field(factory=set)
    answered: bool = False
    results: set[str] = attrs.field(factory=set)  # the results of dials nobody answered


def _strongest(results: set[str]) -> str | None:
    return max(results, key=lambda r: PRECEDENCE[r]) if results else None


class CallTracker:
    """Turns AMI messages into call events; keeps what it needs of each open call in memory.

    :param is_internal: whether a caller id number is one of our extensions (outbound call).
    :param recording_url: maps MixMonitor's file name to the URL users open.
    """

    def __init__(self, is_internal: Callable[[str], bool], recording_url: Callable[[str], str],
                 now: Callable[[], datetime]) -> None:
        self.is_internal, self.recording_url, self.now = is_internal, recording_url, now
        self.calls: dict[str, _Call] = {}
        self.ended: OrderedDict[str, CallEvent] = OrderedDict()

    def feed(self, m: Message) -> list[CallEvent]:
        linked = m.get("Linkedid")
        kind = m.get("Event")
        if not linked or kind not in ("Newchannel", "DialBegin", "DialEnd", "Hangup", "VarSet"):
            return []
        when = self._when(m)
        first = m.get("Uniqueid") == linked
        base: dict[str, Any] = {"provider": "asterisk", "call_id": linked, "occurred_at": when}
        ended = self.ended.get(linked)
        if kind == "Newchannel":
            return self._started(m, linked, base) if first else []
        if kind == "VarSet":
            if m.get("Variable") == "MIXMONITOR_FILENAME" and m.get("Value"):
                return [CallEvent(status="info", recording_url=self.recording_url(m["Value"]), **base)]
            return []
        if kind == "Hangup":
            return self._hangup(m, linked, base) if first else []
        dest = _extension(m.get("DestChannel", "")) or m.get("DestCallerIDNum") or ""
        agent = dest if dest and self.is_internal(dest) else None  # else the trunk of an outgoing call
        if kind == "DialBegin":
            if agent is None:
                return []
            if ended is not None:
                return [CallEvent(status="info", extension=agent, **base)]
            self.calls.setdefault(linked, _Call()).dialled.add(agent)
            return []
        status = m.get("DialStatus", "")
        call = None if ended is not None else self.calls.setdefault(linked, _Call())
        if status == "ANSWER":
            answer = CallEvent(status="answered", extension=agent, **base)
            if call is not None:
                call.answered = True
                call.extension = agent or call.extension
                return [answer]
            assert ended is not None  # answered after the Hangup: the call's result is answered after all
            late = [] if ended.result == "answered" else [attrs.evolve(ended, result="answered", extension=agent, hangup_cause=None)]
            return [answer, *late]
        if status in DIAL_RESULTS:
            if call is not None:
                call.results.add(DIAL_RESULTS[status])
                return []
            assert ended is not None
            return [attrs.evolve(ended, result=DIAL_RESULTS[status], extension=None, hangup_cause=None)]
        return []

    def _started(self, m: Message, linked: str, base: dict[str, Any]) -> list[CallEvent]:
        caller, exten = m.get("CallerIDNum", ""), m.get("Exten", "")
        if self.is_internal(caller):
            if linked not in self.ended:
                self.calls.setdefault(linked, _Call()).extension = caller
            return [CallEvent(status="ringing", direction="outbound", from_number=caller, to_number=exten,
                              extension=caller, **base)]
        return [CallEvent(status="ringing", direction="inbound", from_number=caller or None,
                          to_number=exten or None, **base)]

    def _hangup(self, m: Message, linked: str, base: dict[str, Any]) -> list[CallEvent]:
        if linked in self.ended:  # the same Hangup again: the same event
            return [self.ended[linked]]
        call = self.calls.pop(linked, None) or _Call()
        cause = m.get("Cause", "")
        text = f"{cause} {m.get('Cause-txt', '')}".strip() or None
        known = cause.isascii() and cause.isdigit() and len(cause) <= 4  # "²".isdigit() is True
        by_cause = CAUSE_RESULTS.get(int(cause) if known else 0)
        result = "answered" if call.answered else _strongest(call.results | ({by_cause} if by_cause else set()))
        extension = call.extension or (min(call.dialled) if call.dialled else None)
        event = CallEvent(status="ended", result=result, extension=extension, hangup_cause=text, **base)
        self.ended[linked] = event
        while len(self.ended) > ENDED_KEPT:
            self.ended.popitem(last=False)
        return [event]

    def _when(self, m: Message) -> datetime:
        """The event's ``Timestamp`` (manager.conf ``timestampevents = yes``), else now."""
        try:
            return datetime.fromtimestamp(float(m["Timestamp"]), timezone.utc)
        except (KeyError, ValueError, OverflowError):
            return self.now()


def _extension(channel: str) -> str | None:
    """``PJSIP/101-0000002a`` -> ``101``."""
    match = _CHANNEL.match(channel)
    return match.group(1) if match else None


def tracker_for(crm: "Crm", cfg: "TelephonySettings") -> CallTracker:
    opts = cfg.provider_settings("asterisk")
    max_digits = int(opts.get("internal_max_digits", 4))
    base = str(opts.get("recording_url_base", ""))

    def internal(number: str) -> bool:
        return number in cfg.extensions or (number.isascii() and number.isdigit() and 0 < len(number) <= max_digits)

    def url(filename: str) -> str:
        return base.rstrip("/") + "/" + posixpath.basename(filename) if base else filename

    return CallTracker(internal, url, crm.clock.now)


class AsteriskProvider:
    """Events come from the AMI listener (``crmkit telephony ami``); click-to-call is an AMI ``Originate``."""

    name = "asterisk"

    def parse_webhook(self, crm: "Crm", cfg: "TelephonySettings", request: Any) -> list[CallEvent]:
        raise NotSupportedError("Asterisk reports calls over AMI (crmkit telephony ami), not by webhook")

    def originate(self, crm: "Crm", cfg: "TelephonySettings", extension: str, number: str) -> Originated:
        """Ring ``extension`` (``channel`` template, default ``PJSIP/{extension}``), then dial ``number``
        in ``context``. ``ChannelId`` fixes the call's Uniqueid, so its AMI events find the logged call."""
        opts = cfg.provider_settings(self.name)
        if not opts.get("host") or not opts.get("username"):
            raise NotSupportedError("click-to-call needs settings.telephony.asterisk host, port, username, secret")
        extension, number = configured_extension(cfg, extension), e164(number)
        channel_id = f"crmkit-{uuid.uuid4().hex[:16]}"
        fields = {
            "Channel": str(opts.get("channel", "PJSIP/{extension}")).format(extension=extension),
            "Exten": number, "Context": str(opts.get("context", "from-internal")), "Priority": "1",
            "CallerID": f"<{extension}>", "Async": "true", "ChannelId": channel_id,
        }
        conn: Connection | None = None
        try:
            conn = Connection(str(opts["host"]), int(opts.get("port", 5038)), timeout=float(opts.get("timeout", 10)))
            conn.login(str(opts["username"]), str(opts.get("secret", "")), events="off")
            answer = conn.action("Originate", fields)
            try:
                conn.action("Logoff", timeout=2.0)
            except OSError:  # Asterisk may close first: the call is placed either way
                pass
        except UnsafeValueError as exc:  # the AMI writer refused a line break: nothing was sent
            log.error("Asterisk click-to-call not sent: %s", exc)
            raise NotSupportedError("click-to-call: a value for Asterisk holds a control character; nothing was sent"
                                    ) from None
        except AmiError as exc:  # the PBX refused our login
            log.error("Asterisk at %s refused the CRM: %s", opts["host"], exc)
            raise ProviderUnavailableError("the telephony provider refused the CRM's login") from None
        except OSError as exc:
            raise unreachable(f"asterisk at {opts['host']}:{opts.get('port', 5038)}", exc) from None
        finally:
            if conn is not None:
                conn.close()
        if answer.get("Response") != "Success":
            log.warning("Asterisk refused a click-to-call: %s", answer.get("Message", ""))
            raise NotSupportedError("Asterisk refused the call")
        return Originated(channel_id)

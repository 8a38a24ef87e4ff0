"""Asterisk through AMI: the documented events of a call become call events.

A call is the set of channels sharing a ``Linkedid`` (the ``Uniqueid`` of its first
channel). ``Newchannel`` of that first channel starts it; ``DialBegin``/``DialEnd``
say which extension rang and whether it answered (``DialStatus: ANSWER``); the
first channel's ``Hangup`` (with ``Cause``) ends it; ``VarSet`` of
``MIXMONITOR_FILENAME`` names the recording when MixMonitor is used.
"""

from __future__ import annotations

import logging
import posixpath
import re
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

import attrs

from ..ami import AmiError, Connection, Message, UnsafeValueError
from ..events import CallEvent
from . import NotSupportedError, Originated, ProviderUnavailableError, configured_extension, e164, unreachable

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

    from ..config import TelephonySettings

log = logging.getLogger("crmkit_telephony.asterisk")

DIAL_RESULTS = {"ANSWER": "answered", "BUSY": "busy", "NOANSWER": "missed", "CANCEL": "missed",
                "CHANUNAVAIL": "failed", "CONGESTION": "failed"}
CAUSE_RESULTS = {17: "busy", 21: "busy", 34: "failed", 38: "failed", 41: "failed", 42: "failed"}
_CHANNEL = re.compile(r"^[A-Za-z0-9]+/([^-@;]+)")


@attrs.define
class _Call:
    direction: str
    extension: str | None = None
    answered: bool = False
    dial_status: str | None = None


class CallTracker:
    """Turns AMI messages into call events; keeps what it needs of each open call in memory.

    :param is_internal: whether a caller id number is one of our extensions (outbound call).
    :param recording_url: maps MixMonitor's file name to the URL users open.
    """

    def __init__(self, is_internal: Callable[[str], bool], recording_url: Callable[[str], str],
                 now: Callable[[], datetime]) -> None:
        self.is_internal, self.recording_url, self.now = is_internal, recording_url, now
        self.calls: dict[str, _Call] = {}

    def feed(self, m: Message) -> list[CallEvent]:
        linked = m.get("Linkedid")
        kind = m.get("Event")
        if not linked or kind not in ("Newchannel", "DialBegin", "DialEnd", "Hangup", "VarSet"):
            return []
        when = self._when(m)
        first = m.get("Uniqueid") == linked
        base: dict[str, Any] = {"provider": "asterisk", "call_id": linked, "occurred_at": when}
        if kind == "Newchannel" and first:
            caller, exten = m.get("CallerIDNum", ""), m.get("Exten", "")
            if self.is_internal(caller):
                self.calls[linked] = _Call("outbound", caller)
                return [CallEvent(status="ringing", direction="outbound", from_number=caller, to_number=exten,
                                  extension=caller, **base)]
            self.calls[linked] = _Call("inbound")
            return [CallEvent(status="ringing", direction="inbound", from_number=caller or None,
                              to_number=exten or None, **base)]
        call = self.calls.setdefault(linked, _Call("inbound"))
        if kind == "DialBegin":
            if call.direction == "inbound":
                call.extension = _extension(m.get("DestChannel", "")) or m.get("DestCallerIDNum") or None
            return []
        if kind == "DialEnd":
            call.dial_status = m.get("DialStatus")
            if call.dial_status == "ANSWER" and not call.answered:
                call.answered = True
                if call.direction == "inbound":
                    call.extension = _extension(m.get("DestChannel", "")) or call.extension
                return [CallEvent(status="answered", extension=call.extension, **base)]
            return []
        if kind == "VarSet":
            if m.get("Variable") == "MIXMONITOR_FILENAME" and m.get("Value"):
                return [CallEvent(status="info", recording_url=self.recording_url(m["Value"]), **base)]
            return []
        if kind == "Hangup" and first:
            del self.calls[linked]
            cause = m.get("Cause", "")
            text = f"{cause} {m.get('Cause-txt', '')}".strip() or None
            if call.answered:
                result = "answered"
            elif call.dial_status in DIAL_RESULTS:
                result = DIAL_RESULTS[call.dial_status]
            else:
                known = cause.isascii() and cause.isdigit() and len(cause) <= 4  # "²".isdigit() is True
                result = CAUSE_RESULTS.get(int(cause) if known else 0, "missed")
            return [CallEvent(status="ended", result=result, extension=call.extension, hangup_cause=text, **base)]
        return []

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

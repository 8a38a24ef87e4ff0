"""The plugin's settings: ``[settings.telephony]`` in crmkit.toml."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

import attrs

from crmkit import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

NAME = "telephony"
_KEYS = frozenset({"region", "provider", "callback_minutes", "callback_task_rule", "extensions", "round_robin",
                   "generic", "twilio", "asterisk", "sms", "missed_call_sms", "missed_call_sms_channel"})
"""``sms``, ``missed_call_sms`` and ``missed_call_sms_channel`` are read by :mod:`crmkit_telephony.sms`."""
AUTO = "auto"
_STAGE_RULE = re.compile(r"stage:[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*#[0-9]{1,3}")
EXTENSION = re.compile(r"[A-Za-z0-9_.:@+*#-]{1,80}")
"""What an extension (or Twilio agent) may look like: no spaces, no control characters, nothing a PBX reads as syntax."""
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@attrs.frozen
class TelephonySettings:
    """What a deployment configures for telephony.

    :param region: default region for numbers without a country code (default: the deployment's).
    :param provider: the adapter click-to-call uses.
    :param callback_minutes: a missed call's call-back task is due this many minutes later.
    :param callback_task_rule: the stage task rule (``stage:<pipeline>.<stage>#<n>``, as tasks show it in
        ``rule``) whose open task on the caller's lead is that lead's call-back task, used instead of a
        second one; ``auto``: the first task rule of the lead pipeline's first stage; ``""``: none.
    :param extensions: extension (or agent id) -> user e-mail or id; these are the telephony users, and
        the only extensions click-to-call rings (a user their own; an admin any of them).
    :param round_robin: give callers nobody owns to the telephony users in turn.
    """

    region: str
    provider: str | None = None
    callback_minutes: int = 15
    callback_task_rule: str = AUTO
    extensions: Mapping[str, str | int] = attrs.field(factory=dict)
    round_robin: bool = True
    providers: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def provider_settings(self, name: str) -> Mapping[str, Any]:
        return self.providers.get(name, {})


def load(crm: "Crm") -> TelephonySettings:
    """``[settings.telephony]``, parsed once per ``Crm`` (a :class:`~crmkit.ConfigError` names the bad key)."""
    state = crm.plugin_state(NAME)
    cached = state.get("settings")
    if not isinstance(cached, TelephonySettings):
        cached = state["settings"] = parse(crm.plugin_settings(NAME) or {}, crm.settings.default_region)
    return cached


def parse(raw: Mapping[str, Any], default_region: str) -> TelephonySettings:
    """Check and parse a ``[settings.telephony]`` table."""
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"settings.telephony: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    minutes = raw.get("callback_minutes", 15)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 10080:
        raise ConfigError("settings.telephony.callback_minutes: a whole number of minutes from 0 to 10080")
    rule = raw.get("callback_task_rule", AUTO)
    if not isinstance(rule, str) or not (rule in (AUTO, "") or _STAGE_RULE.fullmatch(rule)):
        raise ConfigError("settings.telephony.callback_task_rule: \"auto\", \"\" or a stage task rule as tasks show "
                          "it, e.g. \"stage:leads.new#0\"")
    extensions = _extensions(raw.get("extensions", {}))
    providers = {k: raw[k] for k in ("generic", "twilio", "asterisk") if k in raw}
    for key, value in providers.items():
        if not isinstance(value, Mapping):
            raise ConfigError(f"settings.telephony.{key}: expected a table")
        for name, item in value.items():
            if isinstance(item, str) and _CONTROL.search(item):
                raise ConfigError(f"settings.telephony.{key}.{name}: control characters (line breaks) are not allowed")
    provider = raw.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise ConfigError("settings.telephony.provider: the name of a provider, e.g. \"twilio\"")
    if "twilio" in providers or provider == "twilio":
        _twilio(providers.get("twilio", {}))
    _generic(providers.get("generic", {}))
    _asterisk(providers.get("asterisk", {}))
    return TelephonySettings(
        region=str(raw.get("region") or default_region), provider=provider,
        callback_minutes=minutes, callback_task_rule=rule, extensions=extensions,
        round_robin=bool(raw.get("round_robin", True)), providers=providers,
    )


def _extensions(value: Any) -> dict[str, str | int]:
    shape = "settings.telephony.extensions: a table of extension = user e-mail (or id)"
    if not isinstance(value, Mapping):
        raise ConfigError(shape)
    out: dict[str, str | int] = {}
    for key, ref in value.items():
        if not EXTENSION.fullmatch(str(key)):
            raise ConfigError(f"settings.telephony.extensions: {str(key)[:40]!r} is not an extension "
                              "(1 to 80 of A-Z a-z 0-9 _ . : @ + * # -)")
        if isinstance(ref, bool) or not isinstance(ref, (str, int)) or (isinstance(ref, str) and not ref.strip()):
            raise ConfigError(shape)
        out[str(key)] = ref
    return out


def valid_url(value: Any) -> bool:
    """An absolute http(s) URL with a host, without spaces or control characters."""
    if not isinstance(value, str) or not value.isascii() or any(c.isspace() for c in value) or _CONTROL.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _twilio(opts: Mapping[str, Any]) -> None:
    """Twilio signs the URL it calls and no timestamp: the public URL must come from here, never from the
    request's Host header (a request signed for another deployment would replay here)."""
    if not valid_url(opts.get("webhook_url")):
        raise ConfigError("settings.telephony.twilio.webhook_url: required with Twilio -- the public URL of "
                          "/api/v1/telephony/webhooks/twilio exactly as configured at Twilio (https://...)")


def _generic(opts: Mapping[str, Any]) -> None:
    age = opts.get("max_age_seconds", 300)
    if isinstance(age, bool) or not isinstance(age, int) or not 1 <= age <= 86400:
        raise ConfigError("settings.telephony.generic.max_age_seconds: whole seconds from 1 to 86400")
    if "originate_url" in opts and not valid_url(opts["originate_url"]):
        raise ConfigError("settings.telephony.generic.originate_url: an http(s) URL")


def _asterisk(opts: Mapping[str, Any]) -> None:
    port = opts.get("port", 5038)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError("settings.telephony.asterisk.port: a TCP port, 1 to 65535")
    for key in ("timeout", "backoff_seconds", "max_backoff_seconds"):
        value = opts.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
            raise ConfigError(f"settings.telephony.asterisk.{key}: seconds, more than 0")
    for key in ("host", "username", "secret", "context", "recording_url_base"):
        if key in opts and not isinstance(opts[key], str):
            raise ConfigError(f"settings.telephony.asterisk.{key}: expected text")
    digits = opts.get("internal_max_digits", 4)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 15:
        raise ConfigError("settings.telephony.asterisk.internal_max_digits: a whole number from 0 to 15")
    channel = opts.get("channel", "PJSIP/{extension}")
    try:
        ok = isinstance(channel, str) and "{extension}" in channel and bool(channel.format(extension="101"))
    except (KeyError, IndexError, ValueError):
        ok = False
    if not ok:
        raise ConfigError("settings.telephony.asterisk.channel: a channel template with {extension}, "
                          "e.g. \"PJSIP/{extension}\"")

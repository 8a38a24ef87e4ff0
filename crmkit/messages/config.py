"""``[settings.messages]`` of crmkit.toml: the channels' servers and the sending policy.

Read once per ``Crm`` (:func:`load`); a wrong key or value is a :class:`~crmkit.ConfigError` naming it.
"""

from __future__ import annotations

import re
import ssl
from datetime import time
from typing import TYPE_CHECKING, Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmkit import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

SECTION = "messages"
STATE = "crmkit.messages"
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@attrs.frozen
class EmailSettings:
    """``[settings.messages.email]``: the SMTP server mail leaves through."""

    host: str
    sender: str
    port: int = 587
    security: str = "starttls"  # starttls, ssl or none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None
    """PEM certificates the server's certificate must chain to (default: the system's trust store)."""


@attrs.frozen
class SmsGatewaySettings:
    """``[settings.messages.sms]``: the generic HTTP SMS gateway (request format in docs/messages.md)."""

    url: str
    secret: str
    sender: str = ""
    timeout: float = 15.0


@attrs.frozen
class TelegramSettings:
    """``[settings.messages.telegram]``: a Telegram bot (sendMessage out, a webhook in)."""

    token: str
    api_url: str = "https://api.telegram.org"
    webhook_secret: str = ""
    timeout: float = 15.0


@attrs.frozen
class MessagesSettings:
    secret: str | None = None
    public_url: str = "http://localhost:8000"
    timezone: str | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    marketing_cap: int = 0
    """At most this many marketing messages per contact and kind within ``cap_days`` (0: no cap)."""
    cap_days: int = 7
    max_attempts: int = 8
    retry_seconds: int = 60
    """The first retry's delay; doubled each time, at most an hour."""
    email: EmailSettings | None = None
    sms: SmsGatewaySettings | None = None
    telegram: TelegramSettings | None = None
    inbound_lead_source: str = "email"
    task_reminders: bool = True
    """E-mail the assignee when a task is due soon (``remind_before_minutes``) and when it is overdue."""
    remind_before_minutes: int = 60
    digest: bool = False
    """A daily e-mail to each user with open tasks due today or overdue, at ``digest_hour`` local time."""
    digest_hour: int = 8


def load(crm: "Crm") -> MessagesSettings:
    """The deployment's messaging settings, parsed once."""
    state = crm.plugin_state(STATE)
    found = state.get("settings")
    if found is None:
        found = state["settings"] = parse(crm.plugin_settings(SECTION) or {})
    return found  # type: ignore[no-any-return]


def _where(key: str) -> str:
    return f"crmkit.toml [settings.{SECTION}] {key}"


def _str(table: Mapping[str, Any], key: str, prefix: str, *, required: bool = False, default: Any = None) -> Any:
    value = table.get(key, default)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{_where(prefix + key)}: expected a non-empty text")
    return value


def _int(table: Mapping[str, Any], key: str, prefix: str, default: int, lo: int, hi: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{_where(prefix + key)}: expected a whole number from {lo} to {hi}")
    return value


def _num(table: Mapping[str, Any], key: str, prefix: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 600:
        raise ConfigError(f"{_where(prefix + key)}: expected seconds, more than 0 and at most 600")
    return float(value)


def _known(table: Mapping[str, Any], keys: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise ConfigError(f"{_where(prefix + unknown[0])}: unknown key (known: {', '.join(sorted(keys))})")


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(f"{_where(key)}: expected a table ([settings.{SECTION}.{key}])")
    return value


def _url(value: str, key: str) -> str:
    if not re.match(r"https?://[^\s/]+", value):
        raise ConfigError(f"{_where(key)}: expected an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def parse(raw: Mapping[str, Any]) -> MessagesSettings:
    """Check and parse a ``[settings.messages]`` table."""
    _known(raw, {"secret", "public_url", "timezone", "quiet_hours", "marketing_cap", "cap_days", "max_attempts",
                 "retry_seconds", "email", "sms", "telegram", "inbound_lead_source", "task_reminders",
                 "remind_before_minutes", "digest", "digest_hour"}, "")
    for flag in ("task_reminders", "digest"):
        if not isinstance(raw.get(flag, False), bool):
            raise ConfigError(f"{_where(flag)}: true or false")
    secret = _str(raw, "secret", "")
    if secret is not None and len(secret) < 16:
        raise ConfigError(f"{_where('secret')}: at least 16 characters")
    tz = _str(raw, "timezone", "")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{_where('timezone')}: {tz!r} is not an IANA time zone such as Europe/Berlin") from None
    quiet_start = quiet_end = None
    quiet = raw.get("quiet_hours")
    if quiet is not None:
        parts = quiet.split("-") if isinstance(quiet, str) else []
        if len(parts) != 2 or not all(_HHMM.fullmatch(p.strip()) for p in parts):
            raise ConfigError(f"{_where('quiet_hours')}: expected \"HH:MM-HH:MM\" such as \"21:00-08:00\"")
        quiet_start, quiet_end = (time.fromisoformat(p.strip()) for p in parts)
    return MessagesSettings(
        secret=secret, public_url=_url(_str(raw, "public_url", "", default="http://localhost:8000"), "public_url"),
        timezone=tz, quiet_start=quiet_start, quiet_end=quiet_end,
        marketing_cap=_int(raw, "marketing_cap", "", 0, 0, 1000), cap_days=_int(raw, "cap_days", "", 7, 1, 365),
        max_attempts=_int(raw, "max_attempts", "", 8, 1, 50), retry_seconds=_int(raw, "retry_seconds", "", 60, 1, 86400),
        email=_email(_table(raw, "email")), sms=_sms(_table(raw, "sms")), telegram=_telegram(_table(raw, "telegram")),
        inbound_lead_source=_str(raw, "inbound_lead_source", "", default="email"),
        task_reminders=raw.get("task_reminders", True), digest=raw.get("digest", False),
        remind_before_minutes=_int(raw, "remind_before_minutes", "", 60, 0, 10080),
        digest_hour=_int(raw, "digest_hour", "", 8, 0, 23),
    )


def _email(t: Mapping[str, Any] | None) -> EmailSettings | None:
    if t is None:
        return None
    p = "email."
    _known(t, {"host", "port", "security", "username", "password", "from", "timeout", "ca_file"}, p)
    security = t.get("security", "starttls")
    if security not in ("starttls", "ssl", "none"):
        raise ConfigError(f"{_where(p + 'security')}: one of starttls, ssl, none")
    username, password = _str(t, "username", p), _str(t, "password", p)
    if (username is None) != (password is None):
        raise ConfigError(f"{_where(p + 'password')}: give both username and password, or neither")
    sender = _str(t, "from", p, required=True)
    if "@" not in sender:
        raise ConfigError(f"{_where(p + 'from')}: expected an address such as \"Windows Ltd <crm@windows.example>\"")
    ca_file = _str(t, "ca_file", p)
    if ca_file is not None:
        if security == "none":
            raise ConfigError(f"{_where(p + 'ca_file')}: only with security = \"starttls\" or \"ssl\"")
        try:
            ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{_where(p + 'ca_file')}: cannot read PEM certificates from {ca_file!r}: {exc}") from None
    return EmailSettings(host=_str(t, "host", p, required=True), sender=sender,
                         port=_int(t, "port", p, 465 if security == "ssl" else 587, 1, 65535), security=security,
                         username=username, password=password, timeout=_num(t, "timeout", p, 30.0), ca_file=ca_file)


def _sms(t: Mapping[str, Any] | None) -> SmsGatewaySettings | None:
    if t is None:
        return None
    p = "sms."
    _known(t, {"url", "secret", "sender", "timeout"}, p)
    secret = _str(t, "secret", p, required=True)
    if len(secret) < 16:
        raise ConfigError(f"{_where(p + 'secret')}: at least 16 characters")
    return SmsGatewaySettings(url=_url(_str(t, "url", p, required=True), p + "url"), secret=secret,
                              sender=_str(t, "sender", p, default="") or "", timeout=_num(t, "timeout", p, 15.0))


def _telegram(t: Mapping[str, Any] | None) -> TelegramSettings | None:
    if t is None:
        return None
    p = "telegram."
    _known(t, {"token", "api_url", "webhook_secret", "timeout"}, p)
    return TelegramSettings(token=_str(t, "token", p, required=True),
                            api_url=_url(_str(t, "api_url", p, default="https://api.telegram.org"), p + "api_url"),
                            webhook_secret=_str(t, "webhook_secret", p, default="") or "",
                            timeout=_num(t, "timeout", p, 15.0))

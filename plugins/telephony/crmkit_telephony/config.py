"""The plugin's settings: ``[settings.telephony]`` in crmkit.toml."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import attrs

from crmkit import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

NAME = "telephony"
_KEYS = frozenset({"region", "provider", "callback_minutes", "extensions", "round_robin",
                   "generic", "twilio", "asterisk"})


@attrs.frozen
class TelephonySettings:
    """What a deployment configures for telephony.

    :param region: default region for numbers without a country code (default: the deployment's).
    :param provider: the adapter click-to-call uses.
    :param callback_minutes: a missed call's call-back task is due this many minutes later.
    :param extensions: extension (or agent id) -> user e-mail or id; these are the telephony users.
    :param round_robin: give callers nobody owns to the telephony users in turn.
    """

    region: str
    provider: str | None = None
    callback_minutes: int = 15
    extensions: Mapping[str, str | int] = attrs.field(factory=dict)
    round_robin: bool = True
    providers: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def provider_settings(self, name: str) -> Mapping[str, Any]:
        return self.providers.get(name, {})


def load(crm: "Crm") -> TelephonySettings:
    """Parse ``[settings.telephony]`` (a :class:`~crmkit.ConfigError` names the bad key)."""
    raw: Mapping[str, Any] = crm.plugin_settings(NAME) or {}
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"settings.telephony: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    minutes = raw.get("callback_minutes", 15)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 10080:
        raise ConfigError("settings.telephony.callback_minutes: a whole number of minutes from 0 to 10080")
    extensions = raw.get("extensions", {})
    if not isinstance(extensions, Mapping) or not all(isinstance(v, (str, int)) for v in extensions.values()):
        raise ConfigError("settings.telephony.extensions: a table of extension = user e-mail (or id)")
    providers = {k: raw[k] for k in ("generic", "twilio", "asterisk") if k in raw}
    for key, value in providers.items():
        if not isinstance(value, Mapping):
            raise ConfigError(f"settings.telephony.{key}: expected a table")
    provider = raw.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise ConfigError("settings.telephony.provider: the name of a provider, e.g. \"twilio\"")
    return TelephonySettings(
        region=str(raw.get("region") or crm.settings.default_region), provider=provider,
        callback_minutes=minutes, extensions={str(k): v for k, v in extensions.items()},
        round_robin=bool(raw.get("round_robin", True)), providers=providers,
    )

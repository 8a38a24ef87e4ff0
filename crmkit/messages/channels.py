"""The deployment's message channels: every ``crm_register_channels`` result, checked once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from crmkit import ConfigError, ValidationError
from crmkit.core.hookcall import call_hook

from .config import STATE
from .records import KINDS, Channel

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

DEFAULT_FOR_KIND = {"email": "email", "phone": "sms", "telegram": "telegram"}


def channels(crm: "Crm") -> Mapping[str, Channel]:
    """Channels by name (collected from the hook the first time they are needed)."""
    state = crm.plugin_state(STATE)
    found = state.get("channels")
    if found is None:
        found = state["channels"] = _collect(crm)
    return found  # type: ignore[no-any-return]


def _collect(crm: "Crm") -> dict[str, Channel]:
    out: dict[str, Channel] = {}
    owners: dict[str, str] = {}
    for plugin, result in reversed(call_hook(crm.pm, "crm_register_channels", crm=crm)):  # in load order
        for channel in result or ():
            name = getattr(channel, "name", None)
            if not isinstance(channel, Channel) or not isinstance(name, str) or not name:
                raise ConfigError(f"plugin {plugin}: crm_register_channels returned {channel!r}, "
                                  "not a channel (name, kind, supports_idempotency, send)")
            if channel.kind not in KINDS:
                raise ConfigError(f"channel {name} of {plugin}: kind {channel.kind!r} is not one of "
                                  f"{', '.join(KINDS)}")
            if name in out:
                raise ConfigError(f"channel {name} is registered by both {owners[name]} and {plugin}")
            out[name] = channel
            owners[name] = plugin
    return out


def resolve(crm: "Crm", channel: str | None, kind: str | None = None) -> Channel:
    """The channel named ``channel``; without a name, the default one for ``kind`` (else any of that kind)."""
    known = channels(crm)
    if channel is not None:
        found = known.get(channel)
        if found is None:
            raise ValidationError(f"channel: no channel {channel!r} in this deployment "
                                  f"(channels: {', '.join(known) or 'none configured'})", field="channel")
        return found
    if kind is None:
        raise ValidationError("channel: name a channel (or give the address kind)", field="channel")
    preferred = known.get(DEFAULT_FOR_KIND.get(kind, ""))
    if preferred is not None and preferred.kind == kind:
        return preferred
    for found in known.values():
        if found.kind == kind:
            return found
    raise ValidationError(f"channel: no channel sends to {kind} in this deployment "
                          f"(channels: {', '.join(known) or 'none configured'})", field="channel")

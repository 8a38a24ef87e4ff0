"""Provider adapters: each turns one provider's format into :class:`~crmkit_telephony.CallEvent`.

Adapters are registered through the ``telephony_register_providers`` hook (the
built-in ``generic``, ``twilio`` and ``asterisk`` too), never chosen by if/elif.
"""

from __future__ import annotations

import urllib.request
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

import attrs

from crmkit import ConfigError, CrmError

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

    from ..config import TelephonySettings
    from ..events import CallEvent


class SignatureError(CrmError):
    """The webhook's signature (or its timestamp) does not verify: nothing is written."""

    code = "forbidden"
    status = 403


class MalformedError(CrmError):
    """The webhook's body is not what the provider documents."""

    code = "bad_request"
    status = 400


class NotSupportedError(CrmError):
    code = "not_supported"
    status = 422


@attrs.frozen
class WebhookRequest:
    """What a webhook adapter sees: the URL the provider called, lower-case headers, the raw body."""

    url: str
    headers: Mapping[str, str]
    body: bytes


@attrs.frozen
class Originated:
    """A click-to-call the provider accepted: its call id (``""`` if it gives none yet)."""

    call_id: str


@runtime_checkable
class Provider(Protocol):
    """A provider adapter. ``parse_webhook`` and ``originate`` may raise ``NotSupportedError``."""

    name: str

    def parse_webhook(self, crm: "Crm", cfg: "TelephonySettings", request: WebhookRequest) -> "list[CallEvent]":
        """Verify the request (``SignatureError``) and parse it (``MalformedError``)."""
        ...

    def originate(self, crm: "Crm", cfg: "TelephonySettings", extension: str, number: str) -> Originated:
        """Ask the provider to ring ``extension`` and connect it to ``number`` (E.164)."""
        ...


HttpPost = Callable[[str, bytes, Mapping[str, str]], tuple[int, bytes]]


def http_post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    """POST ``body`` to ``url`` (10 s timeout): (status, response body)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured URL
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except OSError as exc:
        raise NotSupportedError(f"the provider could not be reached: {exc}") from None


def collect(groups: Iterable[Iterable[Any] | None]) -> dict[str, Provider]:
    """Providers by name from the hook's results (a name twice is a ConfigError)."""
    found: dict[str, Provider] = {}
    for group in groups:
        for provider in group or ():
            if not isinstance(provider, Provider):
                raise ConfigError(f"telephony_register_providers: {provider!r} is not a provider")
            if provider.name in found:
                raise ConfigError(f"telephony provider {provider.name} is registered twice")
            found[provider.name] = provider
    return found


def providers_of(crm: "Crm") -> dict[str, Provider]:
    """The deployment's providers (collected once per ``Crm``)."""
    cached: dict[str, Provider] | None = getattr(crm, "_telephony_providers", None)
    if cached is None:
        cached = collect(crm.pm.hook.telephony_register_providers(crm=crm))
        setattr(crm, "_telephony_providers", cached)
    return cached

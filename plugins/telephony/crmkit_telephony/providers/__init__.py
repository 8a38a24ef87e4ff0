"""Provider adapters: each turns one provider's format into :class:`~crmkit_telephony.CallEvent`.

Adapters are registered through the ``telephony_register_providers`` hook (the
built-in ``generic``, ``twilio`` and ``asterisk`` too), never chosen by if/elif.
"""

from __future__ import annotations

import hmac
import http.client
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

import attrs

from crmkit import ConfigError, CrmError, ValidationError

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


class NotConfiguredError(CrmError):
    """The deployment lacks a setting this request needs (503: nothing the caller can fix)."""

    code = "not_configured"
    status = 503


class ProviderUnavailableError(CrmError):
    """The provider (its HTTP API, the PBX) could not be reached or refused the CRM: 502. The message
    is generic; the detail (``[Errno 111] Connection refused`` ...) goes to the server log only."""

    code = "provider_unavailable"
    status = 502


UNREACHABLE = "the telephony provider is unreachable"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")

log = logging.getLogger("crmkit_telephony.providers")


def unreachable(provider: str, detail: object) -> ProviderUnavailableError:
    """The error an API caller sees when ``provider`` cannot be reached; ``detail`` is only logged."""
    log.warning("telephony provider %s unreachable: %s", provider, detail)
    return ProviderUnavailableError(UNREACHABLE)


def same_signature(expected: str, given: str) -> bool:
    """Constant-time comparison of an ASCII signature with a header value (a non-ASCII header never matches;
    ``hmac.compare_digest`` raises on non-ASCII text, hence bytes)."""
    return given.isascii() and hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


def configured_extension(cfg: "TelephonySettings", extension: str) -> str:
    """``extension`` if it is a key of ``settings.telephony.extensions``: providers dial only configured
    extensions (agents), never a value a request made up (an outside number, a line break)."""
    if not isinstance(extension, str) or extension not in cfg.extensions:
        raise ValidationError("extension: not an extension in settings.telephony.extensions", field="extension")
    return extension


def e164(number: str, *, field: str = "to") -> str:
    """``number`` if it is an E.164 phone number (``+`` and 7 to 15 digits)."""
    if not isinstance(number, str) or not E164.fullmatch(number):
        raise ValidationError(f"{field}: a phone number in E.164 (+ and 7 to 15 digits)", field=field)
    return number


@attrs.frozen
class WebhookRequest:
    """What a webhook adapter sees: the URL the request was made to, lower-case headers, the raw body.

    ``url`` is built from the request's Host header, which the caller chooses: an adapter must not
    verify a signature over it (use a configured public URL, as the Twilio adapter does).
    """

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
        """Ask the provider to ring ``extension`` and connect it to ``number`` (E.164).

        ``extension`` is a key of ``settings.telephony.extensions`` the acting user may use (click-to-call
        checked it); an adapter should still refuse anything else (:func:`configured_extension`, :func:`e164`)
        and raise :class:`ProviderUnavailableError` (:func:`unreachable`) when the provider is down."""
        ...


HttpPost = Callable[[str, bytes, Mapping[str, str]], tuple[int, bytes]]


def http_post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    """POST ``body`` to ``url`` (10 s timeout): (status, response body). A network failure is a
    :class:`ProviderUnavailableError` with a generic message; its detail is logged, never returned."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured URL
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        try:
            return int(exc.code), exc.read()
        except (OSError, http.client.HTTPException):
            return int(exc.code), b""
    except (OSError, http.client.HTTPException) as exc:
        raise unreachable(_where(url), exc) from None


def _where(url: str) -> str:
    """``host:port`` of ``url`` for the log (no credentials, path or query)."""
    try:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        return "?"


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

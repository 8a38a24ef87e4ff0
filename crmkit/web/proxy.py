"""Behind a reverse proxy: the client's address, scheme and host from forwarding headers -- only
when the connection comes from a proxy listed in ``[settings.server] trusted_proxies``.

    [settings.server]
    trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]   # addresses or networks; default: none

From a trusted peer, :class:`ProxyHeaders` reads ``Forwarded`` (RFC 7239) or else
``X-Forwarded-For``/``-Proto``/``-Host``, walking the hops from the nearest: the first address
that is not a trusted proxy is the client, and the scheme and host are the ones that hop used.
It rewrites the ASGI scope (``client``, ``scheme``, the ``Host`` header), so everything
downstream -- rate limits per client, links built from the request's URL, the URL a plugin's
webhook sees (``request.url``), Secure cookies -- sees the public request. From any other peer the
headers are ignored: a client cannot claim another address.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Sequence

from ..core.errors import ConfigError
from .middleware import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?$")
VIA_PROXY = "crmkit.via_trusted_proxy"
"""Set in the scope of a request whose connection came from a trusted proxy."""
_FORWARDING = frozenset({b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"})
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def parse_trusted(value: Any) -> tuple[Network, ...]:
    """``trusted_proxies``: a list of IP addresses or CIDR networks (``ConfigError`` naming a bad one)."""
    where = "crmkit.toml: [settings.server] trusted_proxies"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where} must be a list of addresses or networks, e.g. ["127.0.0.1", "10.0.0.0/8"]')
    out = []
    for item in value:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{where}: {item!r} is not an IP address or network") from None
    return tuple(out)


def trusted_proxies(crm: Any) -> tuple[Network, ...]:
    """The deployment's trusted proxies (empty: none)."""
    return parse_trusted(crm.settings.plugin_settings.get("server", {}).get("trusted_proxies", []))


class ProxyHeaders:
    """Pure ASGI: the public client, scheme and host of a request that came through a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self._known: dict[str, bool] = {}  # address -> trusted (parsing an address costs ~10 us)
        self._public: dict[tuple[tuple[bytes, bytes], ...], tuple[str | None, str | None, str | None]] = {}
        """Forwarding headers -> what they say (a proxy sends the same few over and over)."""

    def is_trusted(self, address: str) -> bool:
        known = self._known.get(address)
        if known is not None:
            return known
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False  # not an address ("unknown", "_hidden")
        known = any(ip in net for net in self.trusted)
        if len(self._known) >= 10_000:
            self._known.clear()
        self._known[address] = known
        return known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted:
            client = scope.get("client")
            if client and self.is_trusted(client[0]):
                scope[VIA_PROXY] = True
                self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> None:
        forwarding = tuple((n, v) for n, v in scope["headers"] if n in _FORWARDING)
        if not forwarding:
            return
        public = self._public.get(forwarding)
        if public is None:
            public = self._read(forwarding)
            if len(self._public) >= 10_000:
                self._public.clear()
            self._public[forwarding] = public
        address, scheme, host = public
        if address:
            scope["client"] = (address, 0)
        if scheme:
            scope["scheme"] = scheme if scope["type"] == "http" else ("wss" if scheme == "https" else "ws")
        if host:
            scope["headers"] = [(n, v) for n, v in scope["headers"] if n != b"host"] + [(b"host", host.encode())]

    def _read(self, forwarding: tuple[tuple[bytes, bytes], ...]) -> tuple[str | None, str | None, str | None]:
        """(client address, scheme, host) from the forwarding headers (``None``: keep the connection's)."""
        headers: dict[bytes, str] = {}
        for name, value in forwarding:
            text = value.decode("latin-1")
            headers[name] = f"{headers[name]},{text}" if name in headers else text
        if b"forwarded" in headers:
            hops = [_forwarded_element(e) for e in _split(headers[b"forwarded"])]
        elif b"x-forwarded-for" in headers:
            protos = _split(headers.get(b"x-forwarded-proto", ""))
            hosts = _split(headers.get(b"x-forwarded-host", ""))
            fors = _split(headers[b"x-forwarded-for"])
            hops = [{"for": f, "proto": _aligned(protos, i, len(fors)), "host": _aligned(hosts, i, len(fors))}
                    for i, f in enumerate(fors)]
        else:
            return None, None, None
        chosen: dict[str, Any] = {}
        for hop in reversed(hops):  # the nearest hop first
            chosen = hop
            if not self.is_trusted(hop.get("for") or ""):
                break
        address = chosen.get("for")
        host = chosen.get("host")
        return (address if address and _is_ip(address) else None,
                _SCHEMES.get((chosen.get("proto") or "").lower()), host if host and _HOST.match(host) else None)


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _aligned(values: list[str], index: int, count: int) -> str | None:
    """The proto/host that goes with hop ``index``: aligned lists by position, else the nearest value."""
    if not values:
        return None
    return values[index] if len(values) == count else values[-1]


def _forwarded_element(element: str) -> dict[str, str]:
    """One element of ``Forwarded`` (``for=...;proto=...;host=...``), quotes and ports dropped from ``for``."""
    out: dict[str, str] = {}
    for pair in element.split(";"):
        key, sep, value = pair.partition("=")
        if not sep:
            continue
        value = value.strip().strip('"')
        key = key.strip().lower()
        if key == "for":
            value = _strip_port(value)
        out[key] = value
    return out


def _strip_port(value: str) -> str:
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def via_trusted_proxy(scope: Scope) -> bool:
    """Whether the request's connection came from a trusted proxy."""
    return bool(scope.get(VIA_PROXY))

"""The API's language: ``Accept-Language`` of the request, else the deployment's (``[ui] locale``).

:class:`RequestLanguage` (pure ASGI, one header look-up) keeps the request's language in a context
variable; :func:`crmkit.web.errors.error_body` reads it to write an error's message in it (the
``code`` and ``field`` stay as they are).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Awaitable, Callable, MutableMapping

from .languages import negotiate

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_current: ContextVar[str | None] = ContextVar("crmkit_language", default=None)


def current_language() -> str | None:
    """The language of the request being served (None outside a request: messages stay English)."""
    return _current.get()


class RequestLanguage:
    """Sets :func:`current_language` for each HTTP request: ``Accept-Language``, else ``default``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], default: str = "en") -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"accept-language"), None)
        lang = negotiate(header.decode("latin-1")) if header else None
        token = _current.set(lang or self.default)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)

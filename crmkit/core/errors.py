"""The errors every interface translates into a clear message.

Services raise only these; the CLI prints ``error.message`` and exits non-zero,
the HTTP API (a later issue) maps ``error.status`` and ``error.code`` to a JSON
body. A plugin vetoes a command by raising :class:`ValidationError`.
"""

from __future__ import annotations

from typing import Any


class CrmError(Exception):
    """Base class of every error crmkit reports to a user."""

    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body

    def __str__(self) -> str:
        return self.message


class ValidationError(CrmError):
    """Input is not acceptable. ``field`` names the offending field."""

    code = "validation_error"
    status = 422


class NotFoundError(CrmError):
    """The card (or other object) does not exist."""

    code = "not_found"
    status = 404


class ConflictError(CrmError):
    """A stale version, a duplicate, or a state that forbids the command."""

    code = "conflict"
    status = 409


class PermissionDeniedError(CrmError):
    """The acting user may not do this."""

    code = "forbidden"
    status = 403


class ConfigError(CrmError):
    """The deployment configuration (crmkit.toml) is wrong."""

    code = "config_error"
    status = 500


class PluginError(ConfigError):
    """A plugin cannot be loaded: unknown, missing requirement, bad API range, bad hook."""

    code = "plugin_error"

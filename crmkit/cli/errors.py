"""Turning every failure into one line on stderr and an exit code (never a traceback).

* crmkit errors (validation, not found, conflict, config, plugin) and bad options: ``Error: ...``, exit 1;
* anything unexpected: one line naming the exception, exit 2 (``CRMKIT_DEBUG=1`` adds the traceback).

With ``--json`` (anywhere on the command line) the line is JSON instead, the API's error shape:
``{"error": {"code": "validation_error", "message": "...", "field": "amount"}}``, still on stderr
(stdout holds only results) and with the same exit code.
"""

from __future__ import annotations

import json
import os
import traceback

import click
from sqlalchemy.exc import ArgumentError, OperationalError

from ..core.errors import CrmError
from ..i18n.errors import localize
from ..i18n.languages import from_environment

USER_ERROR = 1
UNEXPECTED = 2


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def report(exc: BaseException, *, as_json: bool = False) -> int:
    """Print ``exc`` as one line on stderr (JSON with ``as_json``) and return the exit code to use."""
    code, message, field, status = _describe(exc)
    message = localize(message, from_environment())  # CRMKIT_LANG, else LANG (crmkit.i18n.errors)
    if as_json:
        error = {"code": code, "message": message, **({"field": field} if field else {})}
        click.echo(json.dumps({"error": error}, ensure_ascii=False), err=True)
    elif status == UNEXPECTED:
        click.echo(f"Unexpected error: {message}", err=True)
    else:
        click.echo(f"Error: {message}", err=True)
    return status


def _describe(exc: BaseException) -> tuple[str, str, str | None, int]:
    """(code, one-line message, field, exit code) of a failure."""
    if isinstance(exc, CrmError):
        return exc.code, one_line(exc.message), exc.field, USER_ERROR
    if isinstance(exc, click.UsageError):
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return "usage_error", f"{one_line(exc.format_message())}{hint}", None, USER_ERROR
    if isinstance(exc, click.ClickException):
        return "usage_error", one_line(exc.format_message()), None, USER_ERROR
    if isinstance(exc, click.Abort):
        return "aborted", "aborted", None, USER_ERROR
    if isinstance(exc, ArgumentError):  # a database URL SQLAlchemy cannot use
        return "config_error", f"database: {one_line(str(exc))}", None, USER_ERROR
    if isinstance(exc, OperationalError):
        _debug(exc)
        detail = one_line(str(exc.orig) or str(exc)).split(" [SQL")[0]
        return "database_error", f"the database is not usable: {detail}", None, USER_ERROR
    _debug(exc)
    hint = "" if _debugging() else " (set CRMKIT_DEBUG=1 for the traceback)"
    return "unexpected", f"{type(exc).__name__}: {one_line(str(exc))}{hint}", None, UNEXPECTED


def _debugging() -> bool:
    return os.environ.get("CRMKIT_DEBUG", "") not in ("", "0")


def _debug(exc: BaseException) -> None:
    if _debugging():
        click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)

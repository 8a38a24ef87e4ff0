"""Turning every failure into one line on stderr and an exit code (never a traceback).

* crmkit errors (validation, not found, conflict, config, plugin) and bad options: ``Error: ...``, exit 1;
* anything unexpected: one line naming the exception, exit 2 (``CRMKIT_DEBUG=1`` adds the traceback).
"""

from __future__ import annotations

import os
import traceback

import click
from sqlalchemy.exc import ArgumentError, OperationalError

from ..core.errors import CrmError

USER_ERROR = 1
UNEXPECTED = 2


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def report(exc: BaseException) -> int:
    """Print ``exc`` as one line on stderr and return the exit code to use."""
    if isinstance(exc, CrmError):
        return _say(f"Error: {one_line(exc.message)}", USER_ERROR)
    if isinstance(exc, click.UsageError):
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _say(f"Error: {one_line(exc.format_message())}{hint}", USER_ERROR)
    if isinstance(exc, click.ClickException):
        return _say(f"Error: {one_line(exc.format_message())}", USER_ERROR)
    if isinstance(exc, click.Abort):
        return _say("Error: aborted", USER_ERROR)
    if isinstance(exc, ArgumentError):  # a database URL SQLAlchemy cannot use
        return _say(f"Error: database: {one_line(str(exc))}", USER_ERROR)
    if isinstance(exc, OperationalError):
        _debug(exc)
        return _say(f"Error: the database is not usable: {one_line(str(exc.orig) or str(exc)).split(' [SQL')[0]}",
                    USER_ERROR)
    _debug(exc)
    hint = "" if _debugging() else " (set CRMKIT_DEBUG=1 for the traceback)"
    return _say(f"Unexpected error: {type(exc).__name__}: {one_line(str(exc))}{hint}", UNEXPECTED)


def _debugging() -> bool:
    return os.environ.get("CRMKIT_DEBUG", "") not in ("", "0")


def _debug(exc: BaseException) -> None:
    if _debugging():
        click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)


def _say(line: str, code: int) -> int:
    click.echo(line, err=True)
    return code

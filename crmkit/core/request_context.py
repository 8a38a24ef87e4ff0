"""The request (or job run) a command runs for: its id, carried into the command's events.

The web app's request middleware (:mod:`crmkit.web.observe`) and the worker set it; every event a
command emits meanwhile carries it (:attr:`crmkit.Event.request_id`), so a hook, the event log and
the request's log line can be matched. Outside a request it is ``None``.
"""

from __future__ import annotations

import re
from random import getrandbits as _bits
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_current: ContextVar[str | None] = ContextVar("crmkit_request_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_request_id() -> str | None:
    """The id of the request or job run this code runs for (``None`` outside one)."""
    return _current.get()


def new_request_id() -> str:
    """A fresh id: 16 hex characters (64 random bits; not a secret, so no system call for it)."""
    return f"{_bits(64):016x}"


def valid_request_id(value: str) -> bool:
    """Whether ``value`` may be taken as an id from outside (1-64 of ``A-Za-z0-9._:-``)."""
    return bool(_VALID.match(value))


@contextmanager
def request_scope(request_id: str) -> Iterator[str]:
    """Run the block as request ``request_id``."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)

"""The route table's unit: one :class:`Operation` is one method on one path.

The server's Starlette routes and the OpenAPI document are both generated from
the same list of operations, so the document describes what the server does:
the path and query parameters, the request body schema (checked by
:mod:`crmkit.web.validate` before the handler runs), the success response and
every error status the operation can answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

import attrs
from starlette.requests import Request

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.services import Services

Schema = Mapping[str, Any]

INT32 = 2**31 - 1
ID_SCHEMA: Schema = {"type": "integer", "minimum": 1, "maximum": INT32}


@attrs.frozen
class Param:
    """A query parameter: its schema is both documented and enforced."""

    name: str
    schema: Schema
    description: str = ""
    required: bool = False


@attrs.frozen
class Result:
    """A handler's answer when it is not a plain 200 with a record."""

    data: Any
    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.define
class Ctx:
    """What a handler gets: the deployment, the acting user, the validated input."""

    crm: "Crm"
    request: Request
    user_id: int | None
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    version: int | None = None
    _services: "Services | None" = None

    @property
    def services(self) -> "Services":
        if self._services is None:
            self._services = self.crm.as_user(self.user_id)
        return self._services

    @property
    def id(self) -> int:
        return int(self.path["id"])


Handler = Callable[[Ctx], Any]


@attrs.frozen
class Operation:
    """One API operation.

    :param path: the Starlette path below ``/api/v1`` (``/deals/{id:int}``).
    :param handler: called in a worker thread with a :class:`Ctx`; returns a record,
        a ``Page``, a dict or a :class:`Result`.
    :param status: the success status.
    :param body: the JSON schema of the request body (None: no body).
    :param response: the JSON schema of the success response.
    :param errors: the error statuses it can answer (besides the common ones).
    :param public: no token needed.
    :param inline: the handler touches no database: run it on the event loop, not in a thread.
    :param etag: the success response carries ``ETag`` (the card's version).
    :param if_match: accepts ``If-Match`` with the card's version.
    :param idempotent: accepts ``Idempotency-Key``.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    operation_id: str
    status: int = 200
    body: Schema | None = None
    body_required: bool = True
    form_encoded: bool = False
    query: tuple[Param, ...] = ()
    response: Schema | None = None
    errors: tuple[int, ...] = ()
    public: bool = False
    inline: bool = False
    etag: bool = False
    if_match: bool = False
    idempotent: bool = False
    description: str = ""

    @property
    def has_id(self) -> bool:
        return "{id:int}" in self.path

    def error_statuses(self) -> list[int]:
        """Every error status this operation can answer."""
        found = set(self.errors) | {422}
        if not self.public:
            found |= {401, 403}
        if self.query or self.body is not None or self.if_match or self.idempotent:
            found.add(400)
        if self.body is not None:
            found |= {400, 408, 413, 415}
        if self.has_id or "{" in self.path:
            found.add(404)
        if self.if_match or self.idempotent:
            found.add(409)
        return sorted(found)

"""The route table's unit: one :class:`Operation` is one method on one path.

The server's Starlette routes and the OpenAPI document are both generated from
the same list of operations, so the document describes what the server does:
the path and query parameters, the request body schema (checked by
:mod:`crmkit.web.validate` before the handler runs), the success response and
every error status the operation can answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

import attrs
from starlette.requests import Request
from starlette.routing import BaseRoute

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


# -- plugin routes in the OpenAPI document ------------------------------------------------------

DOC_ATTRIBUTE = "crmkit_openapi"
R = TypeVar("R", bound=BaseRoute)


@attrs.frozen
class RouteDoc:
    """What :func:`document` says about a plugin route (read by :mod:`crmkit.web.openapi`)."""

    summary: str
    body: Schema | None
    body_required: bool
    response: Schema | None
    status: int
    query: tuple[Param, ...]
    errors: tuple[int, ...]

    def error_statuses(self, *, public: bool, path: str) -> list[int]:
        """Every error status the route can answer: the common ones for its input, and its own."""
        found = set(self.errors) | {422}
        if not public:
            found |= {401, 403}
        if self.query:
            found.add(400)
        if self.body is not None:
            found |= {400, 408, 413, 415}
        if "{" in path:
            found.add(404)
        return sorted(found)


def document(route: R, *, summary: str | None = None, body: Schema | type | None = None, body_required: bool = True,
             response: Schema | type | None = None, status: int = 200, query: Sequence[Param] = (),
             errors: Sequence[int] = ()) -> R:
    """Describe a plugin route in the deployment's OpenAPI document; returns the route.

    ::

        PAYMENT = {"type": "object", "additionalProperties": False, "required": ["amount"],
                   "properties": {"amount": {"type": "string", "maxLength": 40}}}

        async def record_payment(request):
            body = await read_json_body(request, PAYMENT)     # the documented schema is the enforced one
            ...

        def routes():
            return [document(Route("/plans/{deal_id:int}/payments", record_payment, methods=["POST"]),
                             body=PAYMENT, response=Payment, status=201, errors=(409,))]

    The same description may be set as a plain mapping with these keyword arguments as keys,
    without importing anything: ``route.crmkit_openapi = {"body": PAYMENT, "response": Payment,
    "status": 201}`` (the attribute :data:`DOC_ATTRIBUTE`).

    :param summary: one line (default: the first line of the endpoint's docstring).
    :param body: the JSON schema of the request body (read it with the same schema:
        :func:`crmkit.web.read_json_body`), or an attrs class.
    :param response: the JSON schema of the success response, or an attrs record class (see
        :func:`schema_of`).
    :param status: the success status.
    :param query: the query parameters (:class:`Param`; the route checks them itself).
    :param errors: error statuses besides the common ones (401, 403, 404 with path parameters,
        400/408/413/415 with a body, 422), e.g. ``(409,)``.

    A route without a description is listed with its path parameters and an undescribed answer.
    """
    setattr(route, DOC_ATTRIBUTE, _route_doc(route, summary=summary, body=body, body_required=body_required,
                                             response=response, status=status, query=query, errors=errors))
    return route


def route_doc(route: BaseRoute) -> RouteDoc | None:
    """The description :func:`document` (or a ``crmkit_openapi`` mapping) gave ``route``, if any."""
    found = getattr(route, DOC_ATTRIBUTE, None)
    if found is None or isinstance(found, RouteDoc):
        return found
    if not isinstance(found, Mapping):
        raise TypeError(f"{DOC_ATTRIBUTE} of route {getattr(route, 'path', route)!r}: expected a mapping, "
                        f"got {type(found).__name__}")
    return _route_doc(route, **found)


def _route_doc(route: BaseRoute, *, summary: str | None = None, body: Schema | type | None = None,
               body_required: bool = True, response: Schema | type | None = None, status: int = 200,
               query: Sequence[Param] = (), errors: Sequence[int] = ()) -> RouteDoc:
    endpoint = getattr(route, "endpoint", None)
    text = (getattr(endpoint, "__doc__", None) or "").strip()
    return RouteDoc(
        summary=summary if summary is not None else (text.splitlines()[0] if text else ""),
        body=None if body is None else schema_of(body), body_required=body_required,
        response=None if response is None else schema_of(response), status=status, query=tuple(query),
        errors=tuple(errors))


def schema_of(shape: Schema | type) -> Schema:
    """``shape`` if it is a JSON schema; for an attrs record class, the schema of its JSON form
    (every field present; ``Money`` as ``{amount, currency}``, dates and times as ISO text), to
    nest in a larger one: ``{"type": "array", "items": schema_of(Payment)}``."""
    if not isinstance(shape, type):
        return shape
    from .schemas import record_schema

    return record_schema(shape)

"""Turn an :class:`Operation` into a Starlette endpoint.

Per request: authenticate (unless public), check path ids, parse and validate
the query string, the ``If-Match`` and ``Idempotency-Key`` headers and the JSON
body against the operation's schemas, then run the handler in a worker thread
(services are synchronous) and serialize its result. Every failure is a JSON
error with a 4xx status.
"""

from __future__ import annotations

import contextlib
import re
import time
import weakref
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import parse_qsl

import anyio.to_thread
import attrs
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import CrmError, NotFoundError, ValidationError
from ..core.records import Page, to_dict
from . import idempotency
from .errors import JSON_TYPE, BadRequest, Unauthorized, UnsupportedMediaType, dumps, error_response
from .operation import INT32, Ctx, Operation, Result
from .params import parse_query
from .validate import validate

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.auth import TokenCache
    from ..core.services import Services

Endpoint = Callable[[Request], Awaitable[Response]]

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')
IF_MATCH_SCHEMA = {"type": "string", "pattern": r'^(\*|(W/)?"[0-9]{1,9}")$'}


async def authenticate(request: Request, tokens: "TokenCache") -> int:
    """The user id of the request's bearer token (401 if there is none or it is not valid)."""
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("authentication required: send Authorization: Bearer <token>")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("use Authorization: Bearer <token>")
    secret = secret.strip()
    user_id = tokens.get(secret)
    if user_id is None:
        user_id = await run_in_threadpool(tokens.authenticate, secret)
    if user_id is None:
        raise Unauthorized("the token is not valid (unknown, revoked, or its user is deactivated)")
    return user_id


_WRITERS: "weakref.WeakKeyDictionary[Crm, anyio.CapacityLimiter]" = weakref.WeakKeyDictionary()


def writer_limiter(crm: "Crm") -> "anyio.CapacityLimiter":
    """One writer slot per deployment (SQLite), shared by every write endpoint; waiters are FIFO."""
    limiter = _WRITERS.get(crm)
    if limiter is None:
        limiter = _WRITERS[crm] = anyio.CapacityLimiter(1)
    return limiter


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _IF_MATCH.match(value)
    if match is None:
        raise BadRequest('If-Match: expected the card\'s ETag, e.g. "3"', field="If-Match")
    return int(match.group(1))


def parse_json(raw: bytes) -> Any:
    """A JSON body by the rules plugin routes share (:func:`crmkit.web.jsonbody.parse_json`): 400 if
    malformed, with NaN/Infinity or a float out of range, or nested deeper than 32 levels."""
    from .jsonbody import parse_json as parse

    return parse(raw)


def serialize(result: Any, op: Operation) -> tuple[int, Any, dict[str, str]]:
    status, headers = op.status, {}
    if isinstance(result, Result):
        status, headers, result = result.status, dict(result.headers), result.data
    if isinstance(result, Page):
        data: Any = {"items": [to_dict(r) if attrs.has(type(r)) else r.to_dict() for r in result.items],
                     "next_cursor": result.next_cursor}
    elif attrs.has(type(result)):
        data = to_dict(result)
    else:
        data = result
    if op.etag and isinstance(data, dict) and isinstance(data.get("version"), int):
        headers["ETag"] = f'"{data["version"]}"'
    return status, data, headers


class ServicesCache:
    """``crm.as_user(id)`` per user for ``ttl`` seconds: building one reads the user's role.

    An entry is trusted only under the security generation it was stored under, as the
    token cache's are: a role, team or active change applies to the user's very next request.
    """

    def __init__(self, crm: "Crm", ttl: float) -> None:
        self.crm = crm
        self.ttl = ttl
        self._entries: dict[int | None, tuple[float, Services, int]] = {}

    def get(self, user_id: int | None) -> "Services":
        now = time.monotonic()
        generation = self.crm.security.generation  # this request's authentication just checked the stamp
        entry = self._entries.get(user_id)
        if entry is not None and entry[0] > now and entry[2] == generation:
            return entry[1]
        services = self.crm.as_user(user_id)
        if self.ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[user_id] = (now + self.ttl, services, generation)
        return services


def make_endpoint(op: Operation, crm: "Crm", tokens: "TokenCache", services: ServicesCache) -> Endpoint:
    """The Starlette endpoint running ``op``.

    Handlers run in worker threads. On SQLite, writes queue first-come-first-served for a
    single thread (one writer is all SQLite has): no pile of threads fighting over the
    write lock, and an even latency tail; reads (a bounded page or one card from a local
    file, never waiting on the writer in WAL mode) run on the event loop, saving the
    thread hop that costs as much as the query.
    """
    sqlite = crm.engine.dialect.name == "sqlite"
    limiter = writer_limiter(crm) if op.method != "GET" and sqlite else None
    on_loop = op.inline or (sqlite and op.method == "GET")

    def run(ctx: Ctx, raw: bytes, key: str | None) -> tuple[int, bytes, dict[str, str]]:
        if not op.public and not op.inline:
            ctx._services = services.get(ctx.user_id)
        if key is None or ctx.user_id is None:
            status, data, headers = serialize(op.handler(ctx), op)
            return status, dumps(data), headers
        fp = idempotency.fingerprint(op.method, ctx.request.url.path, raw)
        found = idempotency.claim(crm, ctx.user_id, key, fp)
        if isinstance(found, idempotency.Stored):
            headers = {"Idempotent-Replayed": "true"}
            if op.etag and isinstance(found.data, dict) and isinstance(found.data.get("version"), int):
                headers["ETag"] = f'"{found.data["version"]}"'
            return found.status, dumps(found.data), headers
        return run_claimed(ctx, found)

    def run_deferred(ctx: Ctx, raw: bytes, key: str | None) -> tuple[int, bytes, dict[str, str], list[Any]]:
        """``run``, its committed events collected for delivery after the writer slot (an error
        leaves them pending: the next delivery or the worker takes them)."""
        with crm.delivery.deferred() as events:
            status, payload, headers = run(ctx, raw, key)
        return status, payload, headers, events

    def run_claimed(ctx: Ctx, claim: idempotency.Claim) -> tuple[int, bytes, dict[str, str]]:
        """The command and its stored response in one transaction (the handler's services join it)."""
        try:
            with crm.transaction(ctx.user_id) as tx:
                status, data, headers = serialize(op.handler(ctx), op)
                body = dumps(data)
                tx.before_commit(lambda tx: claim.store(tx, status, body))
        except BaseException:
            with contextlib.suppress(Exception):  # else the claim is taken over after ABANDONED_AFTER
                claim.release(crm)  # a no-op if the command committed
            raise
        return status, body, headers

    async def endpoint(request: Request) -> Response:
        try:
            user_id = None if op.public else await authenticate(request, tokens)
            path = dict(request.path_params)
            for name, value in path.items():
                if isinstance(value, int) and not 1 <= value <= INT32:
                    raise NotFoundError(f"{name} {value} does not exist")
            query = parse_query(request.scope.get("query_string", b""), op.query)
            version = parse_if_match(request.headers.get("if-match")) if op.if_match else None
            key = request.headers.get("idempotency-key") if op.idempotent else None
            if key is not None:
                idempotency.check_key(key)
            raw = b""
            body: Any = None
            if op.body is not None:
                raw = await request.body()
                body = read_body(request, raw, op)
            ctx = Ctx(crm=crm, request=request, user_id=user_id, path=path, query=query, body=body, version=version)
            if on_loop:
                status, payload, headers = run(ctx, raw, key)
            elif limiter is not None and crm.delivery.defers_writes:
                # after-commit delivery outside the writer slot: the next write starts meanwhile
                status, payload, headers, events = await anyio.to_thread.run_sync(
                    run_deferred, ctx, raw, key, limiter=limiter)
                if events:
                    await run_in_threadpool(crm.delivery.deliver, events)
            elif limiter is not None:
                status, payload, headers = await anyio.to_thread.run_sync(run, ctx, raw, key, limiter=limiter)
            else:
                status, payload, headers = await run_in_threadpool(run, ctx, raw, key)
        except CrmError as exc:
            return error_response(exc)
        return Response(payload, status, headers, media_type=JSON_TYPE)

    if op.public and op.inline and op.body is None and not op.query and not op.if_match and not op.idempotent \
            and "{" not in op.path:
        full = endpoint

        async def endpoint(request: Request) -> Response:  # noqa: F811 - the fast path of `full`
            """A public operation without parameters (health): no query, body or headers to read."""
            if request.scope.get("query_string"):
                return await full(request)  # unknown parameters are refused there
            try:
                status, data, headers = serialize(op.handler(Ctx(
                    crm=crm, request=request, user_id=None, path={}, query={}, body=None, version=None)), op)
            except CrmError as exc:
                return error_response(exc)
            return Response(dumps(data), status, headers or None, media_type=JSON_TYPE)

    endpoint.__name__ = op.operation_id
    endpoint.__doc__ = op.summary
    return endpoint


def read_body(request: Request, raw: bytes, op: Operation) -> Any:
    """The request body, parsed and validated against ``op.body``."""
    assert op.body is not None
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not raw.strip():
        if op.body_required:
            raise ValidationError("body: a JSON object is required", field="body")
        return {}
    if op.form_encoded and ctype == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the form body is not UTF-8") from None
        try:
            body: Any = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=200))
        except ValueError:  # more than 200 fields
            raise BadRequest("the form has more than 200 fields") from None
    elif ctype == "application/json" or ctype.endswith("+json"):
        body = parse_json(raw)
    else:
        accepted = "application/json" + (" or application/x-www-form-urlencoded" if op.form_encoded else "")
        raise UnsupportedMediaType(f"Content-Type must be {accepted}, not {ctype or 'missing'}")
    validate(body, op.body)
    return body

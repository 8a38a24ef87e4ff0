"""HTTP routes, mounted by crmkit under ``/api/v1/fitness/``.

For access-control devices (no user token; the device's own key, see :mod:`crmkit_fitness.devices`):

* ``POST /checkins``        one check-in ``{event_id, member_id | card, at?, class_id?}`` -> the decision
* ``POST /checkins/batch``  ``{"events": [...]}`` (at most 1000, an offline turnstile's backlog) -> the
  decisions in time order; one transaction: a bad event refuses the whole batch (422 naming it)

For users (bearer token, record rules; changes need ``fitness.manage``):

* ``GET  /members/{contact_id}``                 the member's state
* ``POST /sales``                                ``{contact_id, product}`` -> the "Membership sales" deal
* ``POST /memberships/{id}/freeze``              ``{starts_on, days, reason}``
* ``POST /devices``                              ``{name}`` -> ``{id, key, signing_secret}`` (shown once)
* ``GET  /reports/renewals?by=cohort|product|trainer``, ``/reports/touch-points``,
  ``/reports/at-risk?limit=&offset=``, ``/reports/trainers``
"""

from __future__ import annotations

import json
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crmkit import ValidationError
from crmkit.web import BadRequest, PayloadTooLarge, Unauthorized, public, read_json_body, request_user_id

from . import reports
from .checkins import parse_request
from .club import Club
from .devices import DeviceAuthError, authenticate, signing_secret

MAX_BATCH = 1000
MAX_BODY = 512 * 1024

SALE_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "contact_id": {"type": "integer"}, "product": {"type": "string", "maxLength": 40},
    "responsible_id": {"type": "integer"}}}
FREEZE_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "starts_on": {"type": "string", "format": "date"}, "days": {"type": "integer"},
    "reason": {"type": "string", "maxLength": 300}}}
DEVICE_BODY = {"type": "object", "additionalProperties": False,
               "properties": {"name": {"type": "string", "maxLength": 200}}}


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(fn, *args, **kwargs)


async def _device_body(request: Request) -> tuple[int, Any]:
    """``(device id, the JSON body)`` of an authenticated device request."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(f"body: at most {MAX_BODY} bytes")
    crm = request.app.state.crm
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        device_id = await _call(authenticate, crm, headers, body, crm.clock.now())
    except DeviceAuthError as exc:
        raise Unauthorized(str(exc)) from None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("body: not valid JSON") from None
    return device_id, data


async def checkin(request: Request) -> JSONResponse:
    """One check-in from a device: allow or deny, with the reason."""
    device_id, data = await _device_body(request)
    crm = request.app.state.crm
    req = parse_request(data, crm.clock.now())
    [decision] = await _call(Club(crm).check_in, [req], device_id=device_id)
    return JSONResponse(decision.to_json(), status_code=200 if decision.duplicate else 201)


async def checkin_batch(request: Request) -> JSONResponse:
    """A batch of check-ins (an offline turnstile's backlog), decided in time order."""
    device_id, data = await _device_body(request)
    crm = request.app.state.crm
    if not isinstance(data, dict) or set(data) != {"events"} or not isinstance(data["events"], list):
        raise ValidationError('events: expected {"events": [...]}', field="events")
    if not 1 <= len(data["events"]) <= MAX_BATCH:
        raise ValidationError(f"events: 1 to {MAX_BATCH} events", field="events")
    now = crm.clock.now()
    reqs = [parse_request(e, now, f"events[{i}].") for i, e in enumerate(data["events"])]
    decisions = await _call(Club(crm).check_in, reqs, device_id=device_id)
    return JSONResponse({"decisions": [d.to_json() for d in decisions]})


def _club(request: Request) -> Club:
    return Club(request.app.state.crm, request_user_id(request))


async def member(request: Request) -> JSONResponse:
    """The member's state: phase, visits, memberships, recent check-ins."""
    return JSONResponse(await _call(_club(request).member, request.path_params["contact_id"]))


async def sale(request: Request) -> JSONResponse:
    """Open a "Membership sales" deal for a product."""
    body = await read_json_body(request, SALE_BODY)
    for field in ("contact_id", "product"):
        if field not in body:
            raise ValidationError(f"{field}: is required", field=field)
    deal = await _call(_club(request).sell, body["contact_id"], body["product"],
                       responsible_id=body.get("responsible_id"))
    return JSONResponse({"deal_id": deal.id, "pipeline": deal.pipeline, "stage": deal.stage}, status_code=201)


async def freeze(request: Request) -> JSONResponse:
    """Freeze a membership within its product's allowance."""
    body = await read_json_body(request, FREEZE_BODY)
    for field in ("starts_on", "days", "reason"):
        if field not in body:
            raise ValidationError(f"{field}: is required", field=field)
    found = await _call(_club(request).freeze, request.path_params["membership_id"], **body)
    return JSONResponse(found.to_json())


async def device(request: Request) -> JSONResponse:
    """Register an access-control device; its key is in this answer only."""
    body = await read_json_body(request, DEVICE_BODY)
    device_id, key = await _call(_club(request).add_device, body.get("name", ""))
    return JSONResponse({"id": device_id, "key": key, "signing_secret": signing_secret(key)}, status_code=201)


def _reader(request: Request) -> Any:
    club = _club(request)
    club.services.access.require("cards.read", "read the club's reports")
    return club.crm


def _whole(request: Request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) > high:
        raise ValidationError(f"{name}: a whole number from 0 to {high}", field=name)
    return int(raw)


async def renewals_report(request: Request) -> JSONResponse:
    """Renewal rate by cohort, product or trainer."""
    rows = await _call(reports.renewals, _reader(request), request.query_params.get("by", "cohort"))
    return JSONResponse({"items": rows})


async def touch_report(request: Request) -> JSONResponse:
    """Renewal rate with and without each touch point, and the lift."""
    return JSONResponse(await _call(reports.touch_attribution, _reader(request)))


async def at_risk_report(request: Request) -> JSONResponse:
    """Members at risk, highest churn-risk score first."""
    crm = _reader(request)
    rows = await _call(reports.at_risk, crm, limit=max(1, _whole(request, "limit", 50, 500)),
                       offset=_whole(request, "offset", 0, 10**6))
    return JSONResponse({"items": rows})


async def trainers_report(request: Request) -> JSONResponse:
    """Trainers' work: classes, attendance, members, renewals, touch-point tasks."""
    crm = _reader(request)
    return JSONResponse({"items": await _call(reports.trainers, crm, crm.clock.now())})


def routes() -> list[Route]:
    """The plugin's routes (crmkit mounts them under ``/api/v1/fitness``)."""
    return [
        public(Route("/checkins", checkin, methods=["POST"])),  # type: ignore[list-item]
        public(Route("/checkins/batch", checkin_batch, methods=["POST"])),  # type: ignore[list-item]
        Route("/members/{contact_id:int}", member, methods=["GET"]),
        Route("/sales", sale, methods=["POST"]),
        Route("/memberships/{membership_id:int}/freeze", freeze, methods=["POST"]),
        Route("/devices", device, methods=["POST"]),
        Route("/reports/renewals", renewals_report, methods=["GET"]),
        Route("/reports/touch-points", touch_report, methods=["GET"]),
        Route("/reports/at-risk", at_risk_report, methods=["GET"]),
        Route("/reports/trainers", trainers_report, methods=["GET"]),
    ]

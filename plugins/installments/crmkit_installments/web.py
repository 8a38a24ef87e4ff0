"""HTTP routes, mounted by crmkit under ``/api/v1/installments/`` behind the bearer-token check.

* ``GET  /plans/{deal_id}``                 the plan and its schedule
* ``POST /plans/{deal_id}``                 put a plan on a deal (201)
* ``GET  /plans/{deal_id}/payments``        its payments
* ``POST /plans/{deal_id}/payments``        record a payment (201)
* ``POST /payments/{payment_id}/reverse``   reverse a payment (``{"reason": ...}``)
* ``GET  /reports/aging``                   aging per manager and in total
* ``GET  /reports/cash-in?months=12``       expected cash-in by month

Every handler acts as the token's user through :class:`~crmkit_installments.service.Installments`.
Bodies are read by :func:`crmkit.web.read_json_body`, with the core routes' rules: JSON only (415),
malformed or too deeply nested JSON 400, an unknown field, a wrong type or a string no database
stores 422. Each route's body, response and errors are in the deployment's OpenAPI document
(described with :func:`crmkit.web.document`), with the very schemas checked here.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crmkit import ValidationError
from crmkit.web import Param, document, read_json_body, request_user_id

from .reports import BUCKETS, aging, cash_in
from .schedule import MAX_PAYMENTS
from .service import Installments

# The request bodies: documented in the OpenAPI document and enforced by read_json_body (the service
# checks the values further: a positive amount, dates in order, ...).
_AMOUNT = {"type": ["string", "integer"], "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$",
           "minimum": -(10**15) + 1, "maximum": 10**15 - 1}
_CURRENCY = {"type": "string", "pattern": "^[A-Za-z]{3}$"}
_DATE = {"type": "string", "format": "date"}
PLAN_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "payments": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "start": _DATE,
    "dates": {"type": "array", "items": _DATE, "maxItems": MAX_PAYMENTS}, "total": _AMOUNT,
    "down_payment": _AMOUNT, "currency": _CURRENCY, "replace": {"type": "boolean"}}}
PAYMENT_BODY = {"type": "object", "additionalProperties": False, "required": ["amount"], "properties": {
    "amount": _AMOUNT, "paid_on": _DATE, "method": {"type": "string", "maxLength": 40},
    "reference": {"type": "string", "maxLength": 120}, "currency": _CURRENCY}}
REVERSAL_BODY = {"type": "object", "additionalProperties": False, "required": ["reason"],
                 "properties": {"reason": {"type": "string", "maxLength": 300}}}




def _money() -> dict[str, Any]:
    return {"type": "object", "required": ["amount", "currency"],
            "properties": {"amount": {"type": "string"}, "currency": {"type": "string"}}}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


def _list(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return _object({key: {"type": "array", "items": item}})


_INT, _TEXT, _WHEN = {"type": "integer"}, {"type": "string"}, {"type": "string", "format": "date-time"}
_ITEM = _object({"seq": _INT, "due_date": _DATE, "amount": _money(), "paid": _money(), "outstanding": _money()})
PLAN = _object({
    "id": _INT, "deal_id": _INT, "control_deal_id": {"type": ["integer", "null"]}, "status": _TEXT,
    "total": _money(), "down_payment": _money(), "financed": _money(), "paid": _money(), "outstanding": _money(),
    "credit": _money(), "items": {"type": "array", "items": _ITEM}, "created_at": _WHEN, "version": _INT})
PAYMENT = _object({
    "id": _INT, "plan_id": _INT, "amount": _money(), "paid_on": _DATE, "method": _TEXT, "reference": _TEXT,
    "recorded_by": {"type": ["integer", "null"]}, "recorded_at": _WHEN, "reversed_by": {"type": ["integer", "null"]},
    "reversed_at": {"type": ["string", "null"], "format": "date-time"}, "reversal_reason": {"type": ["string", "null"]},
    "allocations": {"type": "array", "items": _object({"seq": _INT, "amount": _money()})}})
_AGING_ROW = _object({"responsible_id": {"type": ["integer", "null"]}, "responsible_name": {"type": ["string", "null"]},
                      "currency": _TEXT, **{k: _money() for k in BUCKETS}, "total": _money()})
AGING = _object({"managers": {"type": "array", "items": _AGING_ROW}, "totals": {"type": "array", "items": _AGING_ROW}})
CASH_IN = _list("items", _object({"month": _TEXT, "currency": _TEXT, "expected": _money(), "items": _INT}))
PAYMENTS = _list("items", PAYMENT)


def _doc(route: Route, **description: Any) -> Route:
    """The route, described in the OpenAPI document (:func:`crmkit.web.document`: the request body,
    the response, the success status, query parameters and extra error statuses)."""
    return document(route, **description)


def _service(request: Request) -> Installments:
    return Installments(request.app.state.crm, request_user_id(request))


async def _body(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of the request, checked against its documented ``schema`` (a missing required
    field is left to the handler and the service: an unknown field is named first)."""
    return await read_json_body(request, {k: v for k, v in schema.items() if k != "required"})


def _int(request: Request, name: str) -> int:
    """A path parameter (declared ``:int`` in the route)."""
    return int(request.path_params[name])


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(fn, *args, **kwargs)


async def get_plan(request: Request) -> JSONResponse:
    """The plan of a deal (the original or its control copy) and its schedule."""
    plan = await _call(_service(request).plan, _int(request, "deal_id"))
    return JSONResponse(plan.to_json())


async def create_plan(request: Request) -> JSONResponse:
    """Put an installment plan on a deal."""
    body = await _body(request, PLAN_BODY)
    replace = body.pop("replace", False)
    if not isinstance(replace, bool):
        raise ValidationError("replace: expected true or false", field="replace")
    plan = await _call(_service(request).create_plan, _int(request, "deal_id"), replace=replace, **body)
    return JSONResponse(plan.to_json(), status_code=201)


async def list_payments(request: Request) -> JSONResponse:
    """The plan's payments with their allocations."""
    found = await _call(_service(request).payments, _int(request, "deal_id"))
    return JSONResponse({"items": [p.to_json() for p in found]})


async def record_payment(request: Request) -> JSONResponse:
    """Record a received payment."""
    body = await _body(request, PAYMENT_BODY)
    if "amount" not in body:
        raise ValidationError("amount: is required", field="amount")
    amount = body.pop("amount")
    payment = await _call(_service(request).record_payment, _int(request, "deal_id"), amount, **body)
    return JSONResponse(payment.to_json(), status_code=201)


async def reverse_payment(request: Request) -> JSONResponse:
    """Reverse a payment, with a reason."""
    body = await _body(request, REVERSAL_BODY)
    payment = await _call(_service(request).reverse_payment, _int(request, "payment_id"),
                          reason=body.get("reason", ""))
    return JSONResponse(payment.to_json())


async def aging_report(request: Request) -> JSONResponse:
    """Aging of unpaid installments per manager and in total."""
    svc = _service(request)
    managers, totals = await _call(aging, svc.crm, svc.actor_id)
    return JSONResponse({"managers": [r.to_json() for r in managers], "totals": [r.to_json() for r in totals]})


async def cash_in_report(request: Request) -> JSONResponse:
    """Expected cash-in by month."""
    svc = _service(request)
    raw = request.query_params.get("months", "12")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3:  # int() also reads "²" and "٣"
        raise ValidationError("months: a whole number from 1 to 120", field="months")
    rows = await _call(cash_in, svc.crm, svc.actor_id, months=int(raw))
    return JSONResponse({"items": [r.to_json() for r in rows]})


def routes() -> list[Route]:
    """The plugin's routes (crmkit mounts them under ``/api/v1/installments``)."""
    months = Param("months", {"type": "integer", "minimum": 1, "maximum": 120}, "months ahead (default 12)")
    return [
        _doc(Route("/plans/{deal_id:int}", get_plan, methods=["GET"]), response=PLAN),
        _doc(Route("/plans/{deal_id:int}", create_plan, methods=["POST"]), body=PLAN_BODY, response=PLAN,
             status=201),
        _doc(Route("/plans/{deal_id:int}/payments", list_payments, methods=["GET"]), response=PAYMENTS),
        _doc(Route("/plans/{deal_id:int}/payments", record_payment, methods=["POST"]), body=PAYMENT_BODY,
             response=PAYMENT, status=201),
        _doc(Route("/payments/{payment_id:int}/reverse", reverse_payment, methods=["POST"]),
             body=REVERSAL_BODY, response=PAYMENT, errors=(409,)),
        _doc(Route("/reports/aging", aging_report, methods=["GET"]), response=AGING),
        _doc(Route("/reports/cash-in", cash_in_report, methods=["GET"]), query=(months,), response=CASH_IN),
    ]

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
malformed or too deeply nested JSON 400, an unknown field or a string no database stores 422.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crmkit import ValidationError
from crmkit.web import read_json_body, request_user_id

from .reports import aging, cash_in
from .service import Installments

_PLAN_KEYS = ("payments", "start", "dates", "total", "down_payment", "currency", "replace")
_PAYMENT_KEYS = ("amount", "paid_on", "method", "reference", "currency")


def _service(request: Request) -> Installments:
    return Installments(request.app.state.crm, request_user_id(request))


async def _body(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object of the request with only ``allowed`` fields (the service checks their values)."""
    schema = {"type": "object", "additionalProperties": False, "properties": {k: {} for k in allowed}}
    return await read_json_body(request, schema)


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
    body = await _body(request, _PLAN_KEYS)
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
    body = await _body(request, _PAYMENT_KEYS)
    if "amount" not in body:
        raise ValidationError("amount: is required", field="amount")
    amount = body.pop("amount")
    payment = await _call(_service(request).record_payment, _int(request, "deal_id"), amount, **body)
    return JSONResponse(payment.to_json(), status_code=201)


async def reverse_payment(request: Request) -> JSONResponse:
    """Reverse a payment, with a reason."""
    body = await _body(request, ("reason",))
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
    return [
        Route("/plans/{deal_id:int}", get_plan, methods=["GET"]),
        Route("/plans/{deal_id:int}", create_plan, methods=["POST"]),
        Route("/plans/{deal_id:int}/payments", list_payments, methods=["GET"]),
        Route("/plans/{deal_id:int}/payments", record_payment, methods=["POST"]),
        Route("/payments/{payment_id:int}/reverse", reverse_payment, methods=["POST"]),
        Route("/reports/aging", aging_report, methods=["GET"]),
        Route("/reports/cash-in", cash_in_report, methods=["GET"]),
    ]

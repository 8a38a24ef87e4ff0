"""``/reports``: the catalog; ``/reports/{name}``: one KPI report as JSON, under the caller's record rules.

Definitions of every figure: docs/reports.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.reports import REPORTS, run_report
from ...core.reports.segments import CHOICES
from ...core.reports.scope import options_of
from ..operation import Ctx, Operation, Param
from ..schemas import text

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm

_DAY = {"type": "string", "maxLength": 40}
SCOPE_PARAMS = (
    Param("from", _DAY, "first day of the period (YYYY-MM-DD, included) or an ISO time with its offset"),
    Param("to", _DAY, "last day of the period (YYYY-MM-DD, included) or an ISO time (excluded)"),
    Param("team", text(100), "only the cards of this team's users"),
    Param("manager", {"type": "string", "maxLength": 254}, "only the cards of this user (id or e-mail)"),
    Param("pipeline", text(63), "only the deals of this pipeline (funnel, time_in_stage: its stages)"),
    Param("source", text(200), "only leads and deals of this UTM source"),
    Param("channel", text(40), "only leads and deals that came in this way (web_form, call, email, ...)"),
    Param("currency", {"type": "string", "pattern": "^[A-Za-z]{3}$"},
          "the currency of money columns of mixed reports (default: the deployment's)"),
    Param("compare_to", text(50), "also the period before: previous, year or FROM..TO (dates)"),
)
SEGMENT_FILTERS = (
    Param("lifecycle", {"type": "string", "enum": list(CHOICES["lifecycle"])},
          "lifecycle stage (potential, active, regular, lost), as the worker last computed it"),
    Param("rfm_segment", {"type": "string", "enum": list(CHOICES["rfm_segment"])},
          "RFM segment (champions, loyal, ...), as the worker last computed it"),
)
"""The customer-segment filters of the contact and company lists (docs/reports.md)."""
_VALUE: dict[str, Any] = {"description": "a number, a text, null, or money as {amount, currency}"}
REPORT_SCHEMA = {
    "type": "object", "required": ["report", "scope", "keys", "metrics", "rows"],
    "properties": {
        "report": {"type": "string"}, "scope": {"type": "object"}, "compare_to": {"type": "object"},
        "keys": {"type": "array", "items": {"type": "string"}},
        "metrics": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object", "additionalProperties": _VALUE}},
    },
}


def operations(crm: "Crm") -> list[Operation]:
    def catalog(ctx: Ctx) -> Any:
        return {"items": [{"name": s.name, "summary": s.summary} for s in REPORTS.values()]}

    ops = [Operation("GET", "/reports", catalog, "The reports and what each measures", "reports", "list_reports",
                     response={"type": "object", "required": ["items"], "properties": {"items": {
                         "type": "array", "items": {"type": "object", "required": ["name", "summary"], "properties": {
                             "name": {"type": "string"}, "summary": {"type": "string"}}}}}})]
    for spec in REPORTS.values():
        ops.append(Operation(
            "GET", f"/reports/{spec.name}", _handler(spec.name), spec.summary[:1].upper() + spec.summary[1:],
            "reports", f"report_{spec.name}", query=SCOPE_PARAMS, response=REPORT_SCHEMA,
            description="Computed over the cards the caller may read (a manager's report covers their own "
                        "cards). With `compare_to`, each metric `m` comes as `m_before`, `m` and `m_change`.",
        ))
    return ops


def _handler(name: str) -> Any:
    def handler(ctx: Ctx) -> Any:
        query = dict(ctx.query)
        return run_report(ctx.services, name, compare_to=query.get("compare_to"), **options_of(query)).to_json()

    handler.__name__ = f"report_{name}"
    return handler

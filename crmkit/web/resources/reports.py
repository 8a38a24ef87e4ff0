"""``/reports``: the catalog; ``/reports/{name}``: one KPI report as JSON, under the caller's record rules.

Definitions of every figure: docs/reports.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.reports import REPORTS, run_report
from ...core.records import to_dict
from ...core.reports.scores import SERVICES, ranked, scores_of
from ...core.reports.segments import CHOICES
from ...core.reports.scope import options_of
from ..operation import ID_SCHEMA, Ctx, Operation, Param
from ..params import PAGING, paging
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
    Param("lifecycle", {"type": "string", "enum": ["potential", "active", "regular", "lost"]},
          "only leads and deals of contacts in this lifecycle stage"),
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
    return ops + score_operations()


def score_operations() -> list[Operation]:
    """``/reports/scores/{entity_type}``: cards ranked by a model's score; ``.../{id}``: one card's scores."""
    def top(ctx: Ctx) -> Any:
        query = dict(ctx.query)
        model = query.pop("model", "lead_win")
        _, limit, cursor = paging(query)
        page = ranked(ctx.services, _entity(ctx), model, limit=limit, cursor=cursor)
        return {"items": [{**to_dict(card), "score": score} for card, score in page.items],
                "next_cursor": page.next_cursor}

    def of(ctx: Ctx) -> Any:
        return {"scores": scores_of(ctx.services, _entity(ctx), ctx.id)}

    item = {"type": "object", "required": ["id", "score"], "properties": {
        "id": ID_SCHEMA, "score": {"type": "number", "minimum": 0, "maximum": 1}}}
    return [
        Operation("GET", "/reports/scores/{entity_type}", top, "Cards ranked by a score, highest first", "reports",
                  "ranked_by_score", errors=(404,),
                  query=(Param("model", text(100), "the score's model (default lead_win)"), *PAGING),
                  response={"type": "object", "required": ["items", "next_cursor"], "properties": {
                      "items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}}},
                  description="Cards the caller may read that have a score of `model` (the worker's `core.scores` "
                              "job stores them), each card's record plus `score`."),
        Operation("GET", "/reports/scores/{entity_type}/{id:int}", of, "A card's scores", "reports", "card_scores",
                  response={"type": "object", "required": ["scores"], "properties": {
                      "scores": {"type": "object", "additionalProperties": {"type": "number"}}}}),
    ]


def _entity(ctx: Ctx) -> str:
    etype = ctx.path["entity_type"]
    if etype not in SERVICES:
        from ...core.errors import NotFoundError

        raise NotFoundError(f"no scored card type {str(etype)[:40]!r} (card types: {', '.join(SERVICES)})")
    return str(etype)


def _handler(name: str) -> Any:
    def handler(ctx: Ctx) -> Any:
        query = dict(ctx.query)
        return run_report(ctx.services, name, compare_to=query.get("compare_to"), **options_of(query)).to_json()

    handler.__name__ = f"report_{name}"
    return handler

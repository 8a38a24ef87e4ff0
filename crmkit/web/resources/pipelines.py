"""``/pipelines``: the deployment's pipelines with their ordered stages; ``/lost-reasons``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ...core.errors import NotFoundError
from ...core.records import LostReason, Pipeline, Stage, to_dict
from ..operation import Ctx, Operation
from ..schemas import record_schema

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm


def pipeline_dict(p: Pipeline) -> dict[str, Any]:
    data = {f.name: getattr(p, f.name) for f in attrs.fields(Pipeline) if f.name != "stages"}
    return {**data, "stages": [to_dict(s) for s in p.stages]}


def operations(crm: "Crm") -> list[Operation]:
    stage = record_schema(Stage)
    rec = record_schema(Pipeline)
    rec = {**rec, "properties": {**rec["properties"], "stages": {"type": "array", "items": stage}}}

    def items(schema: Any) -> Any:
        return {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": schema}}}

    def find(ctx: Ctx) -> Pipeline:
        for p in ctx.crm.pipelines:
            if p.key == ctx.path["key"]:
                return p
        raise NotFoundError(f"pipeline {ctx.path['key']!r} does not exist")

    return [
        Operation("GET", "/pipelines", lambda ctx: {"items": [pipeline_dict(p) for p in ctx.crm.pipelines]},
                  "List pipelines with their stages", "pipelines", "list_pipelines", response=items(rec), inline=True),
        Operation("GET", "/pipelines/{key}", lambda ctx: pipeline_dict(find(ctx)), "Get a pipeline",
                  "pipelines", "get_pipeline", response=rec, inline=True),
        Operation("GET", "/pipelines/{key}/stages", lambda ctx: {"items": [to_dict(s) for s in find(ctx).stages]},
                  "A pipeline's stages in order", "pipelines", "list_stages", response=items(stage), inline=True),
        Operation("GET", "/lost-reasons", lambda ctx: {"items": [to_dict(r) for r in ctx.crm.lost_reasons]},
                  "The deployment's lost reasons", "pipelines", "list_lost_reasons",
                  response=items(record_schema(LostReason)), inline=True),
    ]

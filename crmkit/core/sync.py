"""Start-up: create the enabled tables and write declared pipelines and lost reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, MetaData, func, insert, select, update

from . import schema
from .errors import ConfigError
from .pipelines import PipelineSpec
from .records import LostReason, Pipeline, Stage
from .services.base import inserted_id
from .settings import LostReasonSpec


def create_tables(conn: Connection, metadatas: Iterable[MetaData]) -> None:
    for md in metadatas:
        md.create_all(conn, checkfirst=True)


def sync_lost_reasons(conn: Connection, specs: Sequence[LostReasonSpec]) -> None:
    t = schema.lost_reasons
    existing = {r.key: r for r in conn.execute(select(t))}
    for spec in specs:
        row = existing.pop(spec.key, None)
        if row is None:
            conn.execute(insert(t).values(key=spec.key, label=spec.label, active=True))
        elif row.label != spec.label or not row.active:
            conn.execute(update(t).where(t.c.id == row.id).values(label=spec.label, active=True))
    for row in existing.values():
        if row.active:
            conn.execute(update(t).where(t.c.id == row.id).values(active=False))


def sync_pipelines(conn: Connection, specs: Sequence[PipelineSpec], now: datetime) -> None:
    """Make the database match the declarations.

    A stage that is no longer declared is retired (kept for history) -- unless
    deals still sit in it, which is refused with a clear message.
    """
    p, s = schema.pipelines, schema.stages
    existing = {r.key: r for r in conn.execute(select(p))}
    for spec in specs:
        row = existing.pop(spec.key, None)
        if row is None:
            pid = inserted_id(conn.execute(insert(p).values(key=spec.key, name=spec.name, origin=spec.origin, active=True)))
        else:
            pid = row.id
            if (row.name, row.origin, row.active) != (spec.name, spec.origin, True):
                conn.execute(update(p).where(p.c.id == pid).values(name=spec.name, origin=spec.origin, active=True))
        stages = {r.key: r for r in conn.execute(select(s).where(s.c.pipeline_id == pid))}
        for position, st in enumerate(spec.stages):
            old = stages.pop(st.key, None)
            values = {"name": st.name, "kind": st.kind, "position": position, "active": True}
            if old is None:
                conn.execute(insert(s).values(pipeline_id=pid, key=st.key, **values))
            elif (old.name, old.kind, old.position, old.active) != tuple(values.values()):
                _refuse_kind_change(conn, spec, old, st.kind)
                conn.execute(update(s).where(s.c.id == old.id).values(**values))
        mapping = dict(spec.stage_map)
        current = {r.key: r.id for r in conn.execute(select(s).where(s.c.pipeline_id == pid))}
        for old in stages.values():
            if old.key in mapping:
                _remap(conn, spec.key, pid, old, current[mapping[old.key]], mapping[old.key], now)
            if old.active:
                _refuse_if_occupied(conn, spec.key, old)
                conn.execute(update(s).where(s.c.id == old.id).values(active=False))
    for row in existing.values():
        if row.active:
            for old in conn.execute(select(s).where(s.c.pipeline_id == row.id, s.c.active.is_(True))):
                _refuse_if_occupied(conn, row.key, old)
            conn.execute(update(p).where(p.c.id == row.id).values(active=False))


def _remap(conn: Connection, pipeline: str, pid: int, old: Any, new_id: int, new_key: str, now: datetime) -> None:
    """Move the deals of a retired stage as ``stage_map`` says, with history and events."""
    d = schema.deals.c
    ids = list(conn.scalars(select(d.id).where(d.stage_id == old.id)))
    if not ids:
        return
    conn.execute(update(schema.deals).where(d.stage_id == old.id).values(stage_id=new_id, stage_entered_at=now))
    conn.execute(insert(schema.stage_history), [
        {"deal_id": i, "pipeline_id": pid, "from_stage_id": old.id, "to_stage_id": new_id, "actor_id": None,
         "moved_at": now} for i in ids])
    conn.execute(insert(schema.events), [
        {"type": "deal.stage_changed", "entity_type": "deal", "entity_id": i, "actor_id": None, "occurred_at": now,
         "payload": {"changes": {"stage": {"before": old.key, "after": new_key}},
                     "data": {"pipeline": pipeline, "reason": "stage_map in the pipeline declaration"}}}
        for i in ids])


def _cards_in(conn: Connection, stage_id: int) -> int:
    deals = conn.scalar(select(func.count()).select_from(schema.deals).where(schema.deals.c.stage_id == stage_id))
    leads = conn.scalar(select(func.count()).select_from(schema.leads).where(schema.leads.c.stage_id == stage_id))
    return int(deals or 0) + int(leads or 0)


def _refuse_if_occupied(conn: Connection, pipeline: str, stage: Any) -> None:
    n = _cards_in(conn, stage.id)
    if n:
        raise ConfigError(
            f"pipeline {pipeline!r}: stage {stage.key!r} is no longer declared but still holds {n} card(s); "
            f"keep it, move its deals first, or map it: stage_map = {{ {stage.key} = \"<stage>\" }}"
        )


def _refuse_kind_change(conn: Connection, spec: PipelineSpec, old: Any, kind: str) -> None:
    if old.kind != kind:
        n = _cards_in(conn, old.id)
        if n:
            raise ConfigError(
                f"pipeline {spec.key!r}: stage {old.key!r} changes kind from {old.kind} to {kind} "
                f"but holds {n} deal(s); move them first"
            )


def load_pipelines(conn: Connection) -> list[Pipeline]:
    p, s = schema.pipelines, schema.stages
    pipes = {r.id: r for r in conn.execute(select(p).where(p.c.active.is_(True)))}
    stages: dict[int, list[Stage]] = {pid: [] for pid in pipes}
    for r in conn.execute(select(s).order_by(s.c.pipeline_id, s.c.position)):
        pipe = pipes.get(r.pipeline_id)
        st = Stage(id=r.id, pipeline_id=r.pipeline_id, pipeline=pipe.key if pipe else "?", key=r.key, name=r.name,
                   kind=r.kind, position=r.position)
        if pipe is not None and r.active:
            stages[r.pipeline_id].append(st)
    return [Pipeline(id=pid, key=r.key, name=r.name, stages=tuple(stages[pid])) for pid, r in pipes.items()]


def load_all_stages(conn: Connection) -> dict[int, Stage]:
    p, s = schema.pipelines, schema.stages
    keys = dict(conn.execute(select(p.c.id, p.c.key)).all())
    return {
        r.id: Stage(id=r.id, pipeline_id=r.pipeline_id, pipeline=keys.get(r.pipeline_id, "?"), key=r.key,
                    name=r.name, kind=r.kind, position=r.position)
        for r in conn.execute(select(s))
    }


def load_lost_reasons(conn: Connection) -> list[LostReason]:
    t = schema.lost_reasons
    return [LostReason(id=r.id, key=r.key, label=r.label) for r in conn.execute(select(t).where(t.c.active.is_(True)))]

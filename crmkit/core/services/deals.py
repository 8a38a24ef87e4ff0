"""Deals: one sale's card, moving through a pipeline's stages.

Every stage move writes a stage-history row (from, to, who, when) and a
``deal.stage_changed`` event in the same transaction; ``data["to_kind"]`` says
whether the deal was won, lost or just moved.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Connection, Row, Select, func, insert, select

from .. import schema
from ..errors import ValidationError
from ..events import created, diff, to_json_value
from ..money import Money
from ..prepared import Insert
from ..records import Deal, Page, Stage, StageMove
from . import amounts
from .archive import Archivable
from .base import (
    DEFAULT_PAGE, MAX_PAGE, Service, check_id, check_limit, check_text, check_unknown, id_cursor, inserted_id,
)
from .leads import _SOURCE
from .lost import reason_label, resolve_reason
from .refs import check_ref
from .userref import resolve_values, user_filter
from .utm import COLUMNS, clean_utm, utm_of
from .versioned import bump, locked_row

_FIELDS = frozenset({"title", "amount", "currency", "responsible_id", "contact_id", "company_id", "source", "utm",
                     "custom"})
_COPIED = ("title", "amount_minor", "currency", "responsible_id", "contact_id", "company_id", "lead_id", "source",
           "custom", *COLUMNS)


_INSERT_DEAL = Insert(schema.deals)
_INSERT_HISTORY = Insert(schema.stage_history)

StageTotals = dict[str, tuple[int, list[Money]]]
"""Per stage key: how many deals, and their amounts summed per currency."""


class DealService(Archivable[Deal]):
    entity = "deal"
    table = schema.deals
    filterable = {
        "status": "status", "responsible_id": "responsible_id", "contact_id": "contact_id",
        "company_id": "company_id", "lead_id": "lead_id", "source": "source", "currency": "currency",
        "id": "id", "created_at": "created_at", "closed_at": "closed_at", "origin_deal_id": "origin_deal_id",
        **{c: c for c in COLUMNS},
    }
    sortable = ("id", "created_at", "updated_at", "stage_entered_at", "title", "amount", "score")
    score_model = "lead_win"  # the model ``order="score"`` sorts by (crmkit.core.reports.score_order)
    choices = {"status": ("open", "won", "lost")}

    def _record(self, row: Row[Any]) -> Deal:
        stage = self.crm.stage_by_id(row.stage_id)
        return Deal(
            id=row.id, title=row.title, pipeline=stage.pipeline, stage=stage.key, status=row.status,
            amount=Money.from_minor(row.amount_minor, row.currency) if row.amount_minor is not None else None,
            responsible_id=row.responsible_id, contact_id=row.contact_id, company_id=row.company_id,
            lead_id=row.lead_id, origin_deal_id=row.origin_deal_id, source=row.source, utm=utm_of(row),
            lost_reason=reason_label(self.crm, row.lost_reason_id, row.lost_reason_text),
            stage_entered_at=row.stage_entered_at, closed_at=row.closed_at, custom=row.custom or {},
            created_at=row.created_at, updated_at=row.updated_at, version=row.version, archived_at=row.archived_at,
        )

    def _special_filter(self, query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
        if name == "pipeline":
            if op != "eq":
                raise ValidationError("pipeline: only equality filters", field="pipeline")
            return query.where(self.table.c.pipeline_id == self.crm.pipeline(value).id)
        if name == "stage":
            stages = {s.key: s.id for p in self.crm.pipelines for s in p.stages}
            keys = value if op == "in" else [value]
            ids = [sid for p in self.crm.pipelines for s in p.stages if s.key in keys for sid in [s.id]]
            if not ids:
                raise ValidationError(f"stage: no stage {value!r} (stages: {', '.join(sorted(stages))})", field="stage")
            return query.where(self.table.c.stage_id.in_(ids))
        if name == "amount":
            return query.where(amounts.amount_condition(self.table, op, value))
        return user_filter(self, query, name, op, value)

    # -- lists ------------------------------------------------------------------

    def _filter_value(self, name: str, value: Any) -> Any:
        return value.upper() if name == "currency" and isinstance(value, str) else value

    def list(self, filters: Mapping[str, Any] | None = None, *, limit: int = DEFAULT_PAGE, cursor: str | None = None,
             order: str = "id", **kw_filters: Any) -> Page[Deal]:
        """A page of deals (see :meth:`Service.list`); ``amount`` filters and the ``amount`` /
        ``-amount`` orders keep to one currency at a time (:mod:`~crmkit.core.services.amounts`);
        ``score`` / ``-score`` sort by the ``lead_win`` score (:mod:`~crmkit.core.reports.score_order`)."""
        wanted = amounts.money_filters({**(filters or {}), **kw_filters}, self.crm.settings.default_currency)
        if order in ("score", "-score"):
            from ..reports import score_order  # the latest lead_win score, unscored last
            return score_order.page(self, wanted, order, cursor, limit)  # type: ignore[no-any-return]
        if order not in amounts.ORDERS:
            return super().list(wanted, limit=limit, cursor=cursor, order=order)
        check_limit(limit)
        query = select(self.table)
        visible = self.access.visible(self.entity, self.table)
        if visible is not None:
            query = query.where(visible)
        query = amounts.apply(self._apply_filters(query, wanted), self.table, order, cursor, limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([self._record(r) for r in rows], amounts.encode(rows[-1]) if more else None)

    def count(self, filters: Mapping[str, Any] | None = None, **kw_filters: Any) -> int:
        return super().count(amounts.money_filters({**(filters or {}), **kw_filters},
                                                   self.crm.settings.default_currency))

    def stage_totals(self, pipeline: str) -> StageTotals:
        """Per stage key of ``pipeline``: how many deals (that the acting user may read, archived
        ones left out as in lists) and the sum of their amounts per currency, in one SQL aggregate."""
        p = self.crm.pipeline(pipeline)
        d = self.table.c
        query = (select(d.stage_id, d.currency, func.count(), func.sum(d.amount_minor))
                 .where(d.pipeline_id == p.id).group_by(d.stage_id, d.currency))
        visible = self.access.visible(self.entity, self.table)
        if visible is not None:
            query = query.where(visible)
        query = self._apply_filters(query, {})
        with self._read() as conn:
            rows = conn.execute(query).all()
        keys = {s.id: s.key for s in p.stages}
        totals: StageTotals = {s.key: (0, []) for s in p.stages}
        for stage_id, currency, count, minor in sorted(rows, key=lambda r: (r[0], r[1] or "")):
            key = keys.get(stage_id)
            if key is None:
                continue
            n, sums = totals[key]
            if currency is not None and minor is not None:
                sums = [*sums, Money.from_minor(int(minor), currency)]
            totals[key] = (n + int(count), sums)
        return totals

    # -- validation -------------------------------------------------------------

    def _clean(self, conn: Connection, values: Mapping[str, Any], current: Row[Any] | None = None) -> dict[str, Any]:
        values = resolve_values(conn, self.access, values, ("responsible_id",), "deal", self.crm)
        self.access.require_visible_links(conn, values, current=current)
        out: dict[str, Any] = {}
        if "title" in values:
            out["title"] = check_text(values["title"], "title", required=True)
        if "amount" in values or "currency" in values:
            amount: Any = values.get("amount") if "amount" in values else (
                Money.from_minor(current.amount_minor, current.currency).amount
                if current is not None and current.amount_minor is not None else None)
            currency = values.get("currency") or (current.currency if current is not None and current.currency
                                                  else self.crm.settings.default_currency)
            if isinstance(amount, Money):
                amount, currency = amount.amount, amount.currency
            if amount is None or amount == "":
                out["amount_minor"], out["currency"] = None, None
            else:
                money = Money.parse(amount, currency)
                if money.amount < 0:
                    raise ValidationError("amount: must not be negative", field="amount")
                out["amount_minor"], out["currency"] = money.minor_units, money.currency
        if "responsible_id" in values:
            out["responsible_id"] = self._check_user(conn, values["responsible_id"], "responsible_id")
        if "contact_id" in values:
            out["contact_id"] = check_ref(conn, schema.contacts, values["contact_id"], "contact_id", "contact")
        if "company_id" in values:
            out["company_id"] = check_ref(conn, schema.companies, values["company_id"], "company_id", "company")
        if "lead_id" in values:
            out["lead_id"] = check_ref(conn, schema.leads, values["lead_id"], "lead_id", "lead")
        if "source" in values:
            if not isinstance(values["source"], str) or not _SOURCE.match(values["source"]):
                raise ValidationError(f"source: {values['source']!r} is not a source name", field="source")
            out["source"] = values["source"]
        if "utm" in values:
            out.update(clean_utm(values["utm"]))
        if "custom" in values or current is None:
            out["custom"] = self._clean_custom(conn, values.get("custom"), current.custom if current is not None else None)
        return out

    def _target_stage(self, pipeline_key: str, stage_key: str | None, kind: str | None = None) -> Stage:
        pipeline = self.crm.pipeline(pipeline_key)
        if pipeline.key == self.crm.settings.lead_pipeline:  # leads and deals keep to their own pipelines
            deal_pipelines = ", ".join(p.key for p in self.crm.pipelines if p.key != pipeline.key) or "none declared"
            raise ValidationError(f"pipeline: {pipeline.key!r} is the lead pipeline; deals go in {deal_pipelines}",
                                  field="pipeline")
        if stage_key is None:
            wanted = kind or "open"
            stage = next((s for s in pipeline.stages if s.kind == wanted), None)
            if stage is None:
                raise ValidationError(f"stage: pipeline {pipeline.key!r} has no {wanted} stage", field="stage")
            return stage
        stage = pipeline.stage(stage_key) if isinstance(stage_key, str) else None
        if stage is None:
            keys = ", ".join(s.key for s in pipeline.stages)
            raise ValidationError(f"stage: {stage_key!r} is not a stage of {pipeline.key!r} (stages: {keys})", field="stage")
        if kind is not None and stage.kind != kind:
            raise ValidationError(f"stage: {stage.key!r} is a {stage.kind} stage, not {kind}", field="stage")
        return stage

    # -- commands ---------------------------------------------------------------

    def create(
        self, *, title: str, pipeline: str | None = None, stage: str | None = None, amount: Any = None,
        currency: str | None = None, responsible_id: int | None = None, contact_id: int | None = None,
        company_id: int | None = None, lead_id: int | None = None, source: str = "manual",
        utm: Mapping[str, str] | None = None, custom: Mapping[str, Any] | None = None,
    ) -> Deal:
        """Create a deal in ``pipeline`` (default: the sales pipeline) at ``stage`` (default: its first stage)."""
        target = self._target_stage(pipeline or self.crm.settings.sales_pipeline, stage)
        if target.kind != "open":
            raise ValidationError(f"stage: a new deal starts in an open stage, {target.key!r} is {target.kind}", field="stage")
        with self._tx() as tx:
            values = self._clean(tx.conn, {
                "title": title, "amount": amount, "currency": currency, "responsible_id": responsible_id if responsible_id is not None else self.actor_id,
                "contact_id": contact_id, "company_id": company_id, "lead_id": lead_id, "source": source,
                "utm": utm, "custom": custom,
            })
            row = dict(values, pipeline_id=target.pipeline_id, stage_id=target.id, status="open",
                       stage_entered_at=tx.now, created_at=tx.now, updated_at=tx.now, version=1)
            new_id = _INSERT_DEAL(tx.conn, row)
            self._history(tx.conn, new_id, target, None, tx.actor_id, tx.now)
            tx.emit("deal.created", "deal", new_id,
                    created({**self._public(values), "pipeline": target.pipeline, "stage": target.key}),
                    data={"pipeline": target.pipeline, "stage": target.key})
            return self._record(self._written(new_id, row))

    def copy(self, id: int, *, pipeline: str, stage: str | None = None, once: bool = False) -> Deal:
        """Copy a deal into ``pipeline`` (e.g. won installment sales into "Installment control").

        The copy keeps the customer, amount, source and custom fields and links back
        through ``origin_deal_id``; both cards' timelines record the copy. With
        ``once=True`` an existing copy in that pipeline is returned instead of a second
        one (so a crmkit.toml rule and a plugin can both ask for it).
        """
        target = self._target_stage(pipeline, stage)
        if target.kind != "open":
            raise ValidationError(f"stage: a copy starts in an open stage, {target.key!r} is {target.kind}", field="stage")
        with self._tx() as tx:
            row = self._row(tx.conn, id, write=True)
            if once:
                d = self.table.c
                existing = tx.conn.execute(select(self.table).where(
                    d.origin_deal_id == row.id, d.pipeline_id == target.pipeline_id).order_by(d.id).limit(1)).first()
                if existing is not None:
                    return self._record(existing)
            values = {k: row._mapping[k] for k in _COPIED}
            new_id = inserted_id(tx.conn.execute(insert(self.table).values(
                **values, origin_deal_id=row.id, pipeline_id=target.pipeline_id, stage_id=target.id, status="open",
                stage_entered_at=tx.now, created_at=tx.now, updated_at=tx.now, version=1,
            )))
            self._history(tx.conn, new_id, target, None, tx.actor_id, tx.now)
            tx.emit("deal.copied", "deal", row.id, data={"copy_id": new_id, "pipeline": target.pipeline})
            tx.emit("deal.created", "deal", new_id,
                    created({**self._public(values), "pipeline": target.pipeline, "stage": target.key}),
                    data={"pipeline": target.pipeline, "stage": target.key, "copied_from": row.id})
            return self._record(self._reload(tx.conn, new_id))

    def update(self, id: int, changes: Mapping[str, Any], *, version: int | None = None) -> Deal:
        """Change fields (not the stage: use :meth:`move`, :meth:`win`, :meth:`lose`)."""
        if "stage" in changes or "pipeline" in changes:
            raise ValidationError("stage: change the stage with move, win or lose", field="stage")
        check_unknown(changes, _FIELDS, "a deal")
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            values = self._clean(tx.conn, changes, row)
            before = self._public({k: getattr(row, k) for k in values}, row)
            self._bump(tx, row, values, version)
            tx.emit("deal.updated", "deal", row.id, diff(before, self._public(values)))
            return self._record(self._reload(tx.conn, row.id))

    def move(self, id: int, stage: str, *, pipeline: str | None = None, version: int | None = None,
             reason: str | None = None, reason_text: str | None = None) -> Deal:
        """Move a deal to ``stage`` (of its pipeline, or of ``pipeline``). A lost stage needs a reason."""
        with self._tx() as tx:
            row = locked_row(self, tx.conn, id)
            current = self.crm.stage_by_id(row.stage_id)
            target = self._target_stage(pipeline or current.pipeline, stage)
            return self._move(tx, row, current, target, version, reason, reason_text)

    def win(self, id: int, *, stage: str | None = None, version: int | None = None) -> Deal:
        """Close a deal as won (the pipeline's first won stage unless ``stage`` names one)."""
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            current = self.crm.stage_by_id(row.stage_id)
            target = self._target_stage(current.pipeline, stage, "won")
            return self._move(tx, row, current, target, version, None, None)

    def lose(self, id: int, *, reason: str | None = None, reason_text: str | None = None,
             stage: str | None = None, version: int | None = None) -> Deal:
        """Close a deal as lost. ``reason`` (a lost-reason key) or ``reason_text`` is required."""
        resolve_reason(self.crm, reason, reason_text)  # refuse before taking the write lock
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            current = self.crm.stage_by_id(row.stage_id)
            target = self._target_stage(current.pipeline, stage, "lost")
            return self._move(tx, row, current, target, version, reason, reason_text)

    def _move(self, tx: Any, row: Row[Any], current: Stage, target: Stage, version: int | None,
              reason: str | None, reason_text: str | None) -> Deal:
        if target.id == row.stage_id:  # nothing to move, but a stale version is still a conflict
            if version is not None and check_id(version, "version") != row.version:
                self._bump(tx, row, {}, version)  # raises the conflict
            return self._record(row)
        values: dict[str, Any] = {
            "stage_id": target.id, "pipeline_id": target.pipeline_id, "status": target.kind,
            "stage_entered_at": tx.now, "closed_at": tx.now if target.kind != "open" else None,
            "lost_reason_id": None, "lost_reason_text": None,
        }
        data: dict[str, Any] = {"pipeline": target.pipeline, "from_pipeline": current.pipeline,
                                "from_kind": current.kind, "to_kind": target.kind}
        if target.kind == "lost":
            reason_id, text, label = resolve_reason(self.crm, reason, reason_text)
            values.update(lost_reason_id=reason_id, lost_reason_text=text)
            data.update(reason=reason, reason_text=text, reason_label=label)
        written = bump(self.entity, self.table, tx, row, values, version)
        self._history(tx.conn, row.id, target, current, tx.actor_id, tx.now)
        changes = {"stage": {"before": current.key, "after": target.key}}
        if current.pipeline != target.pipeline:
            changes["pipeline"] = {"before": current.pipeline, "after": target.pipeline}
        if row.status != target.kind:
            changes["status"] = {"before": row.status, "after": target.kind}
        tx.emit("deal.stage_changed", "deal", row.id, changes, data=data)
        return self._record(written)

    @staticmethod
    def _history(conn: Connection, deal_id: int, to: Stage, frm: Stage | None, actor: int | None, now: Any) -> None:
        _INSERT_HISTORY(conn, {
            "deal_id": deal_id, "pipeline_id": to.pipeline_id, "from_stage_id": frm.id if frm else None,
            "to_stage_id": to.id, "actor_id": actor, "moved_at": now,
        })

    def _public(self, values: Mapping[str, Any], row: Row[Any] | None = None) -> dict[str, Any]:
        """Field values as callers know them: amount as Money JSON instead of minor units."""
        out = {k: to_json_value(v) for k, v in values.items() if k not in ("amount_minor", "currency")}
        if "amount_minor" in values:
            minor = values["amount_minor"]
            cur = values.get("currency") or (row.currency if row is not None else None)
            out["amount"] = Money.from_minor(minor, cur).to_json() if minor is not None and cur else None
        return out

    def history(self, id: int, *, limit: int = MAX_PAGE, cursor: str | None = None) -> Page[StageMove]:
        """The deal's stage moves, oldest first, a page at a time."""
        check_limit(limit)
        h = schema.stage_history
        query = select(h).where(h.c.deal_id == check_id(id, "id"))
        if cursor:
            query = query.where(h.c.id > id_cursor(cursor))
        with self._read() as conn:
            self._row(conn, id)
            rows = conn.execute(query.order_by(h.c.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        stage = self.crm.stage_by_id
        return Page([
            StageMove(id=r.id, deal_id=r.deal_id, pipeline=stage(r.to_stage_id).pipeline,
                      from_stage=stage(r.from_stage_id).key if r.from_stage_id else None,
                      to_stage=stage(r.to_stage_id).key, actor_id=r.actor_id, moved_at=r.moved_at)
            for r in rows
        ], str(rows[-1].id) if more else None)

"""Leads: first requests from any channel, waiting to be qualified."""

from __future__ import annotations

import re
from typing import Any, Mapping

from sqlalchemy import Connection, Row, func, insert, select

from .. import schema
from ..contacts_info import normalize_email, normalize_phone
from ..errors import ConflictError, ValidationError
from ..events import created, diff, to_json_value
from ..records import Conversion, Lead, Page, Stage
from .archive import Archivable
from .base import DEFAULT_PAGE, check_text, check_unknown, inserted_id
from .lost import reason_label, resolve_reason
from .assignment import assign_lead
from .refs import check_ref, find_contact
from .userref import resolve_values, user_filter
from .utm import COLUMNS, clean_utm, utm_of

SOURCES = ("web_form", "call", "email", "messenger", "manual", "import")
STATUSES = ("new", "in_progress", "converted", "rejected")
_SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FIELDS = frozenset({"title", "name", "company_name", "phone", "email", "source", "responsible_id",
                     "contact_id", "customer_kind", "utm", "custom"})
CUSTOMER_KINDS = ("person", "legal_entity")


class LeadService(Archivable[Lead]):
    entity = "lead"
    table = schema.leads
    filterable = {
        "status": "status", "source": "source", "responsible_id": "responsible_id", "contact_id": "contact_id",
        "phone": "phone", "email": "email", "id": "id", "created_at": "created_at",
        "customer_kind": "customer_kind", **{c: c for c in COLUMNS},
    }
    sortable = ("id", "created_at", "updated_at", "title", "score")
    score_model = "lead_win"  # the model ``order="score"`` sorts by (crmkit.core.reports.score_order)
    choices = {"status": STATUSES, "customer_kind": CUSTOMER_KINDS}

    def list(self, filters: Mapping[str, Any] | None = None, *, limit: int = DEFAULT_PAGE,
             cursor: str | None = None, order: str = "id", **kw_filters: Any) -> Page[Lead]:
        """A page of leads (see :meth:`Service.list`); ``score`` / ``-score`` sort by the latest
        ``lead_win`` score a plugin gave the lead, unscored last (:mod:`~crmkit.core.reports.score_order`)."""
        if order in ("score", "-score"):
            from ..reports import score_order
            return score_order.page(self, {**(filters or {}), **kw_filters}, order, cursor,  # type: ignore[no-any-return]
                                    limit)
        return super().list(filters, limit=limit, cursor=cursor, order=order, **kw_filters)

    def _record(self, row: Row[Any]) -> Lead:
        return Lead(
            id=row.id, title=row.title, name=row.name, company_name=row.company_name, phone=row.phone,
            email=row.email, source=row.source, utm=utm_of(row), status=row.status,
            stage=self.crm.stage_by_id(row.stage_id).key if row.stage_id else None,
            customer_kind=row.customer_kind, responsible_id=row.responsible_id,
            contact_id=row.contact_id, lost_reason=reason_label(self.crm, row.lost_reason_id, row.lost_reason_text),
            closed_at=row.closed_at, custom=row.custom or {}, created_at=row.created_at, updated_at=row.updated_at,
            version=row.version, archived_at=row.archived_at,
        )

    def _special_filter(self, query: Any, name: str, op: str, value: Any) -> Any:
        if name == "stage":
            keys = value if op == "in" else [value]
            pipeline = self.crm.pipeline(self.crm.settings.lead_pipeline) if self.crm.pipeline_spec(
                self.crm.settings.lead_pipeline) else None
            ids = [s.id for s in (pipeline.stages if pipeline else ()) if s.key in keys]
            if not ids:
                known = ", ".join(s.key for s in pipeline.stages) if pipeline else "no lead pipeline"
                raise ValidationError(f"stage: no lead stage {value!r} (stages: {known})", field="stage")
            return query.where(self.table.c.stage_id.in_(ids))
        return user_filter(self, query, name, op, value)

    def stage_counts(self) -> dict[str, int]:
        """How many leads (that the acting user may read, archived ones left out as in lists) each
        stage of the lead pipeline holds, in one SQL aggregate."""
        pipeline = self.crm.pipeline(self.crm.settings.lead_pipeline)
        ld = self.table.c
        query = select(ld.stage_id, func.count()).where(ld.pipeline_id == pipeline.id).group_by(ld.stage_id)
        visible = self.access.visible(self.entity, self.table)
        if visible is not None:
            query = query.where(visible)
        query = self._apply_filters(query, {})
        with self._read() as conn:
            counts = {stage_id: int(n) for stage_id, n in conn.execute(query).all()}
        return {s.key: counts.get(s.id, 0) for s in pipeline.stages}

    def _filter_value(self, name: str, value: Any) -> Any:
        if name == "phone" and value is not None:
            return normalize_phone(value, self.crm.settings.default_region, field="phone")
        if name == "email" and value is not None:
            return normalize_email(value)
        return value

    def _clean(self, conn: Connection, values: Mapping[str, Any], current: Row[Any] | None = None) -> dict[str, Any]:
        values = resolve_values(conn, self.access, values, ("responsible_id",), "lead", self.crm)
        self.access.require_visible_links(conn, values, current=current)
        out: dict[str, Any] = {}
        if "title" in values:
            out["title"] = check_text(values["title"], "title", required=True)
        for name in ("name", "company_name"):
            if name in values:
                out[name] = check_text(values[name], name)
        if "phone" in values:
            out["phone"] = normalize_phone(values["phone"], self.crm.settings.default_region) if values["phone"] else None
        if "email" in values:
            out["email"] = normalize_email(values["email"]) if values["email"] else None
        if "source" in values:
            if not isinstance(values["source"], str) or not _SOURCE.match(values["source"]):
                raise ValidationError(
                    f"source: {values['source']!r} is not a source name (e.g. {', '.join(SOURCES)})", field="source"
                )
            out["source"] = values["source"]
        if "customer_kind" in values:
            if values["customer_kind"] not in (*CUSTOMER_KINDS, None):
                raise ValidationError(f"customer_kind: use {' or '.join(CUSTOMER_KINDS)}", field="customer_kind")
            out["customer_kind"] = values["customer_kind"]
        if "utm" in values:
            out.update(clean_utm(values["utm"]))
        if "responsible_id" in values:
            out["responsible_id"] = self._check_user(conn, values["responsible_id"], "responsible_id")
        if "contact_id" in values:
            out["contact_id"] = check_ref(conn, schema.contacts, values["contact_id"], "contact_id", "contact")
        if "custom" in values or current is None:
            out["custom"] = self._clean_custom(conn, values.get("custom"), current.custom if current is not None else None)
        return out

    def create(
        self, *, title: str, name: str = "", company_name: str = "", phone: str | None = None,
        email: str | None = None, source: str = "manual", responsible_id: int | None = None,
        contact_id: int | None = None, customer_kind: str | None = None, utm: Mapping[str, str] | None = None,
        custom: Mapping[str, Any] | None = None,
    ) -> Lead:
        """Capture a request from any channel (``source``: web_form, call, email, messenger, manual, import).

        A lead whose phone or e-mail belongs to a known contact is linked to it
        (a repeat request is not a stranger), under the record rules: only a contact
        the acting user may read is looked for; an unassigned lead goes to that
        contact's responsible user; and the link is made only when the lead's
        responsible user may read the contact (see :meth:`_link_match`). A lead still
        unassigned then follows the deployment's ``[lead_assignment]`` rule (a queue, or
        round robin over a team: :mod:`~crmkit.core.services.assignment`). It lands in
        the first stage of the lead pipeline.
        """
        stage = self._stage(None)
        with self._tx() as tx:
            values = self._clean(tx.conn, {
                "title": title, "name": name, "company_name": company_name, "phone": phone, "email": email,
                "source": source, "responsible_id": responsible_id, "contact_id": contact_id,
                "customer_kind": customer_kind, "utm": utm, "custom": custom,
            })
            data: dict[str, Any] = {}
            if values.get("contact_id") is None:
                match = find_contact(tx.conn, values.get("phone"), values.get("email"),
                                     visible=self.access.visible("contact", schema.contacts))
                if match is not None and self._link_match(tx.conn, values, match[0]):
                    values["contact_id"], data["matched_by"] = match
                    data["matched_contact_id"] = values["contact_id"]
            if values.get("responsible_id") is None:
                values["responsible_id"] = assign_lead(tx.conn, self.crm.settings.lead_assignment)
                if values["responsible_id"] is not None:
                    data["assigned_by"] = self.crm.settings.lead_assignment.mode
            if stage is not None:
                values.update(pipeline_id=stage.pipeline_id, stage_id=stage.id)
                data.update(pipeline=stage.pipeline, stage=stage.key)
            new_id = inserted_id(tx.conn.execute(
                insert(self.table).values(**values, status="new", created_at=tx.now, updated_at=tx.now, version=1)
            ))
            public = {k: v for k, v in values.items() if k not in ("pipeline_id", "stage_id")}
            tx.emit("lead.created", "lead", new_id, created({**public, "status": "new", "stage": data.get("stage")}),
                    data=data)
            return self._record(self._reload(tx.conn, new_id))

    capture = create

    def _link_match(self, conn: Connection, values: dict[str, Any], contact_id: int) -> bool:
        """Whether a new lead may be linked to the contact its phone or e-mail matched.

        Whoever reads the lead reads its link, so the link must not open the contact to
        anyone the record rules keep it from: an unassigned lead (which every manager
        reads) is first given to the contact's responsible user, a repeat request going
        to the customer's manager; then the lead's responsible user must be able to read
        the contact. No link otherwise: converting the lead makes a new contact and
        flags the likely duplicate on the old one.
        """
        c, u = schema.contacts.c, schema.users.c
        responsible = values.get("responsible_id")
        if responsible is None:
            responsible = conn.execute(select(c.responsible_id).join(schema.users, u.id == c.responsible_id)
                                       .where(c.id == contact_id, u.active.is_(True))).scalar()
            if responsible is None:
                return False
        if not (responsible == self.actor_id and self.access.role is not None):  # else: found under their rules
            if not self.crm.access_for(responsible).can_see(conn, "contact", schema.contacts, contact_id):
                return False
        values["responsible_id"] = responsible
        return True

    def _stage(self, key: str | None, kind: str = "open") -> Stage | None:
        """A stage of the lead pipeline (None when the deployment declares no lead pipeline)."""
        pipeline = self.crm.pipeline_spec(self.crm.settings.lead_pipeline)
        if pipeline is None:
            if key is not None:
                raise ValidationError("stage: this deployment declares no lead pipeline", field="stage")
            return None
        stages = self.crm.pipeline(pipeline.key).stages
        if key is None:
            return next((s for s in stages if s.kind == kind), None)
        found = next((s for s in stages if s.key == key), None)
        if found is None or found.kind != kind:
            keys = ", ".join(s.key for s in stages if s.kind == kind)
            raise ValidationError(f"stage: {key!r} is not an {kind} stage of the lead pipeline ({keys})", field="stage")
        return found

    def move(self, id: int, stage: str, *, version: int | None = None) -> Lead:
        """Move a lead between the open stages of the lead pipeline (qualifying it)."""
        target = self._stage(stage)
        assert target is not None
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            self._require_open(row)
            if row.stage_id == target.id:
                return self._record(row)
            first = self._stage(None)
            status = "new" if first is not None and first.id == target.id else "in_progress"
            before = self.crm.stage_by_id(row.stage_id).key if row.stage_id else None
            self._bump(tx, row, {"stage_id": target.id, "pipeline_id": target.pipeline_id, "status": status}, version)
            tx.emit("lead.stage_changed", "lead", row.id,
                    {"stage": {"before": before, "after": target.key}, **diff({"status": row.status}, {"status": status})},
                    data={"pipeline": target.pipeline})
            return self._record(self._reload(tx.conn, row.id))

    def convert(self, id: int, **kwargs: Any) -> Conversion:
        """Convert a qualified lead: contact (new or matched), company (legal entities only) and deal,
        in one transaction. See :func:`crmkit.core.services.conversion.convert` for the options."""
        from .conversion import convert

        return convert(self, id, **kwargs)

    def update(self, id: int, changes: Mapping[str, Any], *, version: int | None = None) -> Lead:
        check_unknown(changes, _FIELDS, "a lead")
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            self._require_open(row)
            values = self._clean(tx.conn, changes, row)
            before = {k: to_json_value(getattr(row, k)) for k in values}
            self._bump(tx, row, values, version)
            tx.emit("lead.updated", "lead", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            return self._record(self._reload(tx.conn, row.id))

    def reject(self, id: int, *, reason: str | None = None, reason_text: str | None = None,
               version: int | None = None) -> Lead:
        """Close a lead as not a target customer. A reason is required."""
        reason_id, text, label = resolve_reason(self.crm, reason, reason_text, verb="rejecting")
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            self._require_open(row)
            values: dict[str, Any] = {"status": "rejected", "lost_reason_id": reason_id, "lost_reason_text": text,
                                      "closed_at": tx.now}
            changes: dict[str, Any] = {"status": {"before": row.status, "after": "rejected"}}
            lost = self._stage(None, "lost")
            if lost is not None:
                values.update(stage_id=lost.id, pipeline_id=lost.pipeline_id)
                before = self.crm.stage_by_id(row.stage_id).key if row.stage_id else None
                changes["stage"] = {"before": before, "after": lost.key}
            self._bump(tx, row, values, version)
            tx.emit("lead.rejected", "lead", row.id, changes,
                    data={"reason": reason, "reason_text": text, "reason_label": label})
            return self._record(self._reload(tx.conn, row.id))

    def reopen(self, id: int, *, version: int | None = None) -> Lead:
        """Open a rejected lead again: back in the first stage of the lead pipeline, status new,
        its reason cleared (a ``lead.reopened`` event). A converted lead stays converted."""
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            if row.status != "rejected":
                raise ConflictError(f"lead {row.id} is {row.status}; only a rejected lead can be reopened",
                                    field="status")
            values: dict[str, Any] = {"status": "new", "lost_reason_id": None, "lost_reason_text": None,
                                      "closed_at": None}
            changes: dict[str, Any] = {"status": {"before": "rejected", "after": "new"}}
            first = self._stage(None)
            data: dict[str, Any] = {
                "rejected_because": reason_label(self.crm, row.lost_reason_id, row.lost_reason_text)}
            if first is not None:
                values.update(stage_id=first.id, pipeline_id=first.pipeline_id)
                before = self.crm.stage_by_id(row.stage_id).key if row.stage_id else None
                changes["stage"] = {"before": before, "after": first.key}
                data["pipeline"] = first.pipeline
            self._bump(tx, row, values, version)
            tx.emit("lead.reopened", "lead", row.id, changes, data=data)
            return self._record(self._reload(tx.conn, row.id))

    @staticmethod
    def _require_open(row: Row[Any]) -> None:
        if row.status in ("converted", "rejected"):
            raise ConflictError(f"lead {row.id} is already {row.status}", field="status")

"""Leads: first requests from any channel, waiting to be qualified."""

from __future__ import annotations

import re
from typing import Any, Mapping

from sqlalchemy import Connection, Row, insert

from .. import schema
from ..contacts_info import normalize_email, normalize_phone
from ..errors import ConflictError, ValidationError
from ..events import created, diff, to_json_value
from ..records import Lead
from .base import Service, check_text, check_unknown
from .lost import reason_label, resolve_reason
from .refs import check_ref, check_user

SOURCES = ("web_form", "call", "email", "messenger", "manual", "import")
STATUSES = ("new", "in_progress", "converted", "rejected")
_SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FIELDS = frozenset({"title", "name", "company_name", "phone", "email", "source", "status", "responsible_id",
                     "contact_id", "custom"})


class LeadService(Service[Lead]):
    entity = "lead"
    table = schema.leads
    filterable = {
        "status": "status", "source": "source", "responsible_id": "responsible_id", "contact_id": "contact_id",
        "phone": "phone", "email": "email", "id": "id", "created_at": "created_at",
    }

    def _record(self, row: Row[Any]) -> Lead:
        return Lead(
            id=row.id, title=row.title, name=row.name, company_name=row.company_name, phone=row.phone,
            email=row.email, source=row.source, status=row.status, responsible_id=row.responsible_id,
            contact_id=row.contact_id, lost_reason=reason_label(self.crm, row.lost_reason_id, row.lost_reason_text),
            closed_at=row.closed_at, custom=row.custom or {}, created_at=row.created_at, updated_at=row.updated_at,
            version=row.version,
        )

    def _filter_value(self, name: str, value: Any) -> Any:
        if name == "phone" and value is not None:
            return normalize_phone(value, self.crm.settings.default_region, field="phone")
        if name == "email" and value is not None:
            return normalize_email(value)
        return value

    def _clean(self, conn: Connection, values: Mapping[str, Any], current: Row[Any] | None = None) -> dict[str, Any]:
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
        if "status" in values:
            if values["status"] not in ("new", "in_progress"):
                raise ValidationError(
                    "status: set new or in_progress here; use reject() or conversion to close a lead", field="status"
                )
            out["status"] = values["status"]
        if "responsible_id" in values:
            out["responsible_id"] = check_user(conn, values["responsible_id"], "responsible_id")
        if "contact_id" in values:
            out["contact_id"] = check_ref(conn, schema.contacts, values["contact_id"], "contact_id", "contact")
        if "custom" in values or current is None:
            out["custom"] = self.crm.custom_fields.clean(
                "lead", values.get("custom"), region=self.crm.settings.default_region,
                current=current.custom if current is not None else None,
            )
        return out

    def create(
        self, *, title: str, name: str = "", company_name: str = "", phone: str | None = None,
        email: str | None = None, source: str = "manual", responsible_id: int | None = None,
        contact_id: int | None = None, custom: Mapping[str, Any] | None = None,
    ) -> Lead:
        with self._tx() as tx:
            values = self._clean(tx.conn, {
                "title": title, "name": name, "company_name": company_name, "phone": phone, "email": email,
                "source": source, "responsible_id": responsible_id, "contact_id": contact_id, "custom": custom,
            })
            new_id = tx.conn.execute(
                insert(self.table).values(**values, status="new", created_at=tx.now, updated_at=tx.now, version=1)
            ).inserted_primary_key[0]
            tx.emit("lead.created", "lead", new_id, created({**values, "status": "new"}))
            return self._record(self._row(tx.conn, new_id))

    def update(self, id: int, changes: Mapping[str, Any], *, version: int | None = None) -> Lead:
        check_unknown(changes, _FIELDS, "a lead")
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            self._require_open(row)
            values = self._clean(tx.conn, changes, row)
            before = {k: to_json_value(getattr(row, k)) for k in values}
            self._bump(tx, row, values, version)
            tx.emit("lead.updated", "lead", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            return self._record(self._row(tx.conn, row.id))

    def reject(self, id: int, *, reason: str | None = None, reason_text: str | None = None,
               version: int | None = None) -> Lead:
        """Close a lead as not a target customer. A reason is required."""
        reason_id, text, label = resolve_reason(self.crm, reason, reason_text)
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            self._require_open(row)
            self._bump(tx, row, {"status": "rejected", "lost_reason_id": reason_id, "lost_reason_text": text,
                                 "closed_at": tx.now}, version)
            tx.emit("lead.rejected", "lead", row.id, {"status": {"before": row.status, "after": "rejected"}},
                    data={"reason": reason, "reason_text": text, "reason_label": label})
            return self._record(self._row(tx.conn, row.id))

    @staticmethod
    def _require_open(row: Row[Any]) -> None:
        if row.status in ("converted", "rejected"):
            raise ConflictError(f"lead {row.id} is already {row.status}", field="status")

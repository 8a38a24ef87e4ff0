"""Companies: legal entities with their contact persons."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Row, Select, insert

from .. import schema
from ..events import created, diff, to_json_value
from ..records import Company
from .archive import Archivable
from .base import check_text, check_unknown, inserted_id
from .userref import resolve_values, user_filter

_FIELDS = frozenset({"name", "address", "responsible_id", "custom"})


class CompanyService(Archivable[Company]):
    entity = "company"
    table = schema.companies
    filterable = {"name": "name", "responsible_id": "responsible_id", "id": "id"}
    sortable = ("id", "created_at", "updated_at", "name")

    def _record(self, row: Row[Any]) -> Company:
        return Company(
            id=row.id, name=row.name, address=row.address, responsible_id=row.responsible_id,
            custom=row.custom or {}, created_at=row.created_at, updated_at=row.updated_at, version=row.version,
            archived_at=row.archived_at,
        )

    def _special_filter(self, query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
        from ..reports.segments import segment_filter  # lifecycle, rfm_segment (crmkit.core.reports)

        found = segment_filter(self, query, name, op, value)
        return found if found is not None else user_filter(self, query, name, op, value)

    def _clean(self, conn: Any, values: Mapping[str, Any], current: Row[Any] | None = None) -> dict[str, Any]:
        values = resolve_values(conn, self.access, values, ("responsible_id",), "company", self.crm)
        out: dict[str, Any] = {}
        if "name" in values:
            out["name"] = check_text(values["name"], "name", required=True)
        if "address" in values:
            out["address"] = check_text(values["address"], "address", max_length=2000, multiline=True) or None
        if "responsible_id" in values:
            out["responsible_id"] = self._check_user(conn, values["responsible_id"], "responsible_id")
        if "custom" in values or current is None:
            out["custom"] = self._clean_custom(conn, values.get("custom"), current.custom if current is not None else None)
        return out

    def create(self, *, name: str, address: str | None = None, responsible_id: int | None = None,
               custom: Mapping[str, Any] | None = None) -> Company:
        with self._tx() as tx:
            values = self._clean(tx.conn, {"name": name, "address": address, "responsible_id": responsible_id if responsible_id is not None else self.actor_id,
                                           "custom": custom})
            new_id = inserted_id(tx.conn.execute(
                insert(self.table).values(**values, created_at=tx.now, updated_at=tx.now, version=1)
            ))
            tx.emit("company.created", "company", new_id, created(values))
            return self._record(self._reload(tx.conn, new_id))

    def update(self, id: int, changes: Mapping[str, Any], *, version: int | None = None) -> Company:
        check_unknown(changes, _FIELDS, "a company")
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            values = self._clean(tx.conn, changes, row)
            before = {k: to_json_value(getattr(row, k)) for k in values}
            self._bump(tx, row, values, version)
            tx.emit("company.updated", "company", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            return self._record(self._reload(tx.conn, row.id))

"""Contacts: natural persons with several phones (E.164) and e-mails."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Connection, Row, Select, delete, insert, select

from .. import schema
from ..contacts_info import normalize_email, normalize_phone
from ..access import LINKS
from ..errors import ValidationError
from ..events import created, diff, to_json_value
from ..records import Contact
from .archive import Archivable
from .base import check_text, check_unknown, insert_many, inserted_id
from .refs import check_custom_users, check_ref
from .userref import resolve_custom, resolve_user, user_filter

_FIELDS = frozenset({"first_name", "last_name", "company_id", "birthday", "responsible_id", "phones", "emails", "custom"})


class ContactService(Archivable[Contact]):
    entity = "contact"
    table = schema.contacts
    filterable = {
        "first_name": "first_name", "last_name": "last_name", "company_id": "company_id",
        "responsible_id": "responsible_id", "birthday": "birthday", "id": "id",
    }
    sortable = ("id", "created_at", "updated_at", "last_name", "first_name")

    def _record(self, row: Row[Any]) -> Contact:
        return Contact(
            id=row.id, first_name=row.first_name, last_name=row.last_name, company_id=row.company_id,
            birthday=row.birthday, responsible_id=row.responsible_id, phones=tuple(row.phones or ()),
            emails=tuple(row.emails or ()), custom=row.custom or {}, created_at=row.created_at,
            updated_at=row.updated_at, version=row.version, archived_at=row.archived_at,
        )

    # -- validation -------------------------------------------------------------

    def _clean(self, values: Mapping[str, Any], current: Row[Any] | None = None) -> dict[str, Any]:
        """Everything that needs no database: names, phones, e-mails, birthday, custom fields."""
        out: dict[str, Any] = {}
        for name in ("first_name", "last_name"):
            if name in values:
                out[name] = check_text(values[name], name, max_length=200)
        if "phones" in values:
            out["phones"] = self._phones(values["phones"])
        if "emails" in values:
            out["emails"] = self._emails(values["emails"])
        if "birthday" in values:
            out["birthday"] = _birthday(values["birthday"])
        if "custom" in values or current is None:
            out["custom"] = self._clean_custom(None, values.get("custom"), current.custom if current is not None else None)
        first = out.get("first_name", current.first_name if current is not None else "")
        last = out.get("last_name", current.last_name if current is not None else "")
        if not first and not last:
            raise ValidationError("first_name: a contact needs a first or a last name", field="first_name")
        return out

    def _users_in_custom(self, conn: Connection, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """``values`` with the user custom fields given by e-mail as ids."""
        if not isinstance(values.get("custom"), Mapping):
            return values
        return {**values, "custom": resolve_custom(conn, self.access, self.crm, "contact", values["custom"])}

    def _phones(self, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValidationError("phones: expected a list of phone numbers", field="phones")
        region = self.crm.settings.default_region
        return list(dict.fromkeys(normalize_phone(p, region, field=f"phones[{i}]") for i, p in enumerate(items)))

    def _emails(self, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValidationError("emails: expected a list of e-mail addresses", field="emails")
        return list(dict.fromkeys(normalize_email(e, field=f"emails[{i}]") for i, e in enumerate(items)))

    def _refs(self, conn: Connection, values: Mapping[str, Any], out: dict[str, Any],
              current: Row[Any] | None = None) -> None:
        self.access.require_visible_links(conn, values, current=current)
        if "company_id" in values:
            out["company_id"] = check_ref(conn, schema.companies, values["company_id"], "company_id", "company")
        if "responsible_id" in values:
            responsible = resolve_user(conn, self.access, values["responsible_id"], "responsible_id")
            out["responsible_id"] = self._check_user(conn, responsible, "responsible_id")
        if "custom" in out:
            check_custom_users(conn, self.crm, "contact", out["custom"])

    # -- commands ---------------------------------------------------------------

    def create(
        self, *, first_name: str = "", last_name: str = "", phones: Sequence[str] = (), emails: Sequence[str] = (),
        company_id: int | None = None, birthday: date | str | None = None, responsible_id: int | None = None,
        custom: Mapping[str, Any] | None = None,
    ) -> Contact:
        raw = {"first_name": first_name, "last_name": last_name, "phones": list(phones), "emails": list(emails),
               "birthday": birthday, "custom": custom}
        with self._tx() as tx:
            values = self._clean(self._users_in_custom(tx.conn, raw))
            self._refs(tx.conn, {"company_id": company_id, "responsible_id": responsible_id if responsible_id is not None else self.actor_id}, values)
            new_id = inserted_id(tx.conn.execute(
                insert(self.table).values(**values, created_at=tx.now, updated_at=tx.now, version=1)
            ))
            self._index(tx.conn, [(new_id, values["phones"], values["emails"])])
            tx.emit("contact.created", "contact", new_id, created(values))
            return self._record(self._reload(tx.conn, new_id))

    def update(self, id: int, changes: Mapping[str, Any], *, version: int | None = None) -> Contact:
        check_unknown(changes, _FIELDS, "a contact")
        with self._tx() as tx:
            row = self._row(tx.conn, id, lock=True)
            values = self._clean(self._users_in_custom(tx.conn, changes), row)
            self._refs(tx.conn, changes, values, row)
            before = {k: to_json_value(getattr(row, k)) for k in values}
            self._bump(tx, row, values, version)
            if "phones" in values or "emails" in values:
                tx.conn.execute(delete(schema.contact_phones).where(schema.contact_phones.c.contact_id == row.id))
                tx.conn.execute(delete(schema.contact_emails).where(schema.contact_emails.c.contact_id == row.id))
                self._index(tx.conn, [(row.id, values.get("phones", row.phones), values.get("emails", row.emails))])
            tx.emit("contact.updated", "contact", row.id, diff(before, {k: to_json_value(v) for k, v in values.items()}))
            return self._record(self._reload(tx.conn, row.id))

    def bulk_create(self, rows: Iterable[Mapping[str, Any]], *, batch_size: int = 5000) -> list[int]:
        """Create many contacts fast (imports): Core ``executemany``, hooks once per batch.

        Each batch is one transaction; a bad row fails its whole batch with the
        row's position named (``rows[17].phones[0]: ...``), so nothing is half-written.
        In-transaction hooks run once per batch; after-commit delivery of the batch's
        events is left to the worker (``crmkit worker``), not run inline per row.
        Returns the new ids in input order.
        """
        ids: list[int] = []
        batch: list[dict[str, Any]] = []
        for i, raw in enumerate(rows):
            check_unknown(raw, _FIELDS, "a contact")
            try:
                values = self._clean({"first_name": "", "last_name": "", "phones": [], "emails": [], **raw})
            except ValidationError as exc:
                raise ValidationError(f"rows[{i}].{exc.message}", field=exc.field) from None
            values["company_id"] = raw.get("company_id")
            values["responsible_id"] = raw.get("responsible_id", self.actor_id)  # as in create
            batch.append(values)
            if len(batch) >= batch_size:
                ids += self._insert_batch(batch, offset=len(ids))
                batch = []
        if batch:
            ids += self._insert_batch(batch, offset=len(ids))
        return ids

    def _insert_batch(self, batch: list[dict[str, Any]], offset: int) -> list[int]:
        with self._tx() as tx:
            tx.defer_delivery = True  # a bulk import's side effects run from the worker, not per row here
            for col, table, what in (("company_id", schema.companies, "company"), ("responsible_id", schema.users, "user")):
                wanted = {v[col] for v in batch if v[col] is not None}
                if wanted:
                    have = set(tx.conn.scalars(select(table.c.id).where(table.c.id.in_(wanted))))
                    for i, v in enumerate(batch):
                        if v[col] is not None and v[col] not in have:
                            raise ValidationError(f"rows[{offset + i}].{col}: {what} {v[col]} does not exist", field=col)
                    self._require_visible(tx.conn, batch, col, wanted, offset)
            for v in batch:
                v.update(created_at=tx.now, updated_at=tx.now, version=1)
            new_ids = insert_many(tx.conn, self.table, batch)
            self._index(tx.conn, [(cid, v["phones"], v["emails"]) for cid, v in zip(new_ids, batch)])
            for cid, v in zip(new_ids, batch):
                tx.emit("contact.created", "contact", cid, created({k: v[k] for k in v if k not in ("created_at", "updated_at", "version")}))
            return new_ids

    def _require_visible(self, conn: Connection, batch: list[dict[str, Any]], col: str, wanted: set[int],
                         offset: int) -> None:
        """The batch form of :meth:`Access.require_visible_links`: one query for all its links."""
        if col not in LINKS:
            return
        entity, table = LINKS[col]
        rule = self.access.visible(entity, table)
        if rule is None:
            return
        seen = set(conn.scalars(select(table.c.id).where(table.c.id.in_(wanted), rule)))
        for i, v in enumerate(batch):
            if v[col] is not None and v[col] not in seen:  # invisible answers like missing
                raise ValidationError(f"rows[{offset + i}].{col}: {entity} {v[col]} does not exist", field=col)

    @staticmethod
    def _index(conn: Connection, items: list[tuple[int, Sequence[str], Sequence[str]]]) -> None:
        phones = [{"contact_id": cid, "phone": p} for cid, ps, _ in items for p in ps]
        emails = [{"contact_id": cid, "email": e} for cid, _, es in items for e in es]
        if phones:
            conn.execute(insert(schema.contact_phones), phones)
        if emails:
            conn.execute(insert(schema.contact_emails), emails)

    # -- look-ups ---------------------------------------------------------------

    def find_by_phone(self, phone: str) -> list[Contact]:
        """Contacts having ``phone`` (any format; normalized first)."""
        e164 = normalize_phone(phone, self.crm.settings.default_region)
        return self.list(phone=e164, limit=100).items  # type: ignore[return-value]

    def find_by_email(self, email: str) -> list[Contact]:
        return self.list(email=normalize_email(email), limit=100).items  # type: ignore[return-value]

    def _special_filter(self, query: Select[Any], name: str, op: str, value: Any) -> Select[Any] | None:
        if name == "phone":
            ph = schema.contact_phones
            e164 = normalize_phone(value, self.crm.settings.default_region, field="phone")
            return query.where(self.table.c.id.in_(select(ph.c.contact_id).where(ph.c.phone == e164)))
        if name == "email":
            em = schema.contact_emails
            return query.where(self.table.c.id.in_(select(em.c.contact_id).where(em.c.email == normalize_email(value))))
        from ..reports.segments import segment_filter  # lifecycle, rfm_segment (crmkit.core.reports)

        found = segment_filter(self, query, name, op, value)
        return found if found is not None else user_filter(self, query, name, op, value)


def _birthday(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"birthday: {value!r} is not a date (YYYY-MM-DD)", field="birthday") from None

"""What an import does per card type: check a record's values, find its duplicates, write it.

``prepare`` needs no database (a bad value rejects the record before any write); ``matches``
finds existing cards for a whole batch in a few queries; ``create`` / ``update`` write through
the card's service inside the batch's transaction. Contacts have a bulk ``create_many``: one
``executemany`` per batch, validated by the same rules as ``contacts.create``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import attrs
from sqlalchemy import Connection, func, insert, select

from ..core import schema
from ..core.contacts_info import normalize_email, normalize_phone
from ..core.errors import ValidationError
from ..core.events import created
from ..core.services.base import insert_many
from .bulk import BulkInsert
from .tables import import_rows, imports

if TYPE_CHECKING:  # pragma: no cover
    from ..core.services import Services
    from ..core.unit_of_work import Tx

Key = tuple[str, str]
"""A duplicate key: ("phone", "+49301234567"), ("email", "a@b.example"), ("external_id", "C-17"), ("name", ...)."""


@attrs.define
class Prepared:
    """A record checked and ready to write."""

    number: int
    line: int
    values: dict[str, Any]
    keys: list[Key]
    external_id: str | None
    refs: dict[str, Any] = attrs.field(factory=dict)
    cells: Sequence[str] = ()


def _custom(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k[7:]: v for k, v in values.items() if k.startswith("custom.")}


def parse_date(text: str, field: str) -> str:
    """ISO ``YYYY-MM-DD``, or ``DD.MM.YYYY`` (de, ru, sl), as ISO."""
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if m:
        text = f"{m[3]}-{int(m[2]):02d}-{int(m[1]):02d}"
    try:
        return date.fromisoformat(text[:10] if re.fullmatch(r"\d{4}-\d\d-\d\dT.*", text) else text).isoformat()
    except ValueError:
        raise ValidationError(f"{field}: {text[:40]!r} is not a date (YYYY-MM-DD or DD.MM.YYYY)", field=field) from None


def _external(values: Mapping[str, Any]) -> str | None:
    ext = values.get("external_id")
    if ext is not None and len(ext) > 200:
        raise ValidationError("external_id: longer than 200 characters", field="external_id")
    return ext


class Target:
    """One card type's import rules."""

    entity = ""
    service = ""

    def __init__(self, services: "Services") -> None:
        self.services = services
        self.crm = services.crm
        self.region = self.crm.settings.default_region

    @property
    def svc(self) -> Any:
        return getattr(self.services, self.service)

    def prepare(self, number: int, line: int, values: dict[str, Any]) -> Prepared:  # pragma: no cover
        raise NotImplementedError

    def matches(self, conn: Connection, batch: Sequence[Prepared]) -> dict[Key, int]:
        """Existing cards for the batch's keys (external ids of earlier imports, plus the type's own)."""
        exts = [p.external_id for p in batch if p.external_id]
        out: dict[Key, int] = {}
        if exts:
            r, i = import_rows.c, imports.c
            query = (select(r.external_id, r.entity_id).join(imports, i.id == r.import_id)
                     .where(r.entity_type == self.entity, r.external_id.in_(exts), i.status != "undone",
                            r.action != "skipped"))
            for ext, ident in conn.execute(query):
                out.setdefault(("external_id", ext), ident)
        return out

    def resolve(self, conn: Connection, p: Prepared) -> None:
        """Turn the record's references (a company by name, a contact by e-mail) into ids."""

    def create(self, tx: "Tx", p: Prepared) -> int:
        return int(self.svc.create(**p.values).id)

    def update(self, tx: "Tx", card_id: int, p: Prepared) -> dict[str, Any]:
        """Change the card with the record's non-empty values; returns the previous values."""
        current = self.svc.get(card_id)
        changes = self._changes(current, p.values)
        before = {k: _json(getattr(current, k, None)) for k in changes if k != "custom"}
        if "custom" in changes:
            before["custom"] = {k: current.custom.get(k) for k in changes["custom"]}
        if changes:
            self.svc.update(card_id, changes)
        return before

    def _changes(self, current: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def _json(value: Any) -> Any:
    from ..core.events import to_json_value

    return to_json_value(value)


class ContactTarget(Target):
    entity, service = "contact", "contacts"

    def prepare(self, number: int, line: int, values: dict[str, Any]) -> Prepared:
        first, last = values.get("first_name", ""), values.get("last_name", "")
        if "name" in values and not first and not last:
            first, _, last = values["name"].rpartition(" ")
            if not first:
                first, last = last, ""
        raw: dict[str, Any] = {"first_name": first, "last_name": last, "phones": values.get("phones", []),
                               "emails": values.get("emails", []), "custom": _custom(values) or None}
        if values.get("birthday"):
            raw["birthday"] = parse_date(values["birthday"], "birthday")
        out = self.svc._clean(raw)  # the service's own checks (names, phones, e-mails, custom), no database
        out.setdefault("first_name", first)
        out.setdefault("last_name", last)
        if values.get("responsible"):
            out["responsible_id"] = values["responsible"]
        keys: list[Key] = [("email", e) for e in out["emails"]] + [("phone", x) for x in out["phones"]]
        ext = _external(values)
        if ext:
            keys.insert(0, ("external_id", ext))
        refs = {"company": values["company"]} if values.get("company") else {}
        return Prepared(number, line, out, keys, ext, refs)

    def matches(self, conn: Connection, batch: Sequence[Prepared]) -> dict[Key, int]:
        out = super().matches(conn, batch)
        ph, em, c = schema.contact_phones.c, schema.contact_emails.c, schema.contacts.c
        phones = [v for p in batch for k, v in p.keys if k == "phone"]
        emails = [v for p in batch for k, v in p.keys if k == "email"]
        live = c.archived_at.is_(None)
        for values, col, kind, table in ((phones, ph.phone, "phone", schema.contact_phones),
                                         (emails, em.email, "email", schema.contact_emails)):
            for i in range(0, len(values), 500):
                query = (select(col, table.c.contact_id).join(schema.contacts, c.id == table.c.contact_id)
                         .where(col.in_(values[i:i + 500]), live).order_by(table.c.contact_id))
                for value, ident in conn.execute(query):
                    out.setdefault((kind, value), ident)
        return out

    def resolve(self, conn: Connection, p: Prepared) -> None:
        name = p.refs.get("company")
        if name:
            p.values["company_id"] = company_by_name(self.services, conn, name)

    def create_many(self, tx: "Tx", batch: Sequence[Prepared], data: Callable[[Prepared], Mapping[str, Any]]
                    ) -> list[int]:
        """Insert the batch's contacts in one ``executemany`` (hooks once per batch, at commit); each
        card's ``contact.created`` event carries ``data(p)`` (its import, file and line)."""
        users = _users(self.services, tx.conn)
        rows = []
        for p in batch:
            v = {"first_name": p.values["first_name"], "last_name": p.values["last_name"],
                 "phones": p.values["phones"], "emails": p.values["emails"], "birthday": p.values.get("birthday"),
                 "custom": p.values.get("custom") or {}}
            v["company_id"] = p.values.get("company_id")
            v["responsible_id"] = _user(users, p.values.get("responsible_id"), self.services.actor_id)
            rows.append(v)
        self._require_visible(tx.conn, rows)
        conn = tx.conn
        stamp = {"created_at": tx.now, "updated_at": tx.now, "version": 1}
        if conn.dialect.name == "sqlite":  # the writer holds the lock: the new ids are consecutive
            _CONTACTS(conn, rows, stamp)
            last = int(conn.scalar(select(func.max(schema.contacts.c.id))) or 0)
            ids = list(range(last - len(rows) + 1, last + 1))
        else:
            ids = insert_many(conn, schema.contacts, [{**v, **stamp} for v in rows])
        _PHONES(conn, [{"contact_id": cid, "phone": x} for cid, v in zip(ids, rows) for x in v["phones"]])
        _EMAILS(conn, [{"contact_id": cid, "email": x} for cid, v in zip(ids, rows) for x in v["emails"]])
        for cid, v, p in zip(ids, rows, batch):
            tx.emit("contact.created", "contact", cid, created(v), data(p))
        return ids

    def _require_visible(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """The bulk path's check of ``contacts.create``: every company linked is one the user sees."""
        wanted = {v["company_id"] for v in rows if v["company_id"] is not None}
        rule = self.services.access.visible("company", schema.companies)
        if not wanted or rule is None:
            return
        c = schema.companies.c
        seen = set(conn.scalars(select(c.id).where(c.id.in_(wanted), rule)))
        for v in rows:
            if v["company_id"] is not None and v["company_id"] not in seen:  # invisible answers like missing
                raise ValidationError(f"company_id: company {v['company_id']} does not exist", field="company_id")

    def _changes(self, current: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        changes = super()._changes(current, values)
        for name in ("phones", "emails"):  # united, never replaced: nothing is lost
            if name in changes:
                merged = list(dict.fromkeys([*getattr(current, name), *changes[name]]))
                if merged == list(getattr(current, name)):
                    del changes[name]
                else:
                    changes[name] = merged
        return {k: v for k, v in changes.items() if k == "custom" or _json(getattr(current, k, None)) != _json(v)}


_CONTACTS = BulkInsert(schema.contacts, ["first_name", "last_name", "phones", "emails", "birthday", "custom",
                                          "company_id", "responsible_id", "created_at", "updated_at", "version"])
_PHONES = BulkInsert(schema.contact_phones, ["contact_id", "phone"])
_EMAILS = BulkInsert(schema.contact_emails, ["contact_id", "email"])


def _users(services: "Services", conn: Connection) -> dict[str, int]:
    u = schema.users.c
    return {email.lower(): ident for email, ident in conn.execute(select(u.email, u.id).where(u.active.is_(True)))}


def _user(users: Mapping[str, int], value: Any, default: int | None) -> int | None:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    found = users.get(str(value).strip().lower())
    if found is None:
        raise ValidationError(f"responsible: no active user {str(value)[:100]!r}", field="responsible")
    return found


def company_by_name(services: "Services", conn: Connection, name: str) -> int:
    """The company named ``name`` that the importing user may see (case-insensitive; the oldest of
    several), created when there is none: a row never links a contact or deal to a company its user
    may not read (nor learns that one exists)."""
    c = schema.companies.c
    query = select(c.id).where(func.lower(c.name) == name.strip().lower(), c.archived_at.is_(None))
    rule = services.access.visible("company", schema.companies)
    if rule is not None:
        query = query.where(rule)
    found = conn.scalar(query.order_by(c.id).limit(1))
    if found is not None:
        return int(found)
    return int(services.companies.create(name=name).id)


class CompanyTarget(Target):
    entity, service = "company", "companies"

    def prepare(self, number: int, line: int, values: dict[str, Any]) -> Prepared:
        name = values.get("name", "")
        if not name:
            raise ValidationError("name: is required", field="name")
        out: dict[str, Any] = {"name": name}
        if values.get("address"):
            out["address"] = values["address"]
        if values.get("responsible"):
            out["responsible_id"] = values["responsible"]
        if _custom(values):
            out["custom"] = _custom(values)
        ext = _external(values)
        keys: list[Key] = [("external_id", ext)] if ext else []
        keys.append(("name", name.strip().lower()))
        return Prepared(number, line, out, keys, ext)

    def matches(self, conn: Connection, batch: Sequence[Prepared]) -> dict[Key, int]:
        out = super().matches(conn, batch)
        c = schema.companies.c
        names = [v for p in batch for k, v in p.keys if k == "name"]
        if names:
            query = (select(func.lower(c.name), c.id).where(func.lower(c.name).in_(names), c.archived_at.is_(None))
                     .order_by(c.id))
            for name, ident in conn.execute(query):
                out.setdefault(("name", name), ident)
        return out


class LeadTarget(Target):
    entity, service = "lead", "leads"

    def prepare(self, number: int, line: int, values: dict[str, Any]) -> Prepared:
        title = values.get("title") or values.get("name") or values.get("company_name") or ""
        if not title:
            raise ValidationError("title: is required (or a name)", field="title")
        out: dict[str, Any] = {"title": title, "source": values.get("source", "import")}
        for name in ("name", "company_name"):
            if values.get(name):
                out[name] = values[name]
        keys: list[Key] = []
        if values.get("phone"):
            out["phone"] = normalize_phone(values["phone"], self.region, field="phone")
            keys.append(("phone", out["phone"]))
        if values.get("email"):
            out["email"] = normalize_email(values["email"], field="email")
            keys.append(("email", out["email"]))
        if values.get("responsible"):
            out["responsible_id"] = values["responsible"]
        if _custom(values):
            out["custom"] = _custom(values)
        ext = _external(values)
        if ext:
            keys.insert(0, ("external_id", ext))
        return Prepared(number, line, out, keys, ext)

    def matches(self, conn: Connection, batch: Sequence[Prepared]) -> dict[Key, int]:
        out = super().matches(conn, batch)
        lc = schema.leads.c
        for kind, col in (("phone", lc.phone), ("email", lc.email)):
            values = [v for p in batch for k, v in p.keys if k == kind]
            if values:
                query = select(col, lc.id).where(col.in_(values), lc.archived_at.is_(None)).order_by(lc.id)
                for value, ident in conn.execute(query):
                    out.setdefault((kind, value), ident)
        return out

    def _changes(self, current: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in super()._changes(current, values).items() if k != "source"}


class DealTarget(Target):
    entity, service = "deal", "deals"

    def prepare(self, number: int, line: int, values: dict[str, Any]) -> Prepared:
        title = values.get("title", "")
        if not title:
            raise ValidationError("title: is required", field="title")
        out: dict[str, Any] = {"title": title, "source": "import"}
        for name in ("pipeline", "stage", "amount", "currency"):
            if values.get(name):
                out[name] = values[name]
        if values.get("responsible"):
            out["responsible_id"] = values["responsible"]
        if _custom(values):
            out["custom"] = _custom(values)
        refs = {k: values[k] for k in ("contact", "contact_email", "contact_phone", "company") if values.get(k)}
        if "contact_email" in refs:
            refs["contact_email"] = normalize_email(refs["contact_email"], field="contact_email")
        if "contact_phone" in refs:
            refs["contact_phone"] = normalize_phone(refs["contact_phone"], self.region, field="contact_phone")
        ext = _external(values)
        return Prepared(number, line, out, [("external_id", ext)] if ext else [], ext, refs)

    def resolve(self, conn: Connection, p: Prepared) -> None:
        """The deal's contact by external id (of an earlier import), id, e-mail or phone; its company by
        external id or name; a pipeline and stage given by name are looked up by name too."""
        refs = p.refs
        if "contact" in refs:
            p.values["contact_id"] = _by_external(conn, "contact", refs["contact"], "contact")
        elif "contact_email" in refs or "contact_phone" in refs:
            kind, value = (("email", refs["contact_email"]) if "contact_email" in refs else ("phone", refs["contact_phone"]))
            table = schema.contact_emails if kind == "email" else schema.contact_phones
            ident = conn.scalar(select(table.c.contact_id).where(table.c[kind] == value).order_by(table.c.contact_id).limit(1))
            if ident is None:
                raise ValidationError(f"contact_{kind}: no contact has {value}", field=f"contact_{kind}")
            p.values["contact_id"] = ident
        if "company" in refs:
            try:
                p.values["company_id"] = _by_external(conn, "company", refs["company"], "company")
            except ValidationError:
                p.values["company_id"] = company_by_name(self.services, conn, refs["company"])
        if "pipeline" in p.values:
            p.values["pipeline"] = _pipeline_key(self.crm, p.values["pipeline"])
        if "stage" in p.values:
            p.values["stage"] = _stage_key(self.crm, p.values.get("pipeline"), p.values["stage"])

    def update(self, tx: "Tx", card_id: int, p: Prepared) -> dict[str, Any]:
        values = {k: v for k, v in p.values.items() if k not in ("pipeline", "stage", "source")}
        return super().update(tx, card_id, attrs.evolve(p, values=values))

    def _changes(self, current: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        return super()._changes(current, values)


def _by_external(conn: Connection, entity: str, value: str, field: str) -> int:
    r, i = import_rows.c, imports.c
    ident = conn.scalar(select(r.entity_id).join(imports, i.id == r.import_id).where(
        r.entity_type == entity, r.external_id == value, i.status != "undone").order_by(r.import_id.desc()).limit(1))
    if ident is None and value.isascii() and value.isdigit() and len(value) < 10:
        table = schema.CARD_TABLES[entity]
        ident = conn.scalar(select(table.c.id).where(table.c.id == int(value)))
    if ident is None:
        raise ValidationError(f"{field}: no {entity} with the external id or id {value[:100]!r}", field=field)
    return int(ident)


def _pipeline_key(crm: Any, text: str) -> str:
    for p in crm.pipelines:
        if text in (p.key, p.name) or text.casefold() == p.name.casefold():
            return str(p.key)
    raise ValidationError(f"pipeline: no pipeline {text[:100]!r} (by key or name)", field="pipeline")


def _stage_key(crm: Any, pipeline: str | None, text: str) -> str:
    p = crm.pipeline(pipeline) if pipeline else crm.pipeline(crm.settings.sales_pipeline)
    for s in p.stages:
        if text in (s.key, s.name) or text.casefold() == s.name.casefold():
            return str(s.key)
    raise ValidationError(f"stage: no stage {text[:100]!r} in {p.key} (by key or name)", field="stage")


TARGETS: Mapping[str, type[Target]] = {"contact": ContactTarget, "company": CompanyTarget, "lead": LeadTarget,
                                       "deal": DealTarget}


def keys_of(batch: Iterable[Prepared]) -> set[Key]:
    return {k for p in batch for k in p.keys}


__all__ = ["TARGETS", "Prepared", "Target", "insert"]

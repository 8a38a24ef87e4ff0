"""Personal data: everything about a contact as one JSON document, and erasing them.

    privacy = PrivacyService(crm, admin_id)
    document = privacy.export_contact(42)                   # JSON-ready: contact, cards, events, plugins
    erasure = privacy.erase_contact(42, reason="request 7")  # one transaction; logged as contact.erased

Both need the ``personal_data.manage`` permission (admins have it) and a contact the
acting user can see. Who the person is and which cards are about them:
:func:`collect` (a :class:`~crmkit.core.personal_data.DataSubject`). What the erasure
does, step by step: :meth:`PrivacyService.erase_contact` and :mod:`.privacy_erase`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import attrs
from sqlalchemy import Connection, ColumnElement, Row, and_, false, or_, select

from .. import schema
from ..access import Access
from ..errors import ConflictError, PluginError
from ..events import Event, to_json_value
from ..personal_data import PLACEHOLDER, DataSubject, known_names
from ..records import to_dict
from ..unit_of_work import transaction
from .base import check_text
from .contacts import ContactService

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

PERMISSION = "personal_data.manage"
"""Exporting and erasing a person's data (admins have every permission; grant it to other roles
with ``Permission("personal_data.manage", roles=(...))``)."""
FORMAT = "crmkit.personal_data/1"
"""The ``format`` of an export document; a change that removes or renames a key gets a new number."""
ERASED = "contact.erased"


@attrs.frozen
class Erasure:
    """What an erasure did: when, why (scrubbed of the person's data), how many rows per table."""

    contact_id: int
    erased_at: datetime
    reason: str
    rows: Mapping[str, int]


class PrivacyService:
    """Export and erase a contact's personal data, acting as ``actor_id`` (``None``: the system)."""

    def __init__(self, crm: "Crm", actor_id: int | None, access: Access | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.access = access if access is not None else crm.access_for(actor_id)

    def _contact(self, conn: Connection, id: Any) -> Row[Any]:
        """The contact's row, locked: 404 if missing, as for any card the user cannot see."""
        self.access.require(PERMISSION, "export or erase personal data")
        return ContactService(self.crm, self.actor_id, self.access)._row(conn, id, lock=True, write=False)

    def export_contact(self, id: int) -> dict[str, Any]:
        """Everything stored about contact ``id``: the contact (phones, e-mails, custom fields), their
        leads, deals, tasks, notes, documents (metadata; the contents through ``files.open``), the
        events of all those cards, and each plugin's data about them.

        The export is logged (``contact.exported``, without the data). Returns JSON-ready data."""
        with transaction(self.crm, self.actor_id) as tx:
            row = self._contact(tx.conn, id)
            subject = collect(self.crm, tx.conn, row)
            document = _document(self.crm, tx.conn, row, subject)
            for result in self.crm.pm.hook.crm_personal_data_export(tx=tx, subject=subject):
                _merge(document["plugins"], result, "crm_personal_data_export", to_json_value)
            document["exported_at"] = to_json_value(tx.now)
            tx.emit("contact.exported", "contact", row.id, data={"format": FORMAT})
            return document

    def erase_contact(self, id: int, *, reason: str | None = None) -> Erasure:
        """Erase contact ``id``'s personal data everywhere, in one transaction (nothing half-erased).

        Plugins erase theirs first (``crm_personal_data_erase``); then the documents on the contact
        card go (their contents after commit); the contact loses its names, phones, e-mails, birthday
        and custom fields (the card stays, named ``[erased]``, so deals keep
        their customer link); their leads lose name, phone and e-mail; every mention of the person in
        the text and JSON of their cards, notes, tasks and events becomes ``[erased]``, and so do their
        full names, phones and e-mails anywhere else in the core's tables. Amounts, stages and dates
        stay. One event, ``contact.erased``, records who erased whom, when, the ``reason`` and the row
        counts -- without the erased data. Erasing an erased contact again is a :class:`ConflictError`,
        unless someone put personal data on its card since (that is then erased).
        """
        from .files import discard_blobs
        from .privacy_erase import erase_cards, remove_contact_files, sweep

        why = check_text(reason, "reason", max_length=300)
        outermost = getattr(self.crm._tx_local, "tx", None) is None
        with transaction(self.crm, self.actor_id) as tx:
            row = self._contact(tx.conn, id)
            e = schema.events.c
            if _blank(row) and tx.conn.scalar(select(e.id).where(
                    e.entity_type == "contact", e.entity_id == row.id, e.type == ERASED).limit(1)) is not None:
                raise ConflictError(f"contact {row.id} was erased already", field="id")
            subject = collect(self.crm, tx.conn, row)
            rows: dict[str, int] = {}
            for result in self.crm.pm.hook.crm_personal_data_erase(tx=tx, subject=subject):
                _merge(rows, result, "crm_personal_data_erase", _count, add=True)
            removed = remove_contact_files(tx, subject)
            rows[schema.files.name] = len(removed)
            for table, count in [*erase_cards(tx, subject).items(), *sweep(tx, subject).items()]:
                rows[table] = rows.get(table, 0) + count
            rows = {table: count for table, count in sorted(rows.items()) if count}
            why = subject.scrub(why)
            tx.emit(ERASED, "contact", row.id, data={"reason": why, "rows": rows})
            erasure = Erasure(contact_id=row.id, erased_at=tx.now, reason=why, rows=rows)
        if outermost and removed:  # committed: the documents' contents may go (inside a larger command they stay)
            discard_blobs(self.crm, removed)
        return erasure


def _blank(contact: Row[Any]) -> bool:
    """Whether the contact card holds nothing personal (as an erasure leaves it)."""
    return (contact.first_name == PLACEHOLDER and not contact.last_name and not contact.phones
            and not contact.emails and contact.birthday is None and not contact.custom)


def _merge(into: dict[str, Any], result: Any, hook: str, convert: Any, *, add: bool = False) -> None:
    if result is None:
        return
    if not isinstance(result, Mapping):
        raise PluginError(f"{hook} must return a mapping or None, got {type(result).__name__}")
    for key, value in result.items():
        if not isinstance(key, str):
            raise PluginError(f"{hook}: keys are names (text), got {key!r}")
        if key in into and not add:
            raise PluginError(f"{hook}: two plugins returned {key!r}")
        into[key] = into.get(key, 0) + convert(value) if add else convert(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PluginError(f"crm_personal_data_erase: row counts are whole numbers, got {value!r}")
    return value


# -- who the person is ------------------------------------------------------------------------------


def collect(crm: "Crm", conn: Connection, contact: Row[Any]) -> DataSubject:
    """The person of ``contact``: their cards, and every name, phone and e-mail they are known by.

    Their leads are the leads linked to the contact and the leads carrying one of its phones or
    e-mails; a linked lead's name, phone and e-mail are theirs too (and widen the search), an
    unlinked lead's other fields are not (a relative may share a phone). Past values come from the
    event log (``contact.updated``, ``lead.updated``). Their deals: of the contact or its leads, and
    copies of those (``origin_deal_id``). Their tasks: on any of those cards."""
    names, words = known_names(contact.first_name, contact.last_name)
    phones, emails = set(contact.phones or ()), set(contact.emails or ())
    for first, last, ph, em in _past(conn, "contact", [contact.id]):
        more_names, more_words = known_names(first, last)
        names |= more_names
        words |= more_words
        phones |= ph
        emails |= em
    l = schema.leads.c
    lead_rows: dict[int, Row[Any]] = {}
    for _round in range(3):  # a lead's phone or e-mail may find further leads
        found = {r.id: r for r in conn.execute(select(schema.leads).where(or_(
            l.contact_id == contact.id, l.phone.in_(sorted(phones)), l.email.in_(sorted(emails)))))}
        lead_rows = found
        before = (len(phones), len(emails))
        linked = [r for r in found.values() if r.contact_id == contact.id]  # theirs: their name, phone, e-mail
        known = [(r.name, _texts(r.phone), _texts(r.email)) for r in linked]
        known += [(name, ph, em) for _f, name, ph, em in _past(conn, "lead", [r.id for r in linked])]
        for name, ph, em in known:
            more_names, more_words = known_names(name)
            names |= more_names
            words |= more_words
            phones |= ph
            emails |= em
        if (len(phones), len(emails)) == before:
            break
    lead_ids = tuple(sorted(lead_rows))
    deal_ids = _deals(conn, contact.id, lead_ids)
    t = schema.tasks.c
    on_cards = _on_cards(t.entity_type, t.entity_id, [("contact", (contact.id,)), ("lead", lead_ids),
                                                      ("deal", deal_ids)])
    task_ids = tuple(conn.scalars(select(t.id).where(on_cards).order_by(t.id)))
    return DataSubject(contact_id=contact.id, lead_ids=lead_ids, deal_ids=deal_ids, task_ids=task_ids,
                       names=_clean(names), phones=tuple(sorted(p for p in phones if _E164.fullmatch(p))),
                       emails=_clean(e for e in emails if "@" in e), words=_clean(words - names),
                       keep=vocabulary(crm))


CORE_KEYWORDS = frozenset({
    "open", "won", "lost", "done", "cancelled", "new", "in_progress", "converted", "rejected", "person",
    "legal_entity", "web_form", "call", "email", "messenger", "manual", "import", "lead", "contact", "company",
    "deal", "task", "note", "admin", "head", "manager",
})


def vocabulary(crm: "Crm") -> frozenset[str]:
    """The values that are keys or statuses in this deployment, never a person's name: the core's
    statuses, sources and card types, pipeline and stage keys, lost reasons, custom-field choices."""
    keys = {p.key for p in crm.pipelines} | {s.key for p in crm.pipelines for s in p.stages}
    keys |= {r.key for r in crm.lost_reasons}
    keys |= {c for entity in ("lead", "contact", "company", "deal", "task")
             for f in crm.custom_fields.fields(entity).values() for c in f.choices}
    return CORE_KEYWORDS | keys


_E164 = re.compile(r"\+[1-9][0-9]{5,14}")


def _clean(values: Iterable[str]) -> tuple[str, ...]:
    """Known values, without what an earlier erasure left in their place."""
    return tuple(sorted({v for v in values if v.strip() and PLACEHOLDER not in v}))


def _past(conn: Connection, entity: str, ids: list[int]) -> Iterable[tuple[Any, Any, set[str], set[str]]]:
    """(first name, last name or a lead's name, phones, e-mails) each event of the cards once held."""
    if not ids:
        return
    e = schema.events.c
    for payload in conn.scalars(select(e.payload).where(e.entity_type == entity, e.entity_id.in_(ids))):
        changes = payload.get("changes") if isinstance(payload, dict) else None
        if not isinstance(changes, dict):
            continue
        for side in ("before", "after"):
            def value(field: str) -> Any:
                change = changes.get(field)
                return change.get(side) if isinstance(change, dict) else None

            ph = _texts(value("phones")) | _texts(value("phone"))
            em = _texts(value("emails")) | _texts(value("email"))
            first = value("first_name") if entity == "contact" else None
            last = value("last_name") if entity == "contact" else value("name")
            yield (first if isinstance(first, str) else None, last if isinstance(last, str) else None, ph, em)


def _texts(value: Any) -> set[str]:
    if isinstance(value, str) and value:
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str) and v}
    return set()


def _deals(conn: Connection, contact_id: int, lead_ids: tuple[int, ...]) -> tuple[int, ...]:
    d = schema.deals.c
    found = set(conn.scalars(select(d.id).where(or_(d.contact_id == contact_id, d.lead_id.in_(lead_ids)))))
    frontier = set(found)
    while frontier:  # copies of their deals (installment control, pipeline rules) are about them too
        frontier = set(conn.scalars(select(d.id).where(d.origin_deal_id.in_(sorted(frontier))))) - found
        found |= frontier
    return tuple(sorted(found))


def _on_cards(type_col: Any, id_col: Any, cards: Iterable[tuple[str, tuple[int, ...]]]) -> ColumnElement[bool]:
    """``(type_col, id_col)`` names one of ``cards``."""
    conds = [and_(type_col == entity, id_col.in_(ids)) for entity, ids in cards if ids]
    return or_(*conds) if conds else false()


def on_their_cards(subject: DataSubject, type_col: Any, id_col: Any) -> ColumnElement[bool]:
    """A WHERE clause: rows (notes, events, tasks) on a card about ``subject``."""
    return _on_cards(type_col, id_col, subject.cards())


# -- the export document ------------------------------------------------------------------------


def _document(crm: "Crm", conn: Connection, contact: Row[Any], subject: DataSubject) -> dict[str, Any]:
    from . import Services

    system = Services(crm, None, enforce=False)
    record = system.contacts._record(contact)
    declared = crm.custom_fields.fields("contact")
    custom = {name: {"label": declared[name].label if name in declared else name,
                     "type": declared[name].type if name in declared else None, "value": to_json_value(value)}
              for name, value in (record.custom or {}).items()}
    l, d, t, n, e = (schema.leads.c, schema.deals.c, schema.tasks.c, schema.notes.c, schema.events.c)
    leads = conn.execute(select(schema.leads).where(l.id.in_(subject.lead_ids)).order_by(l.id))
    deals = conn.execute(select(schema.deals).where(d.id.in_(subject.deal_ids)).order_by(d.id))
    tasks = conn.execute(select(schema.tasks).where(t.id.in_(subject.task_ids)).order_by(t.id))
    notes = conn.execute(select(schema.notes).where(on_their_cards(subject, n.entity_type, n.entity_id))
                         .order_by(n.id))
    events = conn.execute(select(schema.events).where(on_their_cards(subject, e.entity_type, e.entity_id))
                          .order_by(e.id))
    f = schema.files.c
    files = conn.execute(select(schema.files).where(on_their_cards(subject, f.entity_type, f.entity_id))
                         .order_by(f.id))
    return {
        "format": FORMAT,
        "exported_at": None,
        "contact": to_dict(record),
        "custom_fields": custom,
        "known_as": {"names": list(subject.names), "phones": list(subject.phones), "emails": list(subject.emails)},
        "leads": [to_dict(system.leads._record(r)) for r in leads],
        "deals": [to_dict(system.deals._record(r)) for r in deals],
        "tasks": [to_dict(system.tasks._record(r)) for r in tasks],
        "notes": [to_dict(system.notes._record(r)) for r in notes],
        "events": [Event.from_row(r).to_dict() for r in events],
        "files": [to_dict(system.files._record(r)) for r in files],
        "plugins": {},
    }

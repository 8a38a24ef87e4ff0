"""The core's part of an erasure (:meth:`.privacy.PrivacyService.erase_contact`), inside its transaction.

0. :func:`remove_contact_files` -- the documents on the contact card go (their contents once the
   erasure committed); documents on their other cards stay, their names scrubbed in step 1.
1. :func:`erase_cards` -- the cards about the person: the contact loses its personal fields, their
   leads lose name (when linked to the contact), phone and e-mail; every text and JSON column of
   their leads, deals, tasks, notes, documents and of the events on those cards is scrubbed with the full
   matcher (names alone too); the personal fields of the contact's and leads' events
   (``changes.first_name`` ...) become ``[erased]`` whatever they held.
2. :func:`sweep` -- everywhere else in the core's tables: the person's full names, phones, e-mails
   (and the texts plugins added with ``subject.erase_text``) in every text and JSON column of
   leads, deals, companies, tasks, notes, document names, the event log, delivery failures, job errors, stored
   API responses and other contacts' custom fields. Rows are found by SQL ``LIKE`` first (a
   superset), then checked and rewritten in Python.

Cards whose text changed get a new version (a stale edit is refused, not written back). No
per-row events: the erasure logs one event, without the data.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from sqlalchemy import JSON, ColumnElement, Table, Text, cast, delete, func, or_, select, tuple_, update
from sqlalchemy.sql.schema import Column

from .. import schema
from ..personal_data import PLACEHOLDER, DataSubject, Matcher, json_text, national_number
from ..unit_of_work import Tx
from .privacy import on_their_cards

CONTACT_FIELDS = ("first_name", "last_name", "phones", "emails", "birthday", "custom")
LEAD_FIELDS = ("name", "phone", "email")
Prepare = Callable[[Any], dict[str, Any]]


def erase_cards(tx: Tx, subject: DataSubject) -> dict[str, int]:
    """Step 1 (see the module doc): the rows about the person. Returns rows changed per table."""
    conn, full = tx.conn, subject.matcher()
    s, counts = schema, {}
    k = s.contacts.c
    conn.execute(update(s.contacts).where(k.id == subject.contact_id).values(
        first_name=PLACEHOLDER, last_name="", birthday=None, phones=[], emails=[], custom={},
        version=k.version + 1, updated_at=tx.now))
    counts[s.contacts.name] = 1
    for index in (s.contact_phones, s.contact_emails):
        deleted = conn.execute(delete(index).where(index.c.contact_id == subject.contact_id)).rowcount
        counts[index.name] = max(deleted, 0)

    l = s.leads.c
    linked = set(conn.scalars(select(l.id).where(l.id.in_(subject.lead_ids), l.contact_id == subject.contact_id)))

    def lead(row: Any) -> dict[str, Any]:
        """A lead linked to the contact is theirs entirely; one that only shares a phone or an e-mail
        with them (a relative's request) loses that phone or e-mail, its other fields are scrubbed."""
        mine = row.id in linked
        return {"name": PLACEHOLDER if mine and row.name else row.name,
                "phone": None if mine or row.phone in subject.phones else row.phone,
                "email": None if mine or row.email in subject.emails else row.email}

    def event(row: Any) -> dict[str, Any]:
        kind = row.entity_type
        fields = CONTACT_FIELDS if kind == "contact" else LEAD_FIELDS if kind == "lead" and row.entity_id in linked \
            else ()
        return {"payload": _erase_fields(row.payload, fields)} if fields else {}

    targets: list[tuple[Table, ColumnElement[bool], Prepare | None]] = [
        (s.leads, s.leads.c.id.in_(subject.lead_ids), lead),
        (s.deals, s.deals.c.id.in_(subject.deal_ids), None),
        (s.tasks, s.tasks.c.id.in_(subject.task_ids), None),
        (s.notes, on_their_cards(subject, s.notes.c.entity_type, s.notes.c.entity_id), None),
        (s.files, on_their_cards(subject, s.files.c.entity_type, s.files.c.entity_id), None),
        (s.events, on_their_cards(subject, s.events.c.entity_type, s.events.c.entity_id), event),
    ]
    for table, where, prepare in targets:
        counts[table.name] = scrub_rows(tx, table, where, full, prepare=prepare)
    return counts


def remove_contact_files(tx: Tx, subject: DataSubject) -> list[str]:
    """Step 0: the documents on the contact card itself (an ID, a photo) go, rows now, contents once
    committed (the caller discards the returned storage keys). Documents on their leads, deals
    and tasks are business records: they stay, their names scrubbed."""
    f = schema.files.c
    mine = (f.entity_type == "contact") & (f.entity_id == subject.contact_id)
    keys = list(tx.conn.scalars(select(f.storage_key).where(mine).order_by(f.id)))
    tx.conn.execute(delete(schema.files).where(mine))
    return keys


def sweep(tx: Tx, subject: DataSubject) -> dict[str, int]:
    """Step 2 (see the module doc): the person's full names, phones and e-mails anywhere else."""
    from ...web.idempotency import idempotency_keys  # a core table, defined next to the API

    anywhere = subject.matcher(on_their_cards=False)
    s = schema
    targets: list[tuple[Table, list[Column[Any]]]] = [
        (t, text_columns(t)) for t in (s.leads, s.deals, s.companies, s.tasks, s.notes, s.files, s.events,
                                       s.event_failures, s.jobs)]
    targets.append((s.contacts, [s.contacts.c.custom]))  # other people's own names, phones, e-mails stay theirs
    targets.append((idempotency_keys, [idempotency_keys.c.response]))  # stored responses replayed to retries
    counts: dict[str, int] = {}
    for table, columns in targets:
        where = mentioned(table, columns, subject)
        if where is not None:
            changed = scrub_rows(tx, table, where, anywhere, columns=columns)
            if changed:
                counts[table.name] = counts.get(table.name, 0) + changed
    return counts


_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
SCRUBBED: dict[str, tuple[str, ...]] = {
    "crm_leads": ("title", "name", "company_name", "phone", "email", "lost_reason_text", "custom", *_UTM),
    "crm_deals": ("title", "lost_reason_text", "custom", *_UTM),
    "crm_companies": ("name", "address", "custom"),
    "crm_tasks": ("title", "description", "rule", "custom"),
    "crm_notes": ("body",),
    "crm_files": ("name",),
    "crm_events": ("payload",),
    "crm_event_failures": ("last_error",),
    "crm_jobs": ("last_error",),
}
"""The columns of the core's tables that may hold what people write about a person: free text and
JSON. Keys, statuses, stages, types and currencies are not scrubbed (a person called Won keeps
the deal's ``won`` status)."""


def text_columns(table: Table) -> list[Column[Any]]:
    """The columns of ``table`` that are scrubbed (see :data:`SCRUBBED`)."""
    return [table.c[name] for name in SCRUBBED.get(table.name, ())]


def scrub_rows(tx: Tx, table: Table, where: ColumnElement[bool], matcher: Matcher, *,
               columns: list[Column[Any]] | None = None, prepare: Prepare | None = None) -> int:
    """Replace mentions in ``columns`` (default: every text and JSON column) of the rows ``where``
    selects; ``prepare(row)`` gives values to set first (then scrubbed too). Returns rows changed."""
    columns = columns if columns is not None else text_columns(table)
    keys = list(table.primary_key.columns)
    versioned = "version" in table.c and "updated_at" in table.c
    changed = 0
    for row in tx.conn.execute(select(table).where(where)).all():
        current = dict(row._mapping)
        values = {**current, **(prepare(row) if prepare is not None else {})}
        new: dict[str, Any] = {}
        for col in columns:
            value = values[col.name]
            if isinstance(value, str):
                value = json_text(value, matcher) if not isinstance(col.type, JSON) else matcher.text(value)
                length = getattr(col.type, "length", None)
                value = value[:length] if length else value  # "[erased]" may be longer than what it replaced
            elif value is not None:
                value = matcher.value(value)
            if value != current[col.name]:
                new[col.name] = value
        if not new:
            continue
        if versioned:
            new.update(version=current["version"] + 1, updated_at=tx.now)
        tx.conn.execute(update(table).where(*(k == current[k.name] for k in keys)).values(**new))
        changed += 1
    return changed


def _erase_fields(payload: Any, fields: tuple[str, ...]) -> Any:
    """An event payload whose ``changes`` of ``fields`` hold ``[erased]`` instead of their values."""
    if not isinstance(payload, dict) or not isinstance(payload.get("changes"), dict):
        return payload
    changes = dict(payload["changes"])
    for field in fields:
        change = changes.get(field)
        if isinstance(change, dict):
            changes[field] = {side: (PLACEHOLDER if value not in (None, "", [], {}) else value)
                              for side, value in change.items()}
    return {**payload, "changes": changes}


# -- finding candidate rows in SQL ------------------------------------------------------------------


def mentioned(table: Table, columns: list[Column[Any]], subject: DataSubject) -> ColumnElement[bool] | None:
    """A WHERE clause on ``table`` true for every row whose ``columns`` may mention the person: a
    superset, by ``LIKE``, of each full name's words in order, each e-mail and erased text (as
    written, lower, upper and title case; in JSON also ``\\u``-escaped), and each phone's national
    number in the text without spaces, dots, dashes, slashes and brackets. ``None``: nothing to look for.

    Each column is cast, lowered and stripped once per row, in a subquery (``OFFSET 0`` keeps the
    planner from repeating that in every ``LIKE``)."""
    words, numbers = _patterns(subject)
    if not (words or numbers) or not columns:
        return None
    keys = list(table.primary_key.columns)
    texts = [cast(c, Text) if isinstance(c.type, JSON) else c for c in columns]
    lowered = sorted({p.lower() for p in words})
    exact = sorted(p for p in words if not p.isascii())  # lower() may fold ASCII only (SQLite)
    inner = select(*keys, *(func.lower(t).label(f"l{i}") for i, t in enumerate(texts) if lowered),
                   *(t.label(f"r{i}") for i, t in enumerate(texts) if exact),
                   *(_stripped(t).label(f"s{i}") for i, t in enumerate(texts) if numbers)).offset(0).subquery()
    conds: list[ColumnElement[bool]] = []
    for i in range(len(texts)):
        conds += [inner.c[f"l{i}"].like(p, escape="\\") for p in lowered]
        conds += [inner.c[f"r{i}"].like(p, escape="\\") for p in exact]
        conds += [inner.c[f"s{i}"].like(f"%{n}%") for n in numbers]
    found = select(*(inner.c[k.name] for k in keys)).where(or_(*conds))
    return keys[0].in_(found) if len(keys) == 1 else tuple_(*keys).in_(found)


def _stripped(expr: Any) -> Any:
    """``expr`` without the characters a written phone number has between its digits."""
    for char in " -./()":
        expr = func.replace(expr, char, "")
    return expr


def _patterns(subject: DataSubject) -> tuple[set[str], set[str]]:
    """(``LIKE`` patterns of names, e-mails and texts; the phones' national numbers)."""
    pieces: list[list[str]] = [n.split() for n in subject.names]
    pieces += [[t] for t in (*subject.emails, *subject.texts) if t]
    words: set[str] = set()
    for parts in pieces:
        phrase = " ".join(parts)
        for variant in {phrase, phrase.lower(), phrase.upper(), phrase.title()}:
            for form in (variant.split(), [json.dumps(w)[1:-1] for w in variant.split()]):
                words.add("%" + "%".join(_escape(w) for w in form) + "%")
    numbers = {n for n in (national_number(p) for p in subject.phones) if n}
    return words, numbers


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

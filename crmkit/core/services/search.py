"""Search across cards: contacts, companies, leads and deals by name, phone or e-mail.

    hits = crm.as_user(anna.id).search("(212) 555-0100")   # any phone format: matched in E.164

One query per kind of card, each limited by the acting user's record rules (what they may
not read is never found), newest first, at most ``limit`` hits per kind.

* A query that reads as a phone number (in the deployment's default region) finds the cards
  with exactly that E.164 number: contacts (any of their phones), leads, and the deals and
  companies of those contacts. Five or more digits that are not a whole number find the
  numbers containing them ("555-0100").
* A query with ``@`` finds e-mail addresses: a whole address exactly, a part by prefix.
* Anything else finds names: a contact's first, last or full name, a company's name, a
  lead's title, person or company name, a deal's title (case-insensitive substring;
  SQLite folds the case of ASCII letters only).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import attrs
from sqlalchemy import ColumnElement, Select, func, literal, or_, select

from .. import schema
from ..access import Access
from ..contacts_info import normalize_email, normalize_phone
from ..errors import ValidationError
from .base import check_text, read_connection

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm

Kind = Literal["contact", "company", "lead", "deal"]
KINDS: tuple[Kind, ...] = ("contact", "company", "lead", "deal")
MAX_LIMIT = 50
MIN_LENGTH = 2
_PHONEISH = re.compile(r"^[\d\s()+./-]+$")


@attrs.frozen
class SearchHit:
    """One card found: ``entity`` and ``id`` name it, ``title`` and ``detail`` describe it;
    ``matched`` says how it was found (``name``, ``phone`` or ``email``)."""

    entity: str
    id: int
    title: str
    detail: str
    matched: str


@attrs.frozen
class _Query:
    text: str
    phone: str | None  # E.164
    digits: str | None  # a part of a number
    email: str | None  # a whole address
    email_part: str | None  # the start of one
    like: str  # the text, LIKE-escaped, lower-cased

    @property
    def matched(self) -> str:
        return "phone" if self.phone or self.digits else "email" if self.email or self.email_part else "name"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_query(q: Any, region: str) -> _Query:
    """What ``q`` asks for (a phone, an e-mail or a name); a ValidationError naming ``q`` if unusable."""
    text = " ".join(check_text(q, "q", max_length=200).split())
    if len(text) < MIN_LENGTH:
        raise ValidationError(f"q: search for at least {MIN_LENGTH} characters", field="q")
    phone = digits = email = email_part = None
    if "@" in text:
        try:
            email = normalize_email(text, field="q")
        except ValidationError:
            email_part = text.lower()
    elif _PHONEISH.match(text) and sum(c.isdigit() for c in text) >= 5:
        try:
            phone = normalize_phone(text, region, field="q")
        except ValidationError:
            digits = "".join(c for c in text if c.isdigit())
    return _Query(text, phone, digits, email, email_part, _escape(text.lower()))


class SearchService:
    """Search as one user (``crm.as_user(id).search``), within their record rules."""

    def __init__(self, crm: "Crm", actor_id: int | None, access: Access | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.access = access if access is not None else Access.of(crm, actor_id)

    def __call__(self, q: str, *, limit: int = 10, kinds: tuple[str, ...] | list[str] | None = None) -> list[SearchHit]:
        """Cards matching ``q``, at most ``limit`` (1 to 50) of each kind in ``kinds`` (default all)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationError(f"limit: must be an integer from 1 to {MAX_LIMIT}", field="limit")
        wanted = KINDS if kinds is None else tuple(kinds)
        for kind in wanted:
            if kind not in KINDS:
                raise ValidationError(f"kinds: {kind!r} is not one of {', '.join(KINDS)}", field="kinds")
        query = parse_query(q, self.crm.settings.default_region)
        hits: list[SearchHit] = []
        with read_connection(self.crm) as conn:
            for kind in KINDS:
                if kind in wanted:
                    stmt = getattr(self, f"_{kind}")(query)
                    rows = conn.execute(self._visible(stmt, kind).limit(limit)).all()
                    hits += [self._hit(kind, row, query) for row in rows]
        return hits

    search = __call__

    # -- one statement per kind -------------------------------------------------------

    def _visible(self, stmt: Select[Any], kind: str) -> Select[Any]:
        table = schema.CARD_TABLES[kind]
        rule = self.access.visible(kind, table)
        stmt = stmt if rule is None else stmt.where(rule)
        return stmt.order_by(table.c.id.desc())

    def _contact_ids(self, q: _Query) -> Any:
        """Contacts having the phone or e-mail asked for (a sub-select), or None for a name."""
        ph, em = schema.contact_phones.c, schema.contact_emails.c
        if q.phone:
            return select(ph.contact_id).where(ph.phone == q.phone)
        if q.digits:
            return select(ph.contact_id).where(ph.phone.like(f"%{q.digits}%"))
        if q.email:
            return select(em.contact_id).where(em.email == q.email)
        if q.email_part:
            return select(em.contact_id).where(em.email.like(f"{_escape(q.email_part)}%", escape="\\"))
        return None

    def _name(self, *columns: Any, q: _Query) -> ColumnElement[bool]:
        pattern = f"%{q.like}%"
        return or_(*(func.lower(col).like(pattern, escape="\\") for col in columns))

    def _contact(self, q: _Query) -> Select[Any]:
        c = schema.contacts.c
        ids = self._contact_ids(q)
        stmt = select(c.id, c.first_name, c.last_name, c.phones, c.emails)
        if ids is not None:
            return stmt.where(c.id.in_(ids))
        full = c.first_name + literal(" ") + c.last_name
        return stmt.where(self._name(c.first_name, c.last_name, full, q=q))

    def _company(self, q: _Query) -> Select[Any]:
        co, c = schema.companies.c, schema.contacts.c
        ids = self._contact_ids(q)
        stmt = select(co.id, co.name, co.address)
        if ids is not None:
            return stmt.where(co.id.in_(select(c.company_id).where(c.id.in_(ids))))
        return stmt.where(self._name(co.name, q=q))

    def _lead(self, q: _Query) -> Select[Any]:
        le = schema.leads.c
        stmt = select(le.id, le.title, le.name, le.phone, le.email, le.status)
        if q.phone:
            return stmt.where(le.phone == q.phone)
        if q.digits:
            return stmt.where(le.phone.like(f"%{q.digits}%"))
        if q.email:
            return stmt.where(le.email == q.email)
        if q.email_part:
            return stmt.where(le.email.like(f"{_escape(q.email_part)}%", escape="\\"))
        return stmt.where(self._name(le.title, le.name, le.company_name, q=q))

    def _deal(self, q: _Query) -> Select[Any]:
        d = schema.deals.c
        ids = self._contact_ids(q)
        stmt = select(d.id, d.title, d.status, d.stage_id)
        if ids is not None:
            return stmt.where(d.contact_id.in_(ids))
        return stmt.where(self._name(d.title, q=q))

    # -- rows to hits -------------------------------------------------------------------

    def _hit(self, kind: str, row: Any, q: _Query) -> SearchHit:
        if kind == "contact":
            title = f"{row.first_name} {row.last_name}".strip()
            detail = ", ".join([*(row.phones or ())[:1], *(row.emails or ())[:1]])
        elif kind == "company":
            title, detail = row.name, (row.address or "").split("\n")[0]
        elif kind == "lead":
            title = row.title
            detail = ", ".join(x for x in (row.name, row.phone, row.email, row.status) if x)
        else:
            stage = self.crm.stage_by_id(row.stage_id)
            title, detail = row.title, f"{stage.name} ({row.status})"
        return SearchHit(entity=kind, id=row.id, title=title, detail=detail, matched=q.matched)

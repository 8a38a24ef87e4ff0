"""Message templates: Jinja2 in a sandbox, one per key and language, rendered with a real card.

A template sees ``contact`` (the contact record as JSON-ready data: ``contact.first_name``,
``contact.custom.<field>``, ...), ``deal`` when a deal is given, ``deployment`` (its name) and the
caller's ``context``. The sandbox refuses attribute tricks (``__class__``...) and unsafe calls;
a syntax error is refused when the template is saved, naming the field and line.
"""

from __future__ import annotations

from html import escape as html_escape
from typing import TYPE_CHECKING, Any, Mapping

import attrs
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import Connection, delete, insert, select, update

from crmkit import NotFoundError, ValidationError, check_id, check_text, events

from .tables import templates

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

DEFAULT_LANGUAGE = "en"
_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_HTML_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)


@attrs.frozen
class Template:
    id: int
    key: str
    language: str
    subject: str
    body: str
    html: str | None


@attrs.frozen
class Rendered:
    """A template filled in: what a message carries."""

    key: str
    language: str
    subject: str
    body: str
    html: str | None


def _check_key(key: Any) -> str:
    key = check_text(key, "key", required=True, max_length=100)
    if not all(ch.isalnum() or ch in "._-" for ch in key):
        raise ValidationError(f"key: {key!r} may hold letters, digits, '.', '_' and '-' only", field="key")
    return key


def _check_language(language: Any) -> str:
    language = check_text(language, "language", required=True, max_length=10)
    if not all(ch.isalnum() or ch == "-" for ch in language):
        raise ValidationError(f"language: {language!r} is not a language tag such as en or de-AT", field="language")
    return language.lower()


def _compile(source: str, field: str, html: bool = False) -> Any:
    try:
        return (_HTML_ENV if html else _ENV).from_string(source)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"{field}: line {exc.lineno}: {exc.message}", field=field) from None


class TemplateService:
    def __init__(self, crm: "Crm", actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self._compiled: dict[tuple[str, str | None], tuple[Template, Any, Any, Any]] = {}

    def save(self, key: str, body: str, *, subject: str = "", html: str | None = None,
             language: str = DEFAULT_LANGUAGE) -> Template:
        """Create or replace the template ``key`` in ``language`` (checked for syntax first)."""
        key, language = _check_key(key), _check_language(language)
        body = check_text(body, "body", required=True, max_length=100_000, multiline=True)
        subject = check_text(subject, "subject", max_length=300) or ""
        html = check_text(html, "html", max_length=200_000, multiline=True) if html else None
        _compile(body, "body")
        _compile(subject, "subject")
        if html:
            _compile(html, "html", html=True)
        t = templates.c
        with self.crm.transaction(self.actor_id) as tx:
            existing = tx.conn.scalar(select(t.id).where(t.key == key, t.language == language))
            values = {"subject": subject, "body": body, "html": html, "updated_at": tx.now}
            if existing is None:
                existing = tx.conn.execute(insert(templates).values(key=key, language=language, created_at=tx.now,
                                                                    **values)).inserted_primary_key[0]
            else:
                tx.conn.execute(update(templates).where(t.id == existing).values(**values))
            tx.emit(events.MESSAGE_TEMPLATE_SAVED, "template", int(existing), data={"key": key, "language": language})
        return Template(id=int(existing), key=key, language=language, subject=subject, body=body, html=html)

    def list(self) -> list[Template]:
        t = templates.c
        with self.crm.engine.connect() as conn:
            rows = conn.execute(select(templates).order_by(t.key, t.language)).all()
        return [Template(r.id, r.key, r.language, r.subject, r.body, r.html) for r in rows]

    def get(self, key: str, language: str | None = None, *, conn: Connection | None = None) -> Template:
        """The template in ``language``, else in the default language, else in any language."""
        key = _check_key(key)
        t = templates.c
        query = select(templates).where(t.key == key)
        if conn is not None:
            rows = conn.execute(query).all()
        else:
            with self.crm.engine.connect() as own:
                rows = own.execute(query).all()
        if not rows:
            raise NotFoundError(f"template {key!r} does not exist", field="template")
        by_language = {r.language: r for r in rows}
        wanted = [language.lower()] if language else []
        if language and "-" in language:
            wanted.append(language.lower().split("-")[0])
        row = next((by_language[w] for w in wanted + [DEFAULT_LANGUAGE] if w in by_language),
                   sorted(rows, key=lambda r: r.language)[0])
        return Template(row.id, row.key, row.language, row.subject, row.body, row.html)

    def delete(self, key: str, language: str) -> None:
        t = templates.c
        with self.crm.transaction(self.actor_id) as tx:
            done = tx.conn.execute(delete(templates).where(t.key == _check_key(key),
                                                           t.language == _check_language(language))).rowcount
            if not done:
                raise NotFoundError(f"template {key!r} in {language!r} does not exist")

    def render(self, key: str, *, contact_id: int | None = None, deal_id: int | None = None,
               language: str | None = None, context: Mapping[str, Any] | None = None,
               conn: Connection | None = None) -> Rendered:
        """Fill in template ``key`` with a real contact (and deal): what a message would carry.
        The contact's ``language`` custom field picks the variant when ``language`` is not given."""
        services = self.crm.as_user(self.actor_id)
        values: dict[str, Any] = {"deployment": {"name": self.crm.settings.name}}
        if contact_id is not None:  # the record itself: {{ contact.first_name }}, {{ contact.custom.level }}
            values["contact"] = services.contacts.get(check_id(contact_id, "contact_id"))
            language = language or (values["contact"].custom or {}).get("language")
        if deal_id is not None:
            values["deal"] = services.deals.get(check_id(deal_id, "deal_id"))
        values.update(dict(context or {}))
        template = self.get(key, language if isinstance(language, str) else None, conn=conn)
        try:
            subject = _compile(template.subject, "subject").render(values).strip()
            body = _compile(template.body, "body").render(values)
            html = _compile(template.html, "html", html=True).render(values) if template.html else None
        except TemplateError as exc:
            raise ValidationError(f"template: {key} ({template.language}) cannot be filled in: {exc}",
                                  field="template") from None
        return Rendered(key=key, language=template.language, subject=subject[:300], body=body, html=html)

    preview = render

    def document(self, key: str, *, deal_id: int | None = None, contact_id: int | None = None,
                 language: str | None = None, context: Mapping[str, Any] | None = None,
                 attach: bool = False) -> tuple[str, Any]:
        """A document (a proposal, a contract) from template ``key``: its HTML part filled in with a
        real deal (and its contact, unless ``contact_id`` is given), as a whole HTML page. With
        ``attach``, the page is also stored as a file on the deal (or contact): ``(html, FileInfo)``."""
        services = self.crm.as_user(self.actor_id)
        if deal_id is not None and contact_id is None:
            contact_id = services.deals.get(check_id(deal_id, "deal_id")).contact_id
        rendered = self.render(key, contact_id=contact_id, deal_id=deal_id, language=language, context=context)
        if rendered.html is None:
            raise ValidationError(f"template: {key} has no HTML part; a document is made from it", field="template")
        title = html_escape(rendered.subject or key)
        page = (f'<!doctype html>\n<html lang="{html_escape(rendered.language)}"><head><meta charset="utf-8">'
                f"<title>{title}</title></head>\n<body>\n{rendered.html}\n</body></html>\n")
        stored = None
        if attach:
            entity, ident = ("deal", deal_id) if deal_id is not None else ("contact", contact_id)
            if ident is None:
                raise ValidationError("deal_id: a document is attached to a deal or a contact", field="deal_id")
            name = f"{key}-{rendered.language}.html"
            stored = services.files.add(entity, ident, page.encode(), name=name)
        return page, stored

    def fill(self, key: str, values: Mapping[str, Any], language: str | None = None) -> Rendered:
        """Render ``key`` with ready ``values`` (bulk paths: each variant is read and compiled once
        per service object)."""
        lang = language if isinstance(language, str) else None
        found = self._compiled.get((key, lang))
        if found is None:
            t = self.get(key, lang)
            found = self._compiled[(key, lang)] = (t, _compile(t.subject, "subject"), _compile(t.body, "body"),
                                                   _compile(t.html, "html", html=True) if t.html else None)
        t, subject, body, html = found
        try:
            title = t.subject if "{" not in t.subject else subject.render(values)
            return Rendered(key=key, language=t.language, subject=title.strip()[:300],
                            body=body.render(values), html=html.render(values) if html is not None else None)
        except TemplateError as exc:
            raise ValidationError(f"template: {key} ({t.language}) cannot be filled in: {exc}",
                                  field="template") from None

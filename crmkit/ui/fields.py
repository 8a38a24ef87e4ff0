"""Card fields as form inputs and back: core fields and the deployment's custom fields.

Inputs are named ``f_<field>`` (core) and ``c_<field>`` (custom); :func:`changes` turns a
submitted form into the ``changes`` of a service's ``update`` (custom fields merged).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import attrs

from ..core.errors import ValidationError
from .i18n import N_

if TYPE_CHECKING:  # pragma: no cover
    from .context import PageContext

CORE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {  # entity -> (name, input type)
    "deal": (("title", "text"), ("amount", "money"), ("responsible_id", "user")),
    "lead": (("title", "text"), ("name", "text"), ("company_name", "text"), ("phone", "tel"), ("email", "email"),
             ("responsible_id", "user")),
    "contact": (("first_name", "text"), ("last_name", "text"), ("phones", "tel"), ("emails", "email"),
                ("responsible_id", "user")),
    "company": (("name", "text"), ("address", "textarea"), ("responsible_id", "user")),
}
LABELS = {"title": N_("Title"), "amount": N_("Amount"), "responsible_id": N_("Responsible"), "name": N_("Name"),
          "company_name": N_("Company name"), "phone": N_("Phone"), "email": N_("E-mail"),
          "first_name": N_("First name"), "last_name": N_("Last name"), "phones": N_("Phones"),
          "emails": N_("E-mails"), "address": N_("Address")}
_INPUT = {"text": "text", "integer": "number", "decimal": "text", "date": "date", "datetime": "datetime-local",
          "boolean": "checkbox", "choice": "select", "phone": "tel", "email": "email", "user": "user"}


@attrs.frozen
class FieldView:
    """One input: ``name`` is the form name, ``key`` the field, ``value`` the current value as text."""

    name: str
    key: str
    label: str
    input: str
    value: str
    choices: tuple[tuple[str, str], ...] = ()
    custom: bool = False


def views(ctx: "PageContext", entity: str, card: Any, only: Iterable[str] | None = None) -> list[FieldView]:
    """The inputs of ``card``'s fields (``only`` these, when given), filled with its values."""
    wanted = set(only) if only is not None else None
    users = _users(ctx)
    out: list[FieldView] = []
    for key, kind in CORE_FIELDS.get(entity, ()):
        if wanted is None or key in wanted:
            value = getattr(card, key, None) if card is not None else None
            out.append(FieldView(f"f_{key}", key, ctx._(LABELS[key]), kind, _text(ctx, value, kind),
                                 users if kind == "user" else ()))
    for key, spec in ctx.crm.custom_fields.fields(entity).items():
        if wanted is None or key in wanted:
            value = (card.custom or {}).get(key) if card is not None else None
            kind = _INPUT.get(spec.type, "text")
            choices = users if kind == "user" else tuple((c, c) for c in (spec.choices or ()))
            out.append(FieldView(f"c_{key}", key, spec.label or key, kind, _text(ctx, value, kind), choices, True))
    return out


def changes(ctx: "PageContext", entity: str, form: Mapping[str, str], fields: Iterable[FieldView]) -> dict[str, Any]:
    """The ``changes`` the submitted ``form`` makes to ``fields`` (empty inputs clear the field)."""
    out: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for field in fields:
        raw = form.get(field.name)
        if field.input == "checkbox":
            value: Any = raw is not None
        elif raw is None:
            continue
        else:
            value = _parse(ctx, field, raw.strip())
        (custom if field.custom else out)[field.key] = value
    if custom:
        out["custom"] = custom
    return out


def _parse(ctx: "PageContext", field: FieldView, raw: str) -> Any:
    if raw == "":
        return [] if field.key in ("phones", "emails") else None
    if field.key in ("phones", "emails"):
        return [p.strip() for p in raw.split(",") if p.strip()]
    if field.input == "user":
        if not raw.isascii() or not raw.isdigit():
            raise ValidationError(f"{field.key}: choose a user", field=field.key)
        return int(raw)
    if field.input == "number":
        try:
            return int(raw)
        except ValueError:
            raise ValidationError(f"{field.key}: a whole number", field=field.key) from None
    if field.input == "datetime-local":
        try:
            local = datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError(f"{field.key}: a date and time", field=field.key) from None
        return (local if local.tzinfo else local.replace(tzinfo=ctx.crm.settings.tz)).isoformat()
    return raw


def _text(ctx: "PageContext", value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return str(value.amount)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if kind == "datetime-local":
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return moment.astimezone(ctx.crm.settings.tz).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def _users(ctx: "PageContext") -> tuple[tuple[str, str], ...]:
    assert ctx.services is not None
    page = ctx.services.users.list(active=True, limit=500, order="name")
    return tuple((str(u.id), u.name) for u in page.items)


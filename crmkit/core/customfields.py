"""Custom fields per deployment and entity type, validated on every write.

Declared in ``crmkit.toml``::

    [custom_fields.deal]
    measurement_date = { type = "date", label = "Measurement date" }
    window_count = { type = "integer", min = 1 }
    customer_kind = { type = "choice", choices = ["person", "legal_entity"] }

or by a plugin's ``crm_register_custom_fields`` hook. Values are stored in the
card's ``custom`` JSON column in a canonical JSON form (dates and datetimes as ISO
text, decimals as text), which is also what list filters compare against.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Iterable, Literal, Mapping

import attrs

from .clock import ensure_utc
from .contacts_info import normalize_email, normalize_phone
from .errors import ConfigError, ValidationError
from .money import to_decimal
from .text import check_characters

FieldType = Literal["text", "integer", "decimal", "date", "datetime", "boolean", "choice", "phone", "email", "user"]
FIELD_TYPES: tuple[str, ...] = (
    "text", "integer", "decimal", "date", "datetime", "boolean", "choice", "phone", "email", "user",
)
ENTITY_TYPES: tuple[str, ...] = ("lead", "contact", "company", "deal", "task")
ORDERED_TYPES = frozenset({"integer", "decimal", "date", "datetime"})
"""Fields whose list filters accept gt/gte/lt/lte meaningfully."""
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@attrs.frozen
class CustomField:
    """One declared custom field."""

    entity: str
    name: str
    type: FieldType
    label: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int = 1000
    origin: str = "crmkit.toml"

    def __attrs_post_init__(self) -> None:
        where = f"{self.origin}: custom field {self.entity}.{self.name}"
        if self.entity not in ENTITY_TYPES:
            raise ConfigError(f"{where}: entity must be one of {', '.join(ENTITY_TYPES)}")
        if not _NAME.match(self.name):
            raise ConfigError(f"{where}: name must be lower-case letters, digits and _")
        if self.type not in FIELD_TYPES:
            raise ConfigError(f"{where}: type {self.type!r} unknown; use one of {', '.join(FIELD_TYPES)}")
        if self.type == "choice" and not self.choices:
            raise ConfigError(f"{where}: a choice field needs choices")

    def clean(self, value: Any, *, region: str) -> Any:
        """Validate ``value`` and return its canonical JSON form (None clears the field)."""
        field = self.name
        if value is None or value == "":
            if self.required:
                raise ValidationError(f"{field}: is required", field=field)
            return None
        cleaned = _CLEANERS[self.type](self, value, region)
        if self.type in ("integer", "decimal") and (self.min is not None or self.max is not None):
            number = Decimal(cleaned)
            if self.min is not None and number < self.min:
                raise ValidationError(f"{field}: must be at least {self.min}", field=field)
            if self.max is not None and number > self.max:
                raise ValidationError(f"{field}: must be at most {self.max}", field=field)
        return cleaned


def _text(f: CustomField, v: Any, region: str) -> str:
    if not isinstance(v, str):
        raise ValidationError(f"{f.name}: expected text, got {type(v).__name__}", field=f.name)
    if len(v) > f.max_length:
        raise ValidationError(f"{f.name}: longer than {f.max_length} characters", field=f.name)
    return check_characters(v, f.name, multiline=True)


def _integer(f: CustomField, v: Any, region: str) -> int:
    if isinstance(v, bool):
        raise ValidationError(f"{f.name}: expected an integer, got a boolean", field=f.name)
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", v):
        return int(v)
    raise ValidationError(f"{f.name}: {v!r} is not an integer", field=f.name)


DECIMAL_DIGITS, DECIMAL_PLACES = 20, 10  # what filters compare exactly (NUMERIC(30, 10))


def _decimal(f: CustomField, v: Any, region: str) -> str:
    number = to_decimal(v, field=f.name)
    if not number.is_zero() and number.adjusted() >= DECIMAL_DIGITS:
        raise ValidationError(f"{f.name}: {v} is too large (at most {DECIMAL_DIGITS} digits before the point)",
                              field=f.name)
    if int(number.as_tuple().exponent) < -DECIMAL_PLACES and number != round(number, DECIMAL_PLACES):
        raise ValidationError(f"{f.name}: {v} has more than {DECIMAL_PLACES} decimal places", field=f.name)
    return format(number.normalize() if int(number.as_tuple().exponent) < -DECIMAL_PLACES else number, "f")


def _date(f: CustomField, v: Any, region: str) -> str:
    if isinstance(v, datetime):
        raise ValidationError(f"{f.name}: expected a date, got a datetime", field=f.name)
    if isinstance(v, date):
        return v.isoformat()
    try:
        return date.fromisoformat(str(v)).isoformat()
    except ValueError:
        raise ValidationError(f"{f.name}: {v!r} is not a date (YYYY-MM-DD)", field=f.name) from None


def _datetime(f: CustomField, v: Any, region: str) -> str:
    if not isinstance(v, datetime):
        try:
            v = datetime.fromisoformat(str(v))
        except ValueError:
            raise ValidationError(f"{f.name}: {v!r} is not an ISO datetime", field=f.name) from None
    return ensure_utc(v, field=f.name).isoformat()


def _boolean(f: CustomField, v: Any, region: str) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValidationError(f"{f.name}: {v!r} is not a boolean", field=f.name)


def _choice(f: CustomField, v: Any, region: str) -> str:
    if v not in f.choices:
        raise ValidationError(f"{f.name}: {v!r} is not one of {', '.join(f.choices)}", field=f.name)
    return str(v)


def _phone(f: CustomField, v: Any, region: str) -> str:
    return normalize_phone(v, region, field=f.name)


def _email(f: CustomField, v: Any, region: str) -> str:
    return normalize_email(v, field=f.name)


def _user(f: CustomField, v: Any, region: str) -> int:
    """A user id (the services give an e-mail address as the user's id first, and check that the
    user exists)."""
    if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, str) and re.fullmatch(r"\s*[0-9]{1,10}\s*", v))):
        raise ValidationError(f"{f.name}: {str(v)[:100]!r} is not a user (give the user's id or e-mail address)",
                              field=f.name)
    return int(v)


_CLEANERS: dict[str, Callable[[CustomField, Any, str], Any]] = {
    "user": _user, "text": _text, "integer": _integer, "decimal": _decimal, "date": _date, "datetime": _datetime,
    "boolean": _boolean, "choice": _choice, "phone": _phone, "email": _email,
}


def parse_custom_fields(table: Any, *, origin: str) -> list[CustomField]:
    """Parse ``[custom_fields.<entity>]`` tables."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: custom_fields must be a table of entity tables")
    result = []
    for entity, fields in table.items():
        if not isinstance(fields, dict):
            raise ConfigError(f"{origin}: custom_fields.{entity} must be a table")
        for name, decl in fields.items():
            if isinstance(decl, str):
                decl = {"type": decl}
            if not isinstance(decl, dict) or "type" not in decl:
                raise ConfigError(f"{origin}: custom field {entity}.{name} needs a type")
            unknown = set(decl) - {"type", "label", "required", "choices", "min", "max", "max_length"}
            if unknown:
                raise ConfigError(f"{origin}: custom field {entity}.{name}: unknown option(s) {', '.join(sorted(unknown))}")
            result.append(
                CustomField(
                    entity=str(entity), name=str(name), type=decl["type"], label=str(decl.get("label", name)),
                    required=bool(decl.get("required", False)), choices=tuple(decl.get("choices", ())),
                    min=Decimal(str(decl["min"])) if "min" in decl else None,
                    max=Decimal(str(decl["max"])) if "max" in decl else None,
                    max_length=int(decl.get("max_length", 1000)), origin=origin,
                )
            )
    return result


class CustomFieldRegistry:
    """All custom fields of a deployment, by entity type."""

    def __init__(self, fields: Iterable[CustomField]) -> None:
        self._by_entity: dict[str, dict[str, CustomField]] = {e: {} for e in ENTITY_TYPES}
        for f in fields:
            existing = self._by_entity[f.entity].get(f.name)
            if existing is not None and existing != f:
                raise ConfigError(
                    f"custom field {f.entity}.{f.name} is declared by both {existing.origin} and {f.origin}"
                )
            self._by_entity[f.entity][f.name] = f

    def fields(self, entity: str) -> Mapping[str, CustomField]:
        return self._by_entity[entity]

    def of_type(self, entity: str, *types: str) -> list[CustomField]:
        return [f for f in self._by_entity[entity].values() if f.type in types]

    def get(self, entity: str, name: str) -> CustomField | None:
        return self._by_entity[entity].get(name)

    def clean(
        self, entity: str, values: Mapping[str, Any] | None, *, region: str, current: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Validate a write of ``values`` over ``current``; return the full new custom dict."""
        declared = self._by_entity[entity]
        result = dict(current or {})
        for name, value in (values or {}).items():
            spec = declared.get(name)
            if spec is None:
                known = ", ".join(sorted(declared)) or "none declared"
                raise ValidationError(f"{name}: unknown custom field for {entity} (known: {known})", field=name)
            cleaned = spec.clean(value, region=region)
            if cleaned is None:
                result.pop(name, None)
            else:
                result[name] = cleaned
        for name, spec in declared.items():
            if spec.required and name not in result:
                raise ValidationError(f"{name}: is required", field=name)
        return result

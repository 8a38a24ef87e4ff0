"""Which column holds which field: guessed from the headers (en, de, ru, zh, sl), editable, savable.

A mapping is ``{header: field}``; a field is one of :func:`fields` of the card type, or
``custom.<name>`` for a custom field, or ``""`` (the column is not imported). Several columns
may feed a list field (``phones``, ``emails``: a work phone and a mobile).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..core.errors import ValidationError
from .exporting import unquote_cell

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

ENTITIES = ("contact", "company", "lead", "deal")
LIST_FIELDS = frozenset({"phones", "emails"})

FIELDS: Mapping[str, tuple[str, ...]] = {
    "contact": ("external_id", "first_name", "last_name", "name", "phones", "emails", "company", "birthday",
                "responsible"),
    "company": ("external_id", "name", "address", "responsible"),
    "lead": ("external_id", "title", "name", "company_name", "phone", "email", "source", "responsible"),
    "deal": ("external_id", "title", "pipeline", "stage", "amount", "currency", "responsible", "contact",
             "contact_email", "contact_phone", "company"),
}

_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "external_id": ("id", "external id", "ext id", "externalid", "record id", "externe id", "kundennummer",
                    "внешний id", "внешний идентификатор", "код", "外部id", "编号", "zunanji id", "šifra"),
    "first_name": ("first name", "firstname", "given name", "forename", "vorname", "имя", "名", "名字",
                   "ime"),
    "last_name": ("last name", "lastname", "surname", "family name", "nachname", "familienname", "фамилия",
                  "姓", "姓氏", "priimek"),
    "name": ("name", "full name", "fullname", "contact name", "vollständiger name", "фио", "полное имя",
             "姓名", "全名", "ime in priimek", "polno ime", "naziv"),
    "phones": ("phone", "phones", "telephone", "tel", "mobile", "mobile phone", "cell", "phone number",
               "work phone", "home phone", "telefon", "telefonnummer", "handy", "mobil", "mobilnummer",
               "телефон", "тел", "мобильный", "мобильный телефон", "рабочий телефон", "电话", "手机", "电话号码",
               "联系电话", "mobitel", "gsm", "telefonska številka"),
    "emails": ("email", "e-mail", "emails", "mail", "email address", "e-mail address", "e-mail-adresse",
               "почта", "электронная почта", "эл почта", "емейл", "邮箱", "电子邮件", "邮件", "电子邮箱",
               "e-pošta", "epošta", "elektronska pošta", "e-naslov"),
    "company": ("company", "company name", "organization", "organisation", "account", "firma", "unternehmen",
                "компания", "организация", "公司", "单位", "公司名称", "podjetje", "organizacija"),
    "birthday": ("birthday", "date of birth", "dob", "birth date", "geburtstag", "geburtsdatum",
                 "день рождения", "дата рождения", "生日", "出生日期", "rojstni dan", "datum rojstva"),
    "address": ("address", "adresse", "anschrift", "адрес", "地址", "naslov"),
    "title": ("title", "subject", "deal", "deal name", "lead", "titel", "betreff", "название", "сделка",
              "тема", "заголовок", "标题", "主题", "交易", "zadeva", "posel"),
    "responsible": ("owner", "responsible", "manager", "assigned to", "sales rep", "verantwortlich",
                    "zuständig", "betreuer", "ответственный", "менеджер", "负责人", "所有者", "销售",
                    "odgovorna oseba", "skrbnik", "odgovoren"),
    "pipeline": ("pipeline", "funnel", "sales pipeline", "vertriebspipeline", "воронка", "销售漏斗", "漏斗",
                 "管道", "lijak", "prodajni lijak"),
    "stage": ("stage", "phase", "deal stage", "etappe", "stufe", "этап", "стадия", "阶段", "faza", "stopnja"),
    "amount": ("amount", "value", "sum", "deal value", "betrag", "wert", "summe", "сумма", "бюджет", "金额",
               "价值", "znesek", "vrednost"),
    "currency": ("currency", "währung", "валюта", "货币", "币种", "valuta"),
    "source": ("source", "channel", "quelle", "kanal", "источник", "канал", "来源", "渠道", "vir", "kanal"),
    "contact_email": ("contact email", "contact e-mail", "kontakt e-mail", "email контакта", "联系人邮箱",
                      "e-pošta kontakta"),
    "contact_phone": ("contact phone", "kontakt telefon", "телефон контакта", "联系人电话", "telefon kontakta"),
    "contact": ("contact", "contact id", "kontakt", "контакт", "联系人", "stik"),
}
_ALIASES = {"phones": {"lead": "phone"}, "emails": {"lead": "email"}, "company": {"lead": "company_name", "company": "name"},
            "name": {"deal": "title"}}


def key(header: str) -> str:
    """A header reduced for matching: NFKC, case-folded, punctuation and spacing collapsed."""
    text = unicodedata.normalize("NFKC", header).casefold().strip()
    text = re.sub(r"[_\-./:#*()\[\]]+", " ", text)
    return " ".join(text.split())


_INDEX: dict[str, str] = {}
for _field, _words in _SYNONYMS.items():
    for _w in (_field, *_words):
        _INDEX.setdefault(key(_w), _field)
        _INDEX.setdefault(key(_w).replace(" ", ""), _field)


def fields(crm: "Crm", entity: str) -> list[str]:
    """Every field a column of an ``entity`` import may map to (custom fields as ``custom.<name>``)."""
    check_entity(entity)
    return [*FIELDS[entity], *(f"custom.{name}" for name in crm.custom_fields.fields(entity))]


def check_entity(entity: Any) -> str:
    if entity not in ENTITIES:
        raise ValidationError(f"entity: {str(entity)[:40]!r} is not one of {', '.join(ENTITIES)}", field="entity")
    return str(entity)


def guess(crm: "Crm", entity: str, header: Sequence[str]) -> dict[str, str]:
    """A mapping guessed from ``header``: synonyms in five languages, custom fields by name or label."""
    allowed = set(fields(crm, entity))
    custom = {}
    for name, spec in crm.custom_fields.fields(entity).items():
        custom[key(name)] = f"custom.{name}"
        label = getattr(spec, "label", None)
        if label:
            custom[key(label)] = f"custom.{name}"
    out: dict[str, str] = {}
    taken: set[str] = set()
    for h in header:
        k = key(h)
        field = custom.get(k) or _INDEX.get(k) or _INDEX.get(k.replace(" ", ""))
        if field is None and k.startswith("custom "):
            field = f"custom.{k[7:].replace(' ', '_')}"
        if field is not None:
            field = _ALIASES.get(field, {}).get(entity, field)
        if field not in allowed or (field in taken and field not in LIST_FIELDS):
            field = ""
        out[h] = field or ""
        if field:
            taken.add(field)
    return out


def check(crm: "Crm", entity: str, header: Sequence[str], mapping: Mapping[str, Any]) -> dict[str, str]:
    """``mapping`` checked against the header and the fields; unmapped headers are not imported."""
    if not isinstance(mapping, Mapping):
        raise ValidationError("mapping: expected an object {header: field}", field="mapping")
    allowed = set(fields(crm, entity))
    out = {h: "" for h in header}
    seen: set[str] = set()
    for h, field in mapping.items():
        if h not in out:
            raise ValidationError(f"mapping: the file has no column {str(h)[:100]!r}", field="mapping")
        field = field or ""
        if not isinstance(field, str) or (field and field not in allowed):
            raise ValidationError(f"mapping: {str(field)[:100]!r} (column {h!r}) is not a field of a {entity} "
                                  f"(fields: {', '.join(sorted(allowed))})", field="mapping")
        if field and field in seen and field not in LIST_FIELDS:
            raise ValidationError(f"mapping: two columns map to {field}", field="mapping")
        seen.add(field)
        out[h] = field
    return out


def extract(mapping: Mapping[str, str], header: Sequence[str], cells: Sequence[str]) -> dict[str, Any]:
    """The mapped values of one record: ``{field: text}``, list fields as lists of non-empty texts."""
    return extract_columns(columns(mapping, header), cells)


def columns(mapping: Mapping[str, str], header: Sequence[str]) -> list[tuple[int, str, bool]]:
    """The mapped columns once per file: (position, field, a list field?)."""
    return [(i, mapping[h], mapping[h] in LIST_FIELDS) for i, h in enumerate(header) if mapping.get(h)]


_SPLIT = re.compile(r"[,;\n]")


def extract_columns(cols: Sequence[tuple[int, str, bool]], cells: Sequence[str]) -> dict[str, Any]:
    """:func:`extract` with the columns of :func:`columns`."""
    out: dict[str, Any] = {}
    n = len(cells)
    for i, field, many in cols:
        value = cells[i].strip() if i < n else ""
        if value[:1] == "'":
            value = unquote_cell(value)
        if many:
            if not value:
                out.setdefault(field, [])
                continue
            if "," in value or ";" in value or "\n" in value:
                parts = [p.strip() for p in _SPLIT.split(value) if p.strip()]
            else:
                parts = [value]
            out.setdefault(field, []).extend(parts)
        elif value:
            out[field] = value
    return out

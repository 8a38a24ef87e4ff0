"""``POST /forms/{key}``: public lead capture for website forms.

Forms are declared in crmkit.toml::

    [settings.forms.contact_us]
    source = "web_form"           # the lead's source (default web_form)
    title = "Website request"     # the lead's title (default: the form key and the sender)
    utm_source = "site"           # UTM defaults, overridden by the submitted utm_* fields
    rate_limit = 10               # submissions per minute per client (default 10)
    honeypot = "website"          # a hidden field only bots fill in (default "website")

No token is needed. The body is JSON or form-encoded. A filled honeypot gets the
usual answer and creates nothing. Submitted ``utm_*`` fields (over the form's
defaults) become the lead's UTM fields; a field named like a declared lead
custom field goes into ``custom``; other fields are ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import attrs

from ...core.errors import ConfigError, NotFoundError, ValidationError
from ..errors import TooManyRequests
from ..operation import Ctx, Operation, Result
from ..ratelimit import RateLimiter
from ..validate import check_string

if TYPE_CHECKING:  # pragma: no cover
    from ...core.app import Crm
    from ...core.clock import Clock

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
LEAD_FIELDS = ("name", "phone", "email", "company_name")
_OPTIONS = {"source", "title", "rate_limit", "honeypot", "responsible_id", *UTM}
VALUE = {"type": ["string", "number", "boolean", "null"], "maxLength": 5000}
BODY = {
    "type": "object", "additionalProperties": VALUE,
    "properties": {
        **{k: {"type": ["string", "null"], "maxLength": 300} for k in ("title", *LEAD_FIELDS)},
        "message": {"type": ["string", "null"], "maxLength": 10000},
        **{k: {"type": ["string", "null"], "maxLength": 300} for k in UTM},
    },
}
RESPONSE = {"type": "object", "required": ["received"],
            "properties": {"received": {"type": "boolean"}, "lead_id": {"type": "integer"}}}


@attrs.frozen
class Form:
    key: str
    source: str = "web_form"
    title: str = ""
    rate_limit: int = 10
    honeypot: str = "website"
    responsible_id: int | None = None
    utm: Mapping[str, str] = attrs.field(factory=dict)


def load_forms(crm: "Crm") -> dict[str, Form]:
    """The forms of ``[settings.forms]`` (a ``ConfigError`` names a bad one)."""
    table = crm.settings.plugin_settings.get("forms", {})
    forms: dict[str, Form] = {}
    for key, decl in table.items():
        where = f"crmkit.toml: [settings.forms.{key}]"
        if not isinstance(decl, Mapping):
            raise ConfigError(f"{where} must be a table")
        unknown = sorted(set(decl) - _OPTIONS)
        if unknown:
            raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(_OPTIONS))}")
        rate = decl.get("rate_limit", 10)
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
            raise ConfigError(f"{where}: rate_limit must be a positive integer (per minute)")
        forms[str(key)] = Form(
            key=str(key), source=str(decl.get("source", "web_form")), title=str(decl.get("title", "")),
            rate_limit=rate, honeypot=str(decl.get("honeypot", "website")),
            responsible_id=decl.get("responsible_id"), utm={k: str(decl[k]) for k in UTM if k in decl},
        )
    return forms


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def capture(crm: "Crm", form: Form, data: Mapping[str, Any]) -> int | None:
    """Create the lead of one submission (None for a honeypot hit)."""
    if _text(data.get(form.honeypot)).strip():
        return None
    fields = {k: _text(data.get(k)).strip() for k in LEAD_FIELDS}
    if not any(fields[k] for k in ("name", "phone", "email")):
        raise ValidationError("name: a form needs at least a name, a phone or an e-mail", field="name")
    declared = crm.custom_fields.fields("lead")
    utm = {k[4:]: v for k, v in form.utm.items()}
    for k in UTM:
        value = _text(data.get(k)).strip()
        if value:
            utm[k[4:]] = value
    custom: dict[str, Any] = {}
    for k, v in data.items():
        if k in declared and k not in LEAD_FIELDS and k not in UTM and v not in (None, ""):
            custom[k] = v
    who = fields["name"] or fields["email"] or fields["phone"]
    title = _text(data.get("title")).strip() or form.title or f"{form.key}: {who}"
    message = _text(data.get("message")).strip()
    lead = crm.system.leads.create(
        title=title[:300], name=fields["name"], company_name=fields["company_name"], phone=fields["phone"] or None,
        email=fields["email"] or None, source=form.source, responsible_id=form.responsible_id, utm=utm,
        custom=custom,
    )
    if message:
        crm.system.notes.add("lead", lead.id, message)
    return lead.id


def operations(crm: "Crm", clock: "Clock") -> list[Operation]:
    forms = load_forms(crm)
    limiter = RateLimiter(clock)

    def submit(ctx: Ctx) -> Any:
        form = forms.get(ctx.path["key"])
        if form is None:
            raise NotFoundError(f"no form {ctx.path['key'][:100]!r}")
        client = ctx.request.client.host if ctx.request.client else "?"
        wait = limiter.hit((form.key, client), form.rate_limit)
        if wait:
            return Result({"error": {"code": TooManyRequests.code,
                                     "message": f"too many submissions; retry in {int(wait) + 1} s"}},
                          status=429, headers={"Retry-After": str(int(wait) + 1)})
        for k, v in ctx.body.items():
            check_string(k, k)
        lead_id = capture(ctx.crm, form, ctx.body)
        return Result({"received": True} if lead_id is None else {"received": True, "lead_id": lead_id}, status=201)

    return [Operation("POST", "/forms/{key}", submit, "Capture a lead from a website form (no token)", "forms",
                      "submit_form", status=201, body=BODY, form_encoded=True, response=RESPONSE, public=True,
                      errors=(404, 429),
                      description="JSON or form-encoded. Fields: name, phone, email, company_name, title, "
                                  "message, utm_*; a filled honeypot field creates nothing. Rate-limited per "
                                  "client (429 with Retry-After).")]

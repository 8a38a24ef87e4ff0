"""Reading the call log and placing calls (click-to-call), under the acting user's permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from crmkit import Page, PermissionDeniedError, ValidationError, normalize_phone

from . import config
from .events import CallEvent, CallRecord
from .ingest import ingest
from .providers import NotSupportedError, e164, providers_of
from .routing import user_of
from .schema import calls

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Services

CALL, STATS = "telephony.call", "telephony.stats"
MAX_PAGE = 500
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_PHONE_TEXT = 64  # a phone number as typed, with spaces and punctuation


def phone_text(value: Any, region: str, field: str) -> str:
    """``value`` in E.164 (long text is refused before the parser and its cache see it)."""
    if isinstance(value, str) and len(value) > MAX_PHONE_TEXT:
        raise ValidationError(f"{field}: a phone number (at most {MAX_PHONE_TEXT} characters)", field=field)
    return e164(normalize_phone(value, region, field=field), field=field)


def whole_number(value: Any, field: str, *, digits: int = 10) -> int:
    """``value`` (an int, or text of at most ``digits`` ASCII digits) as an int; else a ValidationError
    naming ``field``. ``"²".isdigit()`` is True and ``int("٥")`` is 5: only ASCII digits count."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= digits:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValidationError(f"{field}: expected a whole number", field=field)


def an_id(value: Any, field: str) -> int:
    """A positive 32-bit id (an id that could never exist is a clear error, not a database overflow)."""
    ident = whole_number(value, field)
    if not 1 <= ident <= MAX_ID:
        raise ValidationError(f"{field}: an id from 1 to {MAX_ID}", field=field)
    return ident


def list_calls(services: "Services", *, limit: int | str = 50, cursor: str | None = None, phone: str | None = None,
               user_id: int | str | None = None) -> Page[CallRecord]:
    """Calls, newest first. Users without ``telephony.stats`` see the calls they took or own.
    ``limit`` and ``user_id`` may be query-string text (ASCII digits)."""
    limit = whole_number(limit, "limit")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit: an integer from 1 to {MAX_PAGE}", field="limit")
    c = calls.c
    query = select(calls)
    if not services.access.allows(STATS):
        query = query.where(or_(c.user_id == services.actor_id, c.responsible_id == services.actor_id))
    if phone:
        query = query.where(c.phone == phone_text(phone, config.load(services.crm).region, "phone"))
    if user_id is not None:
        query = query.where(c.user_id == an_id(user_id, "user_id"))
    if cursor:
        if not isinstance(cursor, str) or not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 10:
            raise ValidationError("cursor: not a cursor from a previous page", field="cursor")
        query = query.where(c.id < int(cursor))
    with services.crm.engine.connect() as conn:
        rows = conn.execute(query.order_by(c.id.desc()).limit(limit + 1)).all()
    items = [CallRecord.from_row(r) for r in rows[:limit]]
    return Page(items, str(items[-1].id) if len(rows) > limit else None)


def click_to_call(services: "Services", *, to: str | None = None, contact_id: Any = None,
                  extension: str | None = None) -> CallRecord | None:
    """Ask the deployment's provider to ring the user's extension and connect it to ``to``
    (or the contact's first phone). Returns the logged call when the provider gives its id.

    ``extension`` must be one of ``settings.telephony.extensions``: a user's own (the default when they
    have exactly one); an admin (unrestricted access) may use any configured extension."""
    services.access.require(CALL, "place calls")
    crm = services.crm
    cfg = config.load(crm)
    extension = choose_extension(services, cfg, extension)
    if to:
        number = phone_text(to, cfg.region, "to")
    elif contact_id is not None:
        phones = services.contacts.get(an_id(contact_id, "contact_id")).phones
        if not phones:
            raise ValidationError("contact_id: the contact has no phone number", field="contact_id")
        number = e164(phones[0], field="contact_id")
    else:
        raise ValidationError("to: give a number or a contact_id", field="to")
    provider = providers_of(crm).get(cfg.provider or "")
    if provider is None:
        raise NotSupportedError(f"click-to-call: settings.telephony.provider {cfg.provider!r} is not a provider "
                                f"(registered: {', '.join(sorted(providers_of(crm)))})")
    originated = provider.originate(crm, cfg, extension, number)
    if not originated.call_id:
        return None
    event = CallEvent(provider=provider.name, call_id=originated.call_id, status="ringing",
                      occurred_at=crm.clock.now(), direction="outbound", from_number=extension, to_number=number,
                      extension=extension)
    return ingest(crm, event).call


def own_extensions(services: "Services", cfg: config.TelephonySettings) -> list[str]:
    """The extensions ``settings.telephony.extensions`` gives the acting user, in the table's order."""
    if services.actor_id is None:
        return []
    with services.crm.engine.connect() as conn:
        return [ext for ext, ref in cfg.extensions.items() if user_of(conn, ref) == services.actor_id]


def choose_extension(services: "Services", cfg: config.TelephonySettings, requested: Any) -> str:
    """The extension a click-to-call rings: ``requested`` if the user may use it, else their only one."""
    if requested is not None:
        if not isinstance(requested, str):
            raise ValidationError("extension: expected text", field="extension")
        if requested not in cfg.extensions:
            raise ValidationError(f"extension: {requested[:40]!r} is not an extension in settings.telephony.extensions",
                                  field="extension")
    mine = own_extensions(services, cfg)
    if requested is None:
        if len(mine) == 1:
            return mine[0]
        if mine:
            raise ValidationError(f"extension: you have several extensions ({', '.join(mine)}); choose one",
                                  field="extension")
        raise ValidationError("extension: you have no extension in settings.telephony.extensions; "
                              + ("give one of them" if services.access.unrestricted else "ask an administrator"),
                              field="extension")
    if requested in mine or services.access.unrestricted:
        return str(requested)
    raise PermissionDeniedError(f"extension: {requested} is not yours"
                                + (f"; yours: {', '.join(mine)}" if mine else ""), field="extension")


def require_stats(services: "Services") -> None:
    if not services.access.allows(STATS):
        raise PermissionDeniedError("call statistics need the telephony.stats permission")

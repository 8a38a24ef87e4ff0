"""Reading the call log and placing calls (click-to-call), under the acting user's permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from crmkit import Page, PermissionDeniedError, ValidationError
from crmkit.core.contacts_info import normalize_phone

from . import config
from .events import CallEvent, CallRecord
from .ingest import ingest
from .providers import NotSupportedError, providers_of
from .routing import user_of
from .schema import calls

if TYPE_CHECKING:  # pragma: no cover
    from crmkit.core.services import Services

CALL, STATS = "telephony.call", "telephony.stats"
MAX_PAGE = 500


def list_calls(services: "Services", *, limit: int = 50, cursor: str | None = None, phone: str | None = None,
               user_id: int | None = None) -> Page[CallRecord]:
    """Calls, newest first. Users without ``telephony.stats`` see the calls they took or own."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit: an integer from 1 to {MAX_PAGE}", field="limit")
    c = calls.c
    query = select(calls)
    if not services.access.allows(STATS):
        query = query.where(or_(c.user_id == services.actor_id, c.responsible_id == services.actor_id))
    if phone:
        query = query.where(c.phone == normalize_phone(phone, config.load(services.crm).region, field="phone"))
    if user_id is not None:
        query = query.where(c.user_id == user_id)
    if cursor:
        if not cursor.isdigit() or len(cursor) > 10:
            raise ValidationError("cursor: not a cursor from a previous page", field="cursor")
        query = query.where(c.id < int(cursor))
    with services.crm.engine.connect() as conn:
        rows = conn.execute(query.order_by(c.id.desc()).limit(limit + 1)).all()
    items = [CallRecord.from_row(r) for r in rows[:limit]]
    return Page(items, str(items[-1].id) if len(rows) > limit else None)


def click_to_call(services: "Services", *, to: str | None = None, contact_id: Any = None,
                  extension: str | None = None) -> CallRecord | None:
    """Ask the deployment's provider to ring the user's extension and connect it to ``to``
    (or the contact's first phone). Returns the logged call when the provider gives its id."""
    services.access.require(CALL, "place calls")
    crm = services.crm
    cfg = config.load(crm)
    if extension is None:
        with crm.engine.connect() as conn:
            extension = next((ext for ext, ref in cfg.extensions.items()
                              if services.actor_id is not None and user_of(conn, ref) == services.actor_id), None)
        if extension is None:
            raise ValidationError("extension: you have no extension in settings.telephony.extensions; give one",
                                  field="extension")
    if to:
        number = normalize_phone(to, cfg.region, field="to")
    elif contact_id is not None:
        phones = services.contacts.get(contact_id).phones
        if not phones:
            raise ValidationError("contact_id: the contact has no phone number", field="contact_id")
        number = phones[0]
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


def require_stats(services: "Services") -> None:
    if not services.access.allows(STATS):
        raise PermissionDeniedError("call statistics need the telephony.stats permission")

"""Event-triggered campaigns (``schedule = "event"``): a message to the contact of each new event of
the campaign's ``trigger`` type (``contact.created``, ``lead.converted``, ...; ``deal.won`` and ``deal.lost``
are a ``deal.stage_changed`` into a won or lost stage).

The worker's job ``core.campaign_triggers`` reads the event log past its cursor (``crm_message_state``),
as the outbound webhooks do. An event's contact is the event's card when it is a contact, else its
``contact_id`` (in the event's data, or the deal's or lead's ``contact_id``). A match needs the campaign
``active``, the event at or after the campaign's ``start_at``, and the contact in the campaign's
segment. The messages are the campaign's (``marketing``: opt-outs, caps, unsubscribe links), keyed
``campaign:<id>:<contact>``: a contact gets a campaign's message once, however many events come. The
messages, the campaigns' counts and the cursor move in one transaction (compare-and-set on the
cursor), so an event is never taken twice nor skipped, even with two workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import func, insert, select, update

from crmkit import MAX_PAGE, Event, ValidationError, check_text, events, schema

from ..core.log_horizon import horizon
from . import channels as _channels
from .consent import unsubscribe_links
from .tables import campaigns, consent, messages, state

if TYPE_CHECKING:  # pragma: no cover
    from .campaigns import Campaign, CampaignService

CURSOR = "campaign_trigger_cursor"
BATCH = 500
_LOOPS = ("campaign.", "message.")
_CARDS = {"deal": schema.deals, "lead": schema.leads}
DERIVED = {"deal.won": (events.DEAL_STAGE_CHANGED, "won"), "deal.lost": (events.DEAL_STAGE_CHANGED, "lost")}
"""Triggers that name an outcome rather than a logged type: a stage change into a won or lost stage."""


def base_type(trigger: str | None) -> str:
    """The logged event type a trigger reads."""
    return DERIVED[trigger][0] if trigger in DERIVED else str(trigger)


def matches(trigger: str | None, event: Event) -> bool:
    """Whether ``event`` is one of ``trigger``'s."""
    if trigger in DERIVED:
        kind, outcome = DERIVED[trigger]
        return event.type == kind and event.data.get("to_kind") == outcome
    return event.type == trigger


def check_trigger(schedule: str, trigger: str | None) -> str | None:
    """The campaign's trigger: required for ``event`` campaigns, refused for the others."""
    if schedule != "event":
        if trigger is not None:
            raise ValidationError("trigger: only with schedule \"event\"", field="trigger")
        return None
    trigger = check_text(trigger, "trigger", required=True, max_length=100)
    if "." not in trigger or trigger.startswith(_LOOPS) or any(ch.isspace() for ch in trigger):
        raise ValidationError("trigger: an event type such as deal.won or contact.created (not campaign.* or "
                              "message.*, which messages themselves emit)", field="trigger")
    return trigger


def run_triggers(service: "CampaignService") -> int:
    """Queue the messages of new matching events; returns how many were queued."""
    crm = service.crm
    e, c = schema.events.c, campaigns.c
    total = 0
    while True:
        safe = safe_end(crm)
        if safe is None:
            return total
        with crm.engine.connect() as conn:
            cursor = int(conn.scalar(select(state.c.value).where(state.c.name == CURSOR)) or 0)
            live = [service.get(r.id) for r in conn.execute(select(c.id).where(
                c.schedule == "event", c.status == "active").order_by(c.id))]
            rows: list[Any] = []
            if live:
                rows = conn.execute(select(schema.events).where(
                    e.id > cursor, e.id <= safe, e.type.in_({base_type(x.trigger) for x in live}))
                    .order_by(e.id).limit(BATCH)).all()
        last = rows[-1].id if len(rows) == BATCH else safe
        if last <= cursor:
            return total
        found = [Event.from_row(r) for r in rows]
        queued = _messages(service, live, found, _contacts_of(crm, found))
        if not _commit(crm, cursor, last, queued):
            return total  # another worker took this batch
        total += sum(len(v) for v in queued.values())
        if len(rows) < BATCH:
            return total


def safe_end(crm: Any) -> int | None:
    """The newest event id the job may read: on PostgreSQL the log's horizon (no id below it is still
    to commit; None: nothing known yet), on SQLite (ids in commit order) the newest id."""
    if crm.engine.dialect.name == "postgresql":
        return horizon(crm.engine)
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.max(schema.events.c.id), 0))) or 0)


def _contacts_of(crm: Any, found: list[Event]) -> dict[int, int]:
    """Each event's contact id (event id -> contact id), where it has one."""
    out: dict[int, int] = {}
    lookups: dict[str, dict[int, list[int]]] = {}
    for ev in found:
        data_contact = ev.data.get("contact_id") if isinstance(ev.data, Mapping) else None
        if ev.entity_id is None:
            continue
        if ev.entity_type == "contact":
            out[ev.id or 0] = int(ev.entity_id)
        elif isinstance(data_contact, int) and not isinstance(data_contact, bool):
            out[ev.id or 0] = data_contact
        elif ev.entity_type in _CARDS:
            lookups.setdefault(ev.entity_type, {}).setdefault(int(ev.entity_id), []).append(ev.id or 0)
    with crm.engine.connect() as conn:
        for kind, wanted in lookups.items():
            table = _CARDS[kind]
            for card_id, contact_id in conn.execute(select(table.c.id, table.c.contact_id).where(
                    table.c.id.in_(list(wanted)), table.c.contact_id.is_not(None))):
                for event_id in wanted[card_id]:
                    out[event_id] = int(contact_id)
    return out


def _messages(service: "CampaignService", live: list["Campaign"], found: list[Event],
              contact_of: dict[int, int]) -> dict[int, list[dict[str, Any]]]:
    """The message rows to insert, per campaign (one per contact, none already queued)."""
    crm = service.crm
    from .templates import TemplateService

    template = TemplateService(crm, service.actor_id)
    contacts = crm.as_user(service.actor_id).contacts
    now = crm.clock.now()
    out: dict[int, list[dict[str, Any]]] = {}
    for campaign in live:
        ids = sorted({contact_of[ev.id or 0] for ev in found if matches(campaign.trigger, ev)
                      and (ev.id or 0) in contact_of and ev.occurred_at >= campaign.start_at})
        if not ids:
            continue
        prefix = f"campaign:{campaign.id}:"
        channel = _channels.resolve(crm, campaign.channel)
        with crm.engine.connect() as conn:
            done = set(conn.scalars(select(messages.c.contact_id).where(
                messages.c.campaign_id == campaign.id, messages.c.contact_id.in_(ids))))
            opted = set(conn.scalars(select(consent.c.contact_id).where(
                consent.c.kind == channel.kind, consent.c.status == "out", consent.c.contact_id.in_(ids))))
        wanted = [i for i in ids if i not in done]
        given = campaign.segment.get("id__in")
        if isinstance(given, (list, tuple)):
            wanted = [i for i in wanted if i in set(given)]
        if not wanted:
            continue
        links = unsubscribe_links(crm, channel.kind) if channel.kind == "email" else None
        rows: list[dict[str, Any] | None] = []
        for start in range(0, len(wanted), MAX_PAGE):
            chunk = wanted[start:start + MAX_PAGE]
            page = contacts.list({**campaign.segment, "id__in": chunk}, limit=len(chunk))
            rows += [service._row(campaign, channel, contact, prefix, contact.id in opted, template, links, now)
                     for contact in page.items]
        out[campaign.id] = [r for r in rows if r is not None]
    return out


def _commit(crm: Any, cursor: int, last: int, queued: dict[int, list[dict[str, Any]]]) -> bool:
    """Insert the messages and move the cursor from ``cursor`` to ``last``; False when it moved meanwhile."""
    s = state.c
    with crm.transaction(None) as tx:
        if cursor:
            moved = tx.conn.execute(update(state).where(s.name == CURSOR, s.value == str(cursor))
                                    .values(value=str(last))).rowcount
        else:
            moved = tx.conn.execute(update(state).where(s.name == CURSOR, s.value == "0").values(value=str(last))).rowcount
            if not moved and tx.conn.scalar(select(s.value).where(s.name == CURSOR)) is None:
                tx.conn.execute(insert(state).values(name=CURSOR, value=str(last)))
                moved = 1
        if not moved:
            return False
        for campaign_id, rows in queued.items():
            if not rows:
                continue
            tx.conn.execute(insert(messages), rows)
            tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
                queued=campaigns.c.queued + len(rows), updated_at=tx.now))
            tx.emit(events.CAMPAIGN_QUEUED, "campaign", campaign_id, data={"messages": len(rows), "trigger": True})
    return True

"""Campaigns: a segment of contacts x a template x a schedule, and their results.

* ``segment``: the contacts' list filters (``crm.contacts.list(filters)``: fields, ``__op`` operators,
  custom fields), checked when the campaign is made;
* ``schedule``: ``once`` (queued when ``start_at`` comes) or ``birthday`` (every day, the segment's
  contacts whose birthday it is in the deployment's time zone: the ready birthday greeting);
* queueing is one bulk insert per 1,000 contacts (the bench ``campaign`` measures it); each
  message is ``marketing`` (opt-outs, caps, unsubscribe links) and keyed ``campaign:<id>:<contact>``
  (``...:<year>:<contact>`` for birthdays), so a campaign never reaches anyone twice.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

import attrs
from sqlalchemy import and_, distinct, func, insert, literal_column, select, update

from crmkit import (
    MAX_PAGE, NotFoundError, ValidationError, check_id, check_text, ensure_utc, events, schema,
)

from . import channels as _channels
from .consent import unsubscribe_links, zone_of
from .tables import campaigns, consent, inbound, messages

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

SCHEDULES = ("once", "birthday", "event")
BATCH = 1000


@attrs.frozen
class Campaign:
    id: int
    name: str
    template: str
    channel: str
    segment: Mapping[str, Any]
    schedule: str
    start_at: datetime
    status: str
    queued: int
    trigger: str | None = None
    """For ``schedule = "event"``: the event type that queues a message to the event's contact."""


@attrs.frozen
class CampaignResults:
    """What a campaign did: messages by status, and what the people did after."""

    campaign_id: int
    queued: int
    sent: int
    delivered: int
    failed: int
    bounced: int
    suppressed: int
    opted_out: int
    replied: int
    converted: int
    """Contacts with a deal created within ``days`` after their message was sent."""
    days: int


def _campaign(row: Any) -> Campaign:
    return Campaign(row.id, row.name, row.template_key, row.channel, dict(row.segment), row.schedule, row.start_at,
                    row.status, row.queued, row.trigger)


class CampaignService:
    def __init__(self, crm: "Crm", actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id

    def create(self, name: str, *, template: str, segment: Mapping[str, Any] | None = None, channel: str = "email",
               schedule: str = "once", start_at: datetime | None = None, trigger: str | None = None) -> Campaign:
        name = check_text(name, "name", required=True, max_length=200)
        if schedule not in SCHEDULES:
            raise ValidationError(f"schedule: one of {', '.join(SCHEDULES)}", field="schedule")
        from .triggers import check_trigger

        trigger = check_trigger(schedule, trigger)
        segment = dict(segment or {})
        self.crm.as_user(self.actor_id).contacts.count(segment)  # a bad filter is refused here, naming it
        _channels.resolve(self.crm, channel)
        self.crm.messages.templates.get(template)
        with self.crm.transaction(self.actor_id) as tx:
            start = ensure_utc(start_at, field="start_at") if start_at is not None else tx.now
            ident = tx.conn.execute(insert(campaigns).values(
                name=name, template_key=template, channel=channel, segment=segment, schedule=schedule,
                start_at=start, status="scheduled" if schedule == "once" else "active", queued=0, trigger=trigger,
                created_at=tx.now, updated_at=tx.now)).inserted_primary_key[0]
            tx.emit(events.CAMPAIGN_CREATED, "campaign", ident, data={"name": name, "schedule": schedule})
        return self.get(ident)

    def get(self, campaign_id: int) -> Campaign:
        with self.crm.engine.connect() as conn:
            row = conn.execute(select(campaigns).where(campaigns.c.id == check_id(campaign_id, "id"))).first()
        if row is None:
            raise NotFoundError(f"campaign {campaign_id} does not exist")
        return _campaign(row)

    def list(self) -> list[Campaign]:
        with self.crm.engine.connect() as conn:
            return [_campaign(r) for r in conn.execute(select(campaigns).order_by(campaigns.c.id))]

    def pause(self, campaign_id: int) -> Campaign:
        self.get(campaign_id)
        with self.crm.transaction(self.actor_id) as tx:
            tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(status="paused",
                                                                                           updated_at=tx.now))
        return self.get(campaign_id)

    # -- queueing ----------------------------------------------------------------------------

    def run_due(self, now: datetime) -> int:
        """The job ``core.campaigns``: queue one-off campaigns whose time came, and today's birthdays."""
        c = campaigns.c
        with self.crm.engine.connect() as conn:
            rows = conn.execute(select(campaigns).where(
                ((c.schedule == "once") & (c.status == "scheduled") & (c.start_at <= now))
                | ((c.schedule == "birthday") & (c.status == "active") & (c.start_at <= now)))).all()
        today = now.astimezone(zone_of(self.crm, None)).date()
        total = 0
        for row in rows:
            if row.schedule == "birthday" and row.last_run_on == today.isoformat():
                continue
            total += self.queue(row.id, today=today)
        return total

    def queue(self, campaign_id: int, *, today: date | None = None) -> int:
        """Queue the campaign's messages now (for a birthday campaign: today's birthdays); returns how many."""
        campaign = self.get(campaign_id)
        if campaign.schedule == "event":
            raise ValidationError(f"campaign {campaign.id} is queued by its trigger event {campaign.trigger}, "
                                  "not by hand", field="id")
        today = today or self.crm.clock.now().astimezone(zone_of(self.crm, None)).date()
        birthday = campaign.schedule == "birthday"
        prefix = f"campaign:{campaign.id}:{today.year}:" if birthday else f"campaign:{campaign.id}:"
        channel = _channels.resolve(self.crm, campaign.channel)
        from .templates import TemplateService

        template = TemplateService(self.crm, self.actor_id)
        m = messages.c
        with self.crm.engine.connect() as conn:
            done = set(conn.scalars(select(m.contact_id).where(m.campaign_id == campaign.id,
                                                               m.idempotency_key.like(prefix + "%"))))
            opted = set(conn.scalars(select(consent.c.contact_id).where(consent.c.kind == channel.kind,
                                                                        consent.c.status == "out")))
        contacts = self.crm.as_user(self.actor_id).contacts
        links = unsubscribe_links(self.crm, channel.kind) if channel.kind == "email" else None
        now = self.crm.clock.now()
        cursor: str | None = None
        rows: list[dict[str, Any]] = []
        total = 0
        while True:
            page = contacts.list(campaign.segment, limit=MAX_PAGE, cursor=cursor)
            for contact in page.items:
                if contact.id in done or (birthday and not _birthday_on(contact.birthday, today)):
                    continue
                row = self._row(campaign, channel, contact, prefix, contact.id in opted, template, links, now)
                if row is not None:
                    rows.append(row)
            if len(rows) >= BATCH or page.next_cursor is None:
                total += self._insert(campaign, rows, today)
                rows = []
            cursor = page.next_cursor
            if cursor is None:
                return total

    def run_triggers(self) -> int:
        """The job ``core.campaign_triggers``: one message per new event matching an event campaign."""
        from .triggers import run_triggers

        return run_triggers(self)

    def _row(self, campaign: Campaign, channel: Any, contact: Any, prefix: str, opted_out: bool,
             template: Any, links: Any, now: datetime) -> dict[str, Any] | None:
        kind = channel.kind
        address = (contact.emails if kind == "email" else contact.phones if kind == "phone"
                   else [(contact.custom or {}).get("telegram_chat_id")])
        address = [a for a in address or () if a]
        if not address:
            return None
        values = {"contact": contact, "deployment": {"name": self.crm.settings.name}}
        rendered = template.fill(campaign.template, values, (contact.custom or {}).get("language"))
        body, html, headers = rendered.body, rendered.html, {}
        if links is not None:
            link = links(contact.id)
            headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
            body = f"{body}\n\n--\nUnsubscribe: {link}\n"
            if html:
                html = f'{html}\n<p style="font-size:small"><a href="{link}">Unsubscribe</a></p>'
        return {"idempotency_key": f"{prefix}{contact.id}", "channel": channel.name, "kind": kind,
                "purpose": "marketing", "contact_id": contact.id, "user_id": None, "to_address": str(address[0]),
                "subject": rendered.subject, "body": body, "html": html, "headers": headers,
                "group_key": f"campaign:{campaign.id}", "campaign_id": campaign.id,
                "status": "suppressed" if opted_out else "queued", "attempts": 0, "next_attempt_at": now,
                "last_error": "opted out" if opted_out else None, "created_at": now, "updated_at": now}

    def _insert(self, campaign: Campaign, rows: list[dict[str, Any]], today: date) -> int:
        with self.crm.transaction(self.actor_id) as tx:
            if rows:
                tx.conn.execute(insert(messages), rows)
            values: dict[str, Any] = {"queued": campaigns.c.queued + len(rows), "updated_at": tx.now}
            values["status"] = "done" if campaign.schedule == "once" else "active"
            values["last_run_on"] = today.isoformat()
            tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign.id).values(**values))
            if rows:
                tx.emit(events.CAMPAIGN_QUEUED, "campaign", campaign.id,
                        data={"messages": len(rows), "batch": uuid.uuid4().hex[:8]})
        return len(rows)

    # -- results -------------------------------------------------------------------------------

    def results(self, campaign_id: int, *, days: int = 30) -> CampaignResults:
        """Counts by status, opt-outs, replies and conversions (a deal within ``days``) -- SQL aggregates."""
        self.get(campaign_id)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise ValidationError("days: a whole number from 1 to 365", field="days")
        m, d, i, cs = messages.c, schema.deals.c, inbound.c, consent.c
        mine = m.campaign_id == campaign_id
        with self.crm.engine.connect() as conn:
            by_status = dict(conn.execute(select(m.status, func.count()).where(mine).group_by(m.status)).all())
            sent = and_(mine, m.sent_at.is_not(None))
            pg = conn.dialect.name == "postgresql"
            converted = int(conn.scalar(select(func.count(distinct(m.contact_id))).select_from(messages.join(
                schema.deals, d.contact_id == m.contact_id)).where(sent, _within(pg, d.created_at, m.sent_at, days))) or 0)
            replied = int(conn.scalar(select(func.count(distinct(m.contact_id))).select_from(messages.join(
                inbound, i.contact_id == m.contact_id)).where(sent, _within(pg, i.received_at, m.sent_at, days))) or 0)
            opted = int(conn.scalar(select(func.count(distinct(m.contact_id))).select_from(messages.join(
                consent, and_(cs.contact_id == m.contact_id, cs.kind == m.kind))).where(
                sent, cs.status == "out", cs.updated_at >= m.sent_at)) or 0)
        n = {s: int(by_status.get(s, 0)) for s in ("queued", "sending", "sent", "delivered", "failed", "bounced",
                                                    "suppressed", "cancelled")}
        return CampaignResults(campaign_id=campaign_id, queued=sum(n.values()), sent=n["sent"] + n["delivered"],
                               delivered=n["delivered"], failed=n["failed"], bounced=n["bounced"],
                               suppressed=n["suppressed"], opted_out=opted, replied=replied, converted=converted,
                               days=days)


def _within(pg: bool, later: Any, earlier: Any, days: int) -> Any:
    """``earlier <= later <= earlier + days`` in SQL (``days`` is a checked int)."""
    if pg:
        return and_(later >= earlier, later <= earlier + literal_column(f"interval '{int(days)} days'"))
    return and_(later >= earlier, func.julianday(later) - func.julianday(earlier) <= int(days))


def _birthday_on(birthday: date | None, today: date) -> bool:
    if birthday is None:
        return False
    if (birthday.month, birthday.day) == (2, 29) and not _leap(today.year):
        return (today.month, today.day) == (2, 28)
    return (birthday.month, birthday.day) == (today.month, today.day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)

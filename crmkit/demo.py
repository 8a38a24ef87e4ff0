"""Demo data: the window company of MISSION.md, seeded through the public services only.

``seed(crm)`` fills an empty deployment (made from the crmkit.toml template) with
about six weeks of work ending now: staff, ~50 leads from every channel (some
rejected with a reason), contacts and companies, deals spread over every Sales
stage (some won, some lost, some parked in Deferred demand), tasks due and
overdue for the right people, and notes. The same ``seed`` and ``now`` give the
same data; the time runs on the Crm's :class:`~crmkit.FrozenClock`, so every
card's timeline reads like real history.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Mapping

import attrs

from .core.clock import FrozenClock
from .core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .core.app import Crm
    from .core.records import Pipeline, Stage
    from .core.services import Services

COMPANY_NAME = "Bright Windows"
DOMAIN = "brightwindows.example"
DAYS = 42
STAFF = (  # e-mail name, full name, role, team
    ("olivia.grant", "Olivia Grant", "admin", None),
    ("marcus.reed", "Marcus Reed", "head", "sales"),
    ("anna.lee", "Anna Lee", "manager", "sales"),
    ("david.kim", "David Kim", "manager", "sales"),
    ("sofia.rossi", "Sofia Rossi", "manager", "sales"),
    ("victor.hale", "Victor Hale", "head", "measurers"),
    ("tom.baker", "Tom Baker", "manager", "measurers"),
    ("liam.novak", "Liam Novak", "manager", "measurers"),
)
FIRST = ("James Mary Robert Linda Michael Susan William Karen Richard Nancy Joseph Lisa Thomas Betty Daniel "
         "Sandra Matthew Ashley Mark Emily Paul Donna Steven Michelle Andrew Carol Kevin Amanda Brian Melissa").split()
LAST = ("Smith Johnson Brown Garcia Miller Davis Wilson Moore Taylor Anderson Thomas Jackson White Harris Martin "
        "Thompson Young Allen Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips").split()
STREETS = ("Pine St", "Maple Ave", "Cedar Ln", "Lakeview Dr", "Oak St", "Madison St", "Queen Anne Ave", "Fremont Ave")
COMPANIES = (
    ("Harbor View Hotel LLC", "1200 Alaskan Way, Seattle, WA 98101", "harborviewhotel.example"),
    ("Greenleaf Learning Center Inc.", "455 Elm St, Bellevue, WA 98004", "greenleaf.example"),
    ("Northgate Offices LLC", "10 Northgate Plaza, Seattle, WA 98125", "northgateoffices.example"),
    ("Maple Dental Clinic PLLC", "78 Maple Ave, Tacoma, WA 98402", "mapledental.example"),
    ("Riverside Apartments HOA", "300 River Rd, Renton, WA 98057", "riversidehoa.example"),
)
CHANNELS = ("web_form", "call", "email", "messenger")
LEAD_TITLES = {
    "web_form": "Web form: quote for {n} windows",
    "call": "Call: replace {n} old windows",
    "email": "E-mail: {n} PVC windows with installation",
    "messenger": "Messenger: price for {n} tilt-and-turn windows",
}
REJECTIONS = (
    ("not_a_target_customer", "Wants only a repair of an old wooden frame"),
    ("not_a_target_customer", "Outside our service area (Spokane)"),
    ("no_response", "Three calls, two e-mails, no answer"),
    ("too_expensive", "Budget is half of our cheapest offer"),
    ("chose_a_competitor", "Already signed with another installer"),
    ("not_a_target_customer", "Looking for a job, not for windows"),
    ("no_response", "Wrong phone number, e-mail bounced"),
    ("not_a_target_customer", "Sells windows himself, asked for our prices"),
    ("too_expensive", "Wanted aluminium for the price of PVC"),
)
LOSSES = (
    ("too_expensive", "Found a cheaper offer"),
    ("chose_a_competitor", "The competitor could install next week"),
    ("no_response", "Stopped answering after the proposal"),
    ("too_expensive", "The bank did not approve the loan"),
    ("chose_a_competitor", ""),
)


@attrs.frozen
class DemoSummary:
    """What ``seed`` made, counted back through the services."""

    users: int
    leads: Mapping[str, int]
    contacts: int
    companies: int
    stages: tuple[tuple[str, str, int], ...]  # (pipeline, stage, deals)
    open_tasks: int
    overdue_tasks: int
    notes: int
    staff: tuple[tuple[str, str, str], ...]  # (e-mail, name, role/team)


class _Plan:
    """Steps of many stories, run in time order with the clock set to each step's time.

    Times are moved into working hours (08:00-18:00 UTC) when that stays in the
    past; the steps of one story never run out of the order they were planned in.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.steps: list[tuple[datetime, int, Callable[[], None]]] = []
        self._last: dict[int, datetime] = {}

    def at(self, when: datetime, step: Callable[[], None], story: int = 0) -> None:
        day = datetime.combine(when.date(), time(0), tzinfo=timezone.utc)
        working = day + timedelta(hours=8) + (when - day) * 10 / 24
        when = (working if working < self.now else when).replace(microsecond=0)
        previous = self._last.get(story)
        if story and previous is not None and when <= previous:
            when = previous + timedelta(minutes=1)
        self._last[story] = when
        self.steps.append((when, len(self.steps), step))

    def run(self, clock: FrozenClock) -> None:
        for when, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            clock.set(when)
            step()


@attrs.define
class _Card:
    """One customer's story: who works on it and the cards made so far."""

    manager: str
    measurer: str
    windows: int
    amount: str
    address: str
    lead: int = 0
    deal: int = 0


class _Demo:
    def __init__(self, crm: "Crm", rng: random.Random, now: datetime) -> None:
        self.crm = crm
        self.rng = rng
        self.now = now
        self.plan = _Plan(now)
        self.stories = 0
        self.staff: dict[str, int] = {}
        self._services: dict[int | None, "Services"] = {}
        self.notes = 0
        self.sales = _pipeline(crm, crm.settings.sales_pipeline)
        self.open_stages = [s for s in self.sales.stages if s.kind == "open"]
        self.deferred = next((p for p in crm.pipelines if p.key == "deferred"), None)
        self.names = rng.sample([(f, ln) for f in FIRST for ln in LAST], 60)
        self.phones = [f"({area}) 555-{line:04d}" for area in (206, 425, 253, 360) for line in range(100, 200)]
        rng.shuffle(self.phones)

    # -- helpers -----------------------------------------------------------------

    def svc(self, who: str | None) -> "Services":
        return self.as_id(self.staff[who] if who else None)

    def as_id(self, user_id: int | None) -> "Services":
        """The services acting as ``user_id`` (one per user: starting them costs a look-up)."""
        found = self._services.get(user_id)
        if found is None:
            found = self._services[user_id] = self.crm.as_user(user_id)
        return found

    def person(self) -> tuple[str, str, str, str]:
        first, last = self.names.pop()
        domain = self.rng.choice(("example.com", "example.net", "example.org"))
        return first, last, self.phones.pop(), f"{first}.{last}@{domain}".lower()

    def custom(self, entity: str, **values: Any) -> dict[str, Any]:
        """Only the custom fields this deployment declares."""
        return {k: v for k, v in values.items() if self.crm.custom_fields.get(entity, k) is not None}

    def reason(self, key: str, text: str) -> dict[str, str | None]:
        if self.crm.lost_reason(key) is not None:
            return {"reason": key, "reason_text": text or None}
        return {"reason": None, "reason_text": text or key.replace("_", " ").capitalize()}

    def add_note(self, who: str | None, entity: str, ident: int, body: str) -> None:
        self.svc(who).notes.add(entity, ident, body)
        self.notes += 1

    def address(self) -> str:
        return f"{self.rng.randint(100, 9999)} {self.rng.choice(STREETS)}, Seattle, WA 981{self.rng.randint(1, 99):02d}"

    # -- the stories -------------------------------------------------------------

    def hire(self) -> None:
        system = self.crm.system
        for login, name, role, team in STAFF:
            self.staff[login] = system.users.create(email=f"{login}@{DOMAIN}", name=name, role=role, team=team).id

    def outcomes(self) -> list[tuple[str, int, str]]:
        """How each deal ends: (kind, open-stage index reached, deferred ending)."""
        last = len(self.open_stages) - 1
        out = [("open", i, "") for i in range(len(self.open_stages)) for _ in range(3 if i < last else 2)]
        out += [("won", last, "")] * 7
        out += [("lost", i, "") for i in (0, 1, 2, 4, last)]
        if self.deferred is not None:
            out += [("deferred", 0, "waiting"), ("deferred", 1, "waiting"), ("deferred", 1, "waiting"),
                    ("deferred", 0, "back"), ("deferred", 1, "lost")]
        self.rng.shuffle(out)
        return out

    def deal_story(self, outcome: tuple[str, int, str], company: tuple[str, str, str] | None) -> None:
        rng = self.rng
        kind, reached, deferred_end = outcome
        closing = kind in ("won", "lost", "deferred")
        steps = reached + (1 if closing else 0) + (1 if deferred_end in ("back", "lost") else 0)
        gaps = [timedelta(hours=rng.uniform(14, 80)) for _ in range(steps)]
        stalled = rng.random() < 0.3
        if kind in ("open", "deferred"):
            age = timedelta(hours=rng.uniform(72, 240) if stalled else rng.uniform(2, 40))
        else:
            age = timedelta(days=rng.uniform(1, 12))
        t0 = self.now - age - sum(gaps, timedelta())
        available = self.now - age - (self.now - timedelta(days=DAYS - 2))
        total = sum(gaps, timedelta())
        if total > available:  # squeeze a long story into the demo's six weeks
            gaps = [g * (available / total) for g in gaps]
            t0 = self.now - age - sum(gaps, timedelta())
        self.stories += 1
        story = self.stories
        manager = rng.choice(("anna.lee", "david.kim", "sofia.rossi"))
        measurer = ("tom.baker", "liam.novak")[story % 2]
        first, last, phone, email = self.person()
        windows = rng.randint(8, 40) if company else rng.randint(2, 12)
        price = Decimal(rng.randrange(28000, 65000, 500)) / 100
        amount = str((price * windows).quantize(Decimal("0.01")))
        address = company[1] if company else self.address()
        source = rng.choice(CHANNELS)
        card = _Card(manager=manager, measurer=measurer, windows=windows, amount=amount, address=address)
        lead_at = t0 - timedelta(hours=rng.uniform(3, 30))
        title = LEAD_TITLES[source].format(n=windows) if not company else f"Office windows replacement ({windows} windows)"

        def capture() -> None:
            card.lead = self.svc(manager if source == "call" else None).leads.create(
                title=title, name=f"{first} {last}", company_name=company[0] if company else "", phone=phone,
                email=email, source=source, responsible_id=self.staff[manager],
                customer_kind="legal_entity" if company else "person",
            ).id

        def call_back() -> None:
            self.finish_tasks("lead", card.lead)
            self.qualify_lead(manager, card.lead)
            self.add_note(manager, "lead", card.lead, f"Called back: {windows} windows at {address}.")

        def convert() -> None:
            services = self.svc(manager)
            mail = f"{first}.{last}@{company[2]}".lower() if company else email
            conversion = services.leads.convert(
                card.lead, customer_kind="legal_entity" if company else "person",
                contact={"first_name": first, "last_name": last, "phones": [phone], "emails": [mail],
                         "responsible_id": self.staff[manager],
                         "custom": self.custom("contact", preferred_channel=rng.choice(
                             ("phone", "email", "sms", "messenger")))},
                company={"name": company[0], "address": company[1], "responsible_id": self.staff[manager]}
                if company else None,
                deal={"title": f"{company[0]}: {windows} windows" if company else f"{windows} windows for the {last} family",
                      "amount": amount, "custom": self.custom("deal", window_count=windows)},
            )
            card.deal = conversion.deal.id
            if conversion.company is not None and rng.random() < 0.7:
                f2, l2, p2, _ = self.person()
                services.contacts.create(first_name=f2, last_name=l2, phones=[p2], emails=[f"accounting@{company[2]}"]
                                         if company else [], company_id=conversion.company.id)
            self.ensure_task(manager, card, "Collect data: rooms, window sizes, wishes", timedelta(days=1))

        self.plan.at(lead_at, capture, story)
        self.plan.at(lead_at + timedelta(minutes=rng.randint(10, 50)), call_back, story)
        self.plan.at(t0, convert, story)
        when = t0
        for i in range(1, reached + 1):
            when += gaps[i - 1]
            self.plan.at(when, self.advance(self.open_stages[i], card), story)
        if closing:
            when += gaps[reached]
            call_on = when + gaps[-1] if deferred_end in ("back", "lost") else when + timedelta(days=rng.randint(2, 16))
            self.plan.at(when, self.close(kind, card, call_on.date()), story)
            if deferred_end in ("back", "lost"):
                self.plan.at(call_on, self.close_deferred(deferred_end, card), story)

    def qualify_lead(self, who: str, lead: int) -> None:
        """Move a lead to the lead pipeline's second open stage (qualifying), if there is one."""
        spec = self.crm.pipeline_spec(self.crm.settings.lead_pipeline)
        stages = [s for s in spec.stages if s.kind == "open"] if spec is not None else []
        if len(stages) > 1:
            self.svc(who).leads.move(lead, stages[1].key)

    def open_tasks(self, entity: str, ident: int) -> list[Any]:
        return list(self.as_id(None).tasks.list(entity_type=entity, entity_id=ident, status="open", limit=100))

    def finish_tasks(self, entity: str, ident: int, *, cancel: bool = False) -> None:
        """Each open task of the card is done (or cancelled) by its assignee."""
        for task in self.open_tasks(entity, ident):
            tasks = self.as_id(task.assignee_id).tasks
            tasks.cancel(task.id) if cancel else tasks.complete(task.id)

    def ensure_task(self, who: str, card: "_Card", title: str, due_in: timedelta) -> None:
        """Where no stage rule made a task, the manager writes one down."""
        if not self.open_tasks("deal", card.deal):
            self.svc(who).tasks.add(title=title, assignee_id=self.staff[who], entity_type="deal",
                                    entity_id=card.deal, due_at=_business_hour(self.crm.clock.now() + due_in))

    def fill_required(self, stage: "Stage", card: "_Card") -> None:
        """Set what the stage requires (the measurement slot, the measurer) before moving there."""
        spec = self.crm.pipeline_spec(stage.pipeline)
        declared = next((s for s in spec.stages if s.key == stage.key), None) if spec is not None else None
        required = set(declared.requires) if declared is not None else set()
        custom: dict[str, Any] = {}
        if "measurement_date" in required or stage.key == "measurement_scheduled":
            custom["measurement_date"] = _business_hour(self.crm.clock.now() + timedelta(days=self.rng.randint(2, 5)))
        if "measurer_id" in required:
            custom["measurer_id"] = self.staff[card.measurer]
        custom = self.custom("deal", **custom)
        if custom:
            actor = "victor.hale" if "measurer_id" in custom else card.manager
            current = self.as_id(None).deals.get(card.deal).custom
            if any(current.get(k) is None for k in custom):
                self.svc(actor).deals.update(card.deal, {"custom": custom})

    def advance(self, stage: "Stage", card: "_Card") -> Callable[[], None]:
        def step() -> None:
            key = stage.key
            actor = {"measurer_assigned": "victor.hale", "measurement_done": card.measurer}.get(key, card.manager)
            self.finish_tasks("deal", card.deal)
            self.fill_required(stage, card)
            self.svc(actor).deals.move(card.deal, key)
            if key == "proposal_sent":
                self.add_note(card.manager, "deal", card.deal,
                              f"Sent the proposal by e-mail: {card.windows} windows, {card.amount} with installation.")
            elif key == "measurement_done":
                self.add_note(card.measurer, "deal", card.deal,
                              f"Measured {card.windows} openings at {card.address}; two need a new sill. Sketch attached.")
                self.ensure_task(card.manager, card, "Prepare the contract and the final price", timedelta(days=2))
            elif key == "contract_signed":
                self.add_note(card.manager, "deal", card.deal, "Contract signed, 50% prepayment received.")
                self.ensure_task(card.manager, card, "Order the windows and book the installation", timedelta(days=3))
            self.ensure_task(card.manager, card, f"Next step: {stage.name}", timedelta(days=2))
        return step

    def close(self, kind: str, card: "_Card", call_on: date) -> Callable[[], None]:
        def step() -> None:
            services = self.svc(card.manager)
            if kind == "won":
                self.finish_tasks("deal", card.deal)
                services.deals.win(card.deal)
                self.add_note(card.manager, "deal", card.deal, f"All {card.windows} windows installed; customer signed off.")
            elif kind == "lost":
                self.finish_tasks("deal", card.deal, cancel=True)
                key, text = self.rng.choice(LOSSES)
                services.deals.lose(card.deal, **self.reason(key, text))
            else:
                assert self.deferred is not None
                self.finish_tasks("deal", card.deal)
                waiting = next(s for s in self.deferred.stages if s.kind == "open")
                services.deals.move(card.deal, waiting.key, pipeline=self.deferred.key)
                self.add_note(card.manager, "deal", card.deal, "Not ready yet: renovation planned later this year.")
                # the deployment's next-contact rule gives the manager a task on that date
                services.deals.update(card.deal, {"custom": self.custom("deal", next_contact_date=call_on)})
                self.ensure_task(card.manager, card, "Contact again: ready to order?", call_on - self.crm.clock.now().date())
        return step

    def close_deferred(self, end: str, card: "_Card") -> Callable[[], None]:
        def step() -> None:
            services = self.svc(card.manager)
            if end == "back":
                self.finish_tasks("deal", card.deal)
                stage = self.open_stages[min(1, len(self.open_stages) - 1)]
                services.deals.move(card.deal, stage.key, pipeline=self.sales.key)
                self.add_note(card.manager, "deal", card.deal, "Customer is ready now: back to sales.")
                self.ensure_task(card.manager, card, "Send the updated proposal", timedelta(days=1))
            else:
                self.finish_tasks("deal", card.deal, cancel=True)
                services.deals.lose(card.deal, **self.reason("postponed_indefinitely", "Moved abroad"))
        return step

    def other_lead(self, status: str, index: int) -> None:
        rng = self.rng
        first, last, phone, email = self.person()
        source = CHANNELS[index % len(CHANNELS)]
        manager = ("anna.lee", "david.kim", "sofia.rossi")[index % 3]
        windows = rng.randint(1, 10)
        if status == "rejected":
            at = self.now - timedelta(hours=rng.uniform(30, (DAYS - 3) * 24))
        elif status == "new":
            at = self.now - timedelta(minutes=rng.uniform(20, 300))
        else:
            at = self.now - timedelta(hours=rng.uniform(3, 72))
        ids: dict[str, int] = {}
        self.stories += 1
        story = self.stories

        def capture() -> None:
            ids["lead"] = self.svc(manager if source == "call" else None).leads.create(
                title=LEAD_TITLES[source].format(n=windows), name=f"{first} {last}", phone=phone,
                email=email if source != "call" else None, source=source, responsible_id=self.staff[manager]).id

        def work() -> None:
            services = self.svc(manager)
            self.finish_tasks("lead", ids["lead"])
            if status == "rejected":
                key, text = REJECTIONS[index % len(REJECTIONS)]
                services.leads.reject(ids["lead"], **self.reason(key, text))
            else:
                self.qualify_lead(manager, ids["lead"])
                services.tasks.add(title=f"Send a quote to {first} {last}", assignee_id=self.staff[manager],
                                   due_at=self.crm.clock.now() + timedelta(hours=rng.choice((4, 20, 30))),
                                   entity_type="lead", entity_id=ids["lead"])

        self.plan.at(at, capture, story)
        if status != "new":
            self.plan.at(at + timedelta(minutes=rng.randint(15, 50)), work, story)

    def run(self) -> None:
        self.hire()
        outcomes = self.outcomes()
        for i, outcome in enumerate(outcomes):
            self.deal_story(outcome, COMPANIES[i] if i < len(COMPANIES) else None)
        others = ["rejected"] * len(REJECTIONS) + ["in_progress"] * 4 + ["new"] * 3
        for i, status in enumerate(others):
            self.other_lead(status, i)
        review = _business_hour(self.now + timedelta(days=3))
        self.plan.at(self.now - timedelta(hours=2), lambda: self.svc("marcus.reed").tasks.add(
            title="Weekly pipeline review: stalled proposals", assignee_id=self.staff["marcus.reed"], due_at=review))
        clock = self.crm.clock
        assert isinstance(clock, FrozenClock)
        self.plan.run(clock)
        clock.set(self.now)


def seed(crm: "Crm", *, now: datetime | None = None, seed: int = 42) -> DemoSummary:
    """Fill ``crm`` (an empty deployment from the crmkit.toml template) with the demo data.

    ``crm`` must run on a :class:`~crmkit.FrozenClock` (the demo sets it to each
    step's time and leaves it at ``now``, default: the clock's current time).
    """
    if not isinstance(crm.clock, FrozenClock):
        raise ConfigError("demo data needs a Crm running on a FrozenClock")
    current = (now or crm.clock.now()).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    crm.clock.set(current - timedelta(days=DAYS))
    demo = _Demo(crm, random.Random(seed), current)
    demo.run()
    return summarize(crm, notes=demo.notes)


def summarize(crm: "Crm", *, notes: int = 0) -> DemoSummary:
    """Count what the deployment holds (through the services)."""
    system = crm.system
    leads: dict[str, int] = {}
    for status in ("new", "in_progress", "converted", "rejected"):
        leads[status] = _count(lambda cursor, s=status: system.leads.list(status=s, limit=500, cursor=cursor))
    stages = tuple(
        (p.key, s.key, _count(lambda cursor, p=p, s=s: system.deals.list(
            pipeline=p.key, stage=s.key, limit=500, cursor=cursor)))
        for p in crm.pipelines for s in p.stages
    )
    users = list(system.users.list(limit=500))
    return DemoSummary(
        users=len(users), leads=leads,
        contacts=_count(lambda cursor: system.contacts.list(limit=500, cursor=cursor)),
        companies=_count(lambda cursor: system.companies.list(limit=500, cursor=cursor)),
        stages=stages,
        open_tasks=_count(lambda cursor: system.tasks.list(status="open", limit=500, cursor=cursor)),
        overdue_tasks=_count(lambda cursor: system.tasks.list(overdue=True, limit=500, cursor=cursor)),
        notes=notes,
        staff=tuple((u.email, u.name, u.role + (f"/{u.team}" if u.team else "")) for u in users),
    )


def _count(page_of: Callable[[str | None], Any]) -> int:
    total, cursor = 0, None
    while True:
        page = page_of(cursor)
        total += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return total


def _pipeline(crm: "Crm", key: str) -> "Pipeline":
    pipeline = next((p for p in crm.pipelines if p.key == key), None)
    if pipeline is None or sum(1 for s in pipeline.stages if s.kind == "open") < 2:
        raise ConfigError(f"demo data needs a sales pipeline {key!r} with at least two open stages (see crmkit init)")
    return pipeline


def _business_hour(when: datetime) -> datetime:
    """``when``'s day at 10:00 UTC, moved off the weekend."""
    day = when.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=timezone.utc)

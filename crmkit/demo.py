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
from datetime import datetime, time, timedelta, timezone
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


class _Demo:
    def __init__(self, crm: "Crm", rng: random.Random, now: datetime) -> None:
        self.crm = crm
        self.rng = rng
        self.now = now
        self.plan = _Plan(now)
        self.stories = 0
        self.staff: dict[str, int] = {}
        self.notes = 0
        self.sales = _pipeline(crm, crm.settings.sales_pipeline)
        self.open_stages = [s for s in self.sales.stages if s.kind == "open"]
        self.deferred = next((p for p in crm.pipelines if p.key == "deferred"), None)
        self.names = rng.sample([(f, ln) for f in FIRST for ln in LAST], 60)
        self.phones = [f"({area}) 555-{line:04d}" for area in (206, 425, 253, 360) for line in range(100, 200)]
        rng.shuffle(self.phones)

    # -- helpers -----------------------------------------------------------------

    def svc(self, who: str | None) -> "Services":
        return self.crm.as_user(self.staff[who] if who else None)

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
        steps = reached + (1 if kind in ("won", "lost", "deferred") else 0) + (1 if deferred_end in ("back", "lost") else 0)
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
        manager = rng.choice(("anna.lee", "david.kim", "sofia.rossi"))
        measurer = ("tom.baker", "liam.novak")[self.stories % 2]
        first, last, phone, email = self.person()
        windows = rng.randint(8, 40) if company else rng.randint(2, 12)
        price = Decimal(rng.randrange(28000, 65000, 500)) / 100
        amount = str((price * windows).quantize(Decimal("0.01")))
        address = company[1] if company else self.address()
        source = rng.choice(CHANNELS)
        ids: dict[str, int] = {}
        self.stories += 1
        story = self.stories
        lead_at = t0 - timedelta(hours=rng.uniform(3, 30))
        title = LEAD_TITLES[source].format(n=windows) if not company else f"Office windows replacement ({windows} windows)"

        def capture() -> None:
            who = manager if source == "call" else None
            ids["lead"] = self.svc(who).leads.create(
                title=title, name=f"{first} {last}", company_name=company[0] if company else "", phone=phone,
                email=email, source=source, responsible_id=self.staff[manager],
            ).id

        def qualify() -> None:
            services = self.svc(manager)
            if company:
                ids["company"] = services.companies.create(
                    name=company[0], address=company[1], responsible_id=self.staff[manager]).id
            if company:
                mail = f"{first}.{last}@{company[2]}".lower()
            else:
                mail = email
            ids["contact"] = services.contacts.create(
                first_name=first, last_name=last, phones=[phone], emails=[mail], company_id=ids.get("company"),
                responsible_id=self.staff[manager],
                custom=self.custom("contact", preferred_channel=rng.choice(("phone", "email", "sms", "messenger"))),
            ).id
            if company and rng.random() < 0.7:
                f2, l2, p2, _ = self.person()
                services.contacts.create(first_name=f2, last_name=l2, phones=[p2],
                                         emails=[f"accounting@{company[2]}"], company_id=ids["company"])
            services.leads.update(ids["lead"], {"status": "in_progress", "contact_id": ids["contact"]})

        def open_deal() -> None:
            deal_title = f"{company[0]}: {windows} windows" if company else f"{windows} windows for the {last} family"
            ids["deal"] = self.svc(manager).deals.create(
                title=deal_title, amount=amount, responsible_id=self.staff[manager], contact_id=ids["contact"],
                company_id=ids.get("company"), lead_id=ids["lead"], source=source,
                custom=self.custom("deal", customer_kind="legal_entity" if company else "person", window_count=windows),
            ).id
            self.task(manager, "Collect data: rooms, window sizes, wishes", ids, timedelta(days=1))

        self.plan.at(lead_at, capture, story)
        self.plan.at(lead_at + timedelta(minutes=rng.randint(10, 90)), lambda: self.add_note(
            manager, "lead", ids["lead"], f"Called back: {windows} windows at {address}."), story)
        self.plan.at(t0 - timedelta(minutes=50), qualify, story)
        self.plan.at(t0, open_deal, story)
        when = t0
        for i in range(1, reached + 1):
            when += gaps[i - 1]
            self.plan.at(when, self.advance(self.open_stages[i], ids, manager, measurer, windows, address, amount), story)
        if kind in ("won", "lost", "deferred"):
            when += gaps[reached]
            call_on = _business_hour(when + timedelta(days=rng.randint(2, 16)))
            if deferred_end in ("back", "lost"):
                call_on = when + gaps[-1]
            self.plan.at(when, self.close(kind, ids, manager, windows, call_on), story)
            if deferred_end in ("back", "lost"):
                self.plan.at(call_on, self.close_deferred(deferred_end, ids, manager), story)

    def task(self, who: str, title: str, ids: dict[str, int], due_in: timedelta, description: str = "",
             due_at: datetime | None = None) -> None:
        """Complete the deal's open task (if any) and give ``who`` the next one."""
        self.finish_task(ids)
        due = due_at or _business_hour(self.crm.clock.now() + due_in)
        ids["task"] = self.svc(who).tasks.add(
            title=title, assignee_id=self.staff[who], due_at=due, description=description,
            entity_type="deal", entity_id=ids["deal"]).id
        ids["task_owner"] = self.staff[who]

    def advance(self, stage: "Stage", ids: dict[str, int], manager: str, measurer: str, windows: int,
                address: str, amount: str) -> Callable[[], None]:
        def step() -> None:
            key = stage.key
            actor = {"measurer_assigned": "victor.hale", "measurement_done": measurer}.get(key, manager)
            services = self.svc(actor)
            slot = _business_hour(self.crm.clock.now() + timedelta(days=self.rng.randint(1, 3)))
            if key == "measurer_assigned":
                services.deals.update(ids["deal"], {"custom": self.custom("deal", measurement_date=slot)})
            services.deals.move(ids["deal"], key)
            if key == "proposal_sent":
                self.add_note(manager, "deal", ids["deal"], f"Sent the proposal by e-mail: {windows} windows, {amount} with installation.")
                self.task(manager, "Follow up on the proposal", ids, timedelta(days=2))
            elif key == "measurement_scheduled":
                self.task("victor.hale", "Assign a measurer", ids, timedelta(days=1))
            elif key == "measurer_assigned":
                self.task(measurer, f"Measure {windows} windows at {address}", ids, timedelta(days=2),
                          description=f"Address: {address}. Bring the sample profiles.", due_at=slot)
            elif key == "measurement_done":
                self.add_note(measurer, "deal", ids["deal"], f"Measured {windows} openings; two need a new sill. Photos and sketch attached.")
                self.task(manager, "Prepare the contract and the final price", ids, timedelta(days=2))
            elif key == "contract_signed":
                self.add_note(manager, "deal", ids["deal"], "Contract signed, 50% prepayment received.")
                self.task(manager, "Order the windows and book the installation", ids, timedelta(days=3))
            else:
                self.task(manager, f"Next step: {stage.name}", ids, timedelta(days=2))
        return step

    def close(self, kind: str, ids: dict[str, int], manager: str, windows: int,
              call_on: datetime) -> Callable[[], None]:
        def step() -> None:
            services = self.svc(manager)
            if kind == "won":
                self.finish_task(ids)
                services.deals.win(ids["deal"])
                self.add_note(manager, "deal", ids["deal"], f"All {windows} windows installed; customer signed off.")
            elif kind == "lost":
                self.cancel_task(ids)
                key, text = self.rng.choice(LOSSES)
                services.deals.lose(ids["deal"], **self.reason(key, text))
            else:
                assert self.deferred is not None
                self.finish_task(ids)
                waiting = next(s for s in self.deferred.stages if s.kind == "open")
                services.deals.move(ids["deal"], waiting.key, pipeline=self.deferred.key)
                services.deals.update(ids["deal"], {"custom": self.custom("deal", next_contact_date=call_on.date())})
                self.add_note(manager, "deal", ids["deal"], "Not ready yet: renovation planned later this year.")
                self.task(manager, "Next contact: ready to order?", ids, timedelta(), due_at=call_on)
        return step

    def close_deferred(self, end: str, ids: dict[str, int], manager: str) -> Callable[[], None]:
        def step() -> None:
            services = self.svc(manager)
            if end == "back":
                self.finish_task(ids)
                stage = self.open_stages[min(1, len(self.open_stages) - 1)]
                services.deals.move(ids["deal"], stage.key, pipeline=self.sales.key)
                self.add_note(manager, "deal", ids["deal"], "Customer is ready now: back to sales.")
                self.task(manager, "Send the updated proposal", ids, timedelta(days=1))
            else:
                self.cancel_task(ids)
                services.deals.lose(ids["deal"], **self.reason("postponed_indefinitely", "Moved abroad"))
        return step

    def finish_task(self, ids: dict[str, int]) -> None:
        """The deal's open task is done (by its assignee)."""
        task, owner = ids.pop("task", None), ids.pop("task_owner", None)
        if task is not None:
            self.crm.as_user(owner).tasks.complete(task)

    def cancel_task(self, ids: dict[str, int]) -> None:
        task, owner = ids.pop("task", None), ids.pop("task_owner", None)
        if task is not None:
            self.crm.as_user(owner).tasks.cancel(task)

    def other_lead(self, status: str, index: int) -> None:
        rng = self.rng
        first, last, phone, email = self.person()
        source = CHANNELS[index % len(CHANNELS)]
        manager = ("anna.lee", "david.kim", "sofia.rossi")[index % 3]
        windows = rng.randint(1, 10)
        if status == "rejected":
            at = self.now - timedelta(hours=rng.uniform(30, (DAYS - 3) * 24))
        else:
            at = self.now - timedelta(hours=rng.uniform(1, 72))
        ids: dict[str, int] = {}
        self.stories += 1
        story = self.stories

        def capture() -> None:
            ids["lead"] = self.svc(manager if source == "call" else None).leads.create(
                title=LEAD_TITLES[source].format(n=windows), name=f"{first} {last}", phone=phone,
                email=email if source != "call" else None, source=source,
                responsible_id=self.staff[manager] if status != "new" else None).id

        def work() -> None:
            services = self.svc(manager)
            if status == "rejected":
                key, text = REJECTIONS[index % len(REJECTIONS)]
                services.leads.reject(ids["lead"], **self.reason(key, text))
            else:
                services.leads.update(ids["lead"], {"status": "in_progress"})
                services.tasks.add(title=f"Call back {first} {last}", assignee_id=self.staff[manager],
                                   due_at=self.crm.clock.now() + timedelta(hours=rng.choice((2, 4, 20))),
                                   entity_type="lead", entity_id=ids["lead"])

        self.plan.at(at, capture, story)
        if status != "new":
            self.plan.at(at + timedelta(minutes=rng.randint(15, 240)), work, story)

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

"""The demo's stories: which leads and deals there are, and when each step of theirs happens."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ..core.clock import FrozenClock
from .data import CHANNELS, COMPANIES, DAYS, LEAD_TITLES, MANAGERS, MEASURERS, REJECTIONS
from .plan import business_hour
from .steps import Card, Company, Steps

Outcome = tuple[str, int, str]  # kind (open, won, lost, deferred), open-stage index reached, deferred ending


class Demo(Steps):
    """Plans every story of the demo and runs them in time order."""

    def run(self) -> None:
        """Hire the staff, plan all stories, run them, and leave the clock at ``now``."""
        self.hire()
        for i, outcome in enumerate(self.outcomes()):
            self.deal_story(outcome, COMPANIES[i] if i < len(COMPANIES) else None)
        others = ["rejected"] * len(REJECTIONS) + ["in_progress"] * 4 + ["new"] * 3
        for i, status in enumerate(others):
            self.other_lead(status, i)
        due = business_hour(self.now + timedelta(days=3))

        def review() -> None:
            self.svc("marcus.reed").tasks.add(
                title="Weekly pipeline review: stalled proposals", assignee_id=self.staff["marcus.reed"], due_at=due)

        self.plan.at(self.now - timedelta(hours=2), review)
        clock = self.crm.clock
        assert isinstance(clock, FrozenClock)
        self.plan.run(clock)
        clock.set(self.now)

    def outcomes(self) -> list[Outcome]:
        """How each deal ends: (kind, open-stage index reached, deferred ending), shuffled."""
        last = len(self.open_stages) - 1
        out = [("open", i, "") for i in range(len(self.open_stages)) for _ in range(3 if i < last else 2)]
        out += [("won", last, "")] * 7
        out += [("lost", i, "") for i in (0, 1, 2, 4, last)]
        if self.deferred is not None:
            out += [("deferred", 0, "waiting"), ("deferred", 1, "waiting"), ("deferred", 1, "waiting"),
                    ("deferred", 0, "back"), ("deferred", 1, "lost")]
        self.rng.shuffle(out)
        return out

    # -- a lead that becomes a deal ----------------------------------------------

    def deal_story(self, outcome: Outcome, company: Company | None) -> None:
        """Plan one customer's story from the lead to the deal's ``outcome``."""
        kind, reached, deferred_end = outcome
        closing = kind in ("won", "lost", "deferred")
        t0, gaps = self._timing(kind, reached + (1 if closing else 0) + (1 if deferred_end in ("back", "lost") else 0))
        self.stories += 1
        story = self.stories
        card = self._customer(company, MEASURERS[story % 2])
        lead_at = t0 - timedelta(hours=self.rng.uniform(3, 30))
        self.plan.at(lead_at, self.capture(card), story)
        self.plan.at(lead_at + timedelta(minutes=self.rng.randint(10, 50)), self.call_back(card), story)
        self.plan.at(t0, self.convert(card), story)
        when = t0
        for i in range(1, reached + 1):
            when += gaps[i - 1]
            self.plan.at(when, self.advance(self.open_stages[i], card), story)
        if closing:
            when += gaps[reached]
            back = deferred_end in ("back", "lost")
            call_on = when + gaps[-1] if back else when + timedelta(days=self.rng.randint(2, 16))
            self.plan.at(when, self.close(kind, card, call_on.date()), story)
            if back:
                self.plan.at(call_on, self.close_deferred(deferred_end, card), story)

    def _timing(self, kind: str, steps: int) -> tuple[datetime, list[timedelta]]:
        """When the deal starts and the gaps between its ``steps``, all inside the demo's six weeks."""
        rng = self.rng
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
        return t0, gaps

    def _customer(self, company: Company | None, measurer: str) -> Card:
        """A new customer (a person, or a contact person of ``company``) and what they want."""
        rng = self.rng
        manager = rng.choice(MANAGERS)
        first, last, phone, email = self.person()
        windows = rng.randint(8, 40) if company else rng.randint(2, 12)
        price = Decimal(rng.randrange(28000, 65000, 500)) / 100
        amount = str((price * windows).quantize(Decimal("0.01")))
        address = company[1] if company else self.address()
        return Card(first=first, last=last, phone=phone, email=email, company=company, source=rng.choice(CHANNELS),
                    manager=manager, measurer=measurer, windows=windows, amount=amount, address=address)

    # -- a lead that stays a lead --------------------------------------------------

    def other_lead(self, status: str, index: int) -> None:
        """Plan a lead that ends ``status``: rejected (with a reason), in progress (a quote due) or new."""
        rng = self.rng
        first, last, phone, email = self.person()
        source = CHANNELS[index % len(CHANNELS)]
        manager = MANAGERS[index % len(MANAGERS)]
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

"""The demo company at work: its staff, each one's services, and the small acts every story repeats."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from ..core.errors import ConfigError
from .data import DOMAIN, FIRST, LAST, STAFF, STREETS
from .plan import Plan, business_hour

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm
    from ..core.records import Pipeline, Stage, Task
    from ..core.services import Services


class Reason(TypedDict):
    """Why a lead or deal is lost: the arguments of ``reject`` and ``lose``."""

    reason: str | None
    reason_text: str | None


class Office:
    """The staff of the demo company acting through the services, with the customers still to come."""

    def __init__(self, crm: "Crm", rng: random.Random, now: datetime) -> None:
        self.crm = crm
        self.rng = rng
        self.now = now
        self.plan = Plan(now)
        self.stories = 0
        self.staff: dict[str, int] = {}
        self._services: dict[int | None, "Services"] = {}
        self.notes = 0
        self.sales = sales_pipeline(crm, crm.settings.sales_pipeline)
        self.open_stages = [s for s in self.sales.stages if s.kind == "open"]
        self.deferred = next((p for p in crm.pipelines if p.key == "deferred"), None)
        self.names = rng.sample([(f, ln) for f in FIRST for ln in LAST], 60)
        self.phones = [f"({area}) 555-{line:04d}" for area in (206, 425, 253, 360) for line in range(100, 200)]
        rng.shuffle(self.phones)

    def hire(self) -> None:
        """Create the staff's users."""
        system = self.crm.system
        for login, name, role, team in STAFF:
            self.staff[login] = system.users.create(email=f"{login}@{DOMAIN}", name=name, role=role, team=team).id

    def svc(self, who: str | None) -> "Services":
        """The services acting as staff member ``who`` (by e-mail name; None: the system)."""
        return self.as_id(self.staff[who] if who else None)

    def as_id(self, user_id: int | None) -> "Services":
        """The services acting as ``user_id`` (one per user: starting them costs a look-up)."""
        found = self._services.get(user_id)
        if found is None:
            found = self._services[user_id] = self.crm.as_user(user_id)
        return found

    def person(self) -> tuple[str, str, str, str]:
        """A new customer: first name, last name, phone, e-mail."""
        first, last = self.names.pop()
        domain = self.rng.choice(("example.com", "example.net", "example.org"))
        return first, last, self.phones.pop(), f"{first}.{last}@{domain}".lower()

    def address(self) -> str:
        """A random street address in Seattle."""
        return f"{self.rng.randint(100, 9999)} {self.rng.choice(STREETS)}, Seattle, WA 981{self.rng.randint(1, 99):02d}"

    def custom(self, entity: str, **values: Any) -> dict[str, Any]:
        """Only the custom fields this deployment declares."""
        return {k: v for k, v in values.items() if self.crm.custom_fields.get(entity, k) is not None}

    def reason(self, key: str, text: str) -> Reason:
        """Lost-reason arguments: ``key`` if the deployment declares it, else ``text`` alone."""
        if self.crm.lost_reason(key) is not None:
            return {"reason": key, "reason_text": text or None}
        return {"reason": None, "reason_text": text or key.replace("_", " ").capitalize()}

    def add_note(self, who: str | None, entity: str, ident: int, body: str) -> None:
        """``who`` writes a note on a card (and the notes are counted)."""
        self.svc(who).notes.add(entity, ident, body)
        self.notes += 1

    def qualify_lead(self, who: str, lead: int) -> None:
        """Move a lead to the lead pipeline's second open stage (qualifying), if there is one."""
        spec = self.crm.pipeline_spec(self.crm.settings.lead_pipeline)
        stages = [s for s in spec.stages if s.kind == "open"] if spec is not None else []
        if len(stages) > 1:
            self.svc(who).leads.move(lead, stages[1].key)

    def open_tasks(self, entity: str, ident: int) -> list["Task"]:
        """The card's open tasks (up to 100)."""
        return list(self.as_id(None).tasks.list(entity_type=entity, entity_id=ident, status="open", limit=100))

    def finish_tasks(self, entity: str, ident: int, *, cancel: bool = False) -> None:
        """Each open task of the card is done (or cancelled) by its assignee."""
        for task in self.open_tasks(entity, ident):
            tasks = self.as_id(task.assignee_id).tasks
            tasks.cancel(task.id) if cancel else tasks.complete(task.id)

    def ensure_task(self, who: str, deal: int, title: str, due_in: timedelta) -> None:
        """Where no stage rule made a task, the manager writes one down."""
        if not self.open_tasks("deal", deal):
            self.svc(who).tasks.add(title=title, assignee_id=self.staff[who], entity_type="deal",
                                    entity_id=deal, due_at=business_hour(self.crm.clock.now() + due_in))

    def fill_required(self, stage: "Stage", deal: int, manager: str, measurer: str) -> None:
        """Set what the stage requires (the measurement slot, the measurer) before moving there."""
        spec = self.crm.pipeline_spec(stage.pipeline)
        declared = next((s for s in spec.stages if s.key == stage.key), None) if spec is not None else None
        required = set(declared.requires) if declared is not None else set()
        custom: dict[str, Any] = {}
        if "measurement_date" in required or stage.key == "measurement_scheduled":
            custom["measurement_date"] = business_hour(self.crm.clock.now() + timedelta(days=self.rng.randint(2, 5)))
        if "measurer_id" in required:
            custom["measurer_id"] = self.staff[measurer]
        custom = self.custom("deal", **custom)
        if custom:
            actor = "victor.hale" if "measurer_id" in custom else manager
            current = self.as_id(None).deals.get(deal).custom
            if any(current.get(k) is None for k in custom):
                self.svc(actor).deals.update(deal, {"custom": custom})


def sales_pipeline(crm: "Crm", key: str) -> "Pipeline":
    """Pipeline ``key``, which must have at least two open stages (``ConfigError`` if not)."""
    pipeline = next((p for p in crm.pipelines if p.key == key), None)
    if pipeline is None or sum(1 for s in pipeline.stages if s.kind == "open") < 2:
        raise ConfigError(f"demo data needs a sales pipeline {key!r} with at least two open stages (see crmkit init)")
    return pipeline

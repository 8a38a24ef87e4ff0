"""The steps of a deal's story: what the staff do at each step, through the services."""

from __future__ import annotations

from datetime import date, timedelta

import attrs

from ..core.records import Stage
from .data import LEAD_TITLES, LOSSES
from .office import Office
from .plan import Step

Company = tuple[str, str, str]  # name, address, e-mail domain


@attrs.define
class Card:
    """One customer's story: the customer, who works on it and the cards made so far."""

    first: str
    last: str
    phone: str
    email: str
    company: Company | None
    source: str
    manager: str
    measurer: str
    windows: int
    amount: str
    address: str
    lead: int = 0
    deal: int = 0


class Steps(Office):
    """Each method returns one step of a customer's story, to be planned at its time."""

    def capture(self, card: Card) -> Step:
        """The lead arrives (a call is taken by the manager, other channels by the system)."""
        def step() -> None:
            company = card.company
            title = (f"Office windows replacement ({card.windows} windows)" if company
                     else LEAD_TITLES[card.source].format(n=card.windows))
            card.lead = self.svc(card.manager if card.source == "call" else None).leads.create(
                title=title, name=f"{card.first} {card.last}", company_name=company[0] if company else "",
                phone=card.phone, email=card.email, source=card.source, responsible_id=self.staff[card.manager],
                customer_kind="legal_entity" if company else "person",
            ).id
        return step

    def call_back(self, card: Card) -> Step:
        """The manager calls back and qualifies the lead."""
        def step() -> None:
            self.finish_tasks("lead", card.lead)
            self.qualify_lead(card.manager, card.lead)
            self.add_note(card.manager, "lead", card.lead, f"Called back: {card.windows} windows at {card.address}.")
        return step

    def convert(self, card: Card) -> Step:
        """The lead becomes a contact (and company) and a deal; sometimes a second contact person."""
        def step() -> None:
            services, company, first, last = self.svc(card.manager), card.company, card.first, card.last
            responsible = self.staff[card.manager]
            conversion = services.leads.convert(
                card.lead, customer_kind="legal_entity" if company else "person",
                contact={"first_name": first, "last_name": last, "phones": [card.phone],
                         "emails": [f"{first}.{last}@{company[2]}".lower() if company else card.email],
                         "responsible_id": responsible,
                         "custom": self.custom("contact", preferred_channel=self.rng.choice(
                             ("phone", "email", "sms", "messenger")))},
                company={"name": company[0], "address": company[1], "responsible_id": responsible}
                if company else None,
                deal={"title": f"{company[0]}: {card.windows} windows" if company
                      else f"{card.windows} windows for the {last} family",
                      "amount": card.amount, "custom": self.custom("deal", window_count=card.windows)},
            )
            card.deal = conversion.deal.id
            if conversion.company is not None and company is not None and self.rng.random() < 0.7:
                f2, l2, p2, _ = self.person()
                services.contacts.create(first_name=f2, last_name=l2, phones=[p2], emails=[f"accounting@{company[2]}"],
                                         company_id=conversion.company.id)
            self.ensure_task(card.manager, card.deal, "Collect data: rooms, window sizes, wishes", timedelta(days=1))
        return step

    def advance(self, stage: Stage, card: Card) -> Step:
        """The deal moves to ``stage`` (by the manager, the head of measurers or the measurer)."""
        def step() -> None:
            key, manager = stage.key, card.manager
            if key == "measurement_done":  # the measurer reads the deal through their task and reports on it
                self.add_note(card.measurer, "deal", card.deal,
                              f"Measured {card.windows} openings at {card.address}; two need a new sill. Sketch attached.")
            self.finish_tasks("deal", card.deal)
            self.fill_required(stage, card.deal, manager, card.measurer)
            self.svc(manager).deals.move(card.deal, key)  # a task on a card is a read-only grant: its manager moves it
            if key == "proposal_sent":
                self.add_note(manager, "deal", card.deal,
                              f"Sent the proposal by e-mail: {card.windows} windows, {card.amount} with installation.")
            elif key == "measurement_done":
                self.ensure_task(manager, card.deal, "Prepare the contract and the final price", timedelta(days=2))
            elif key == "contract_signed":
                self.add_note(manager, "deal", card.deal, "Contract signed, 50% prepayment received.")
                self.ensure_task(manager, card.deal, "Order the windows and book the installation", timedelta(days=3))
            self.ensure_task(manager, card.deal, f"Next step: {stage.name}", timedelta(days=2))
        return step

    def close(self, kind: str, card: Card, call_on: date) -> Step:
        """The deal is won, lost, or parked in Deferred demand until ``call_on``."""
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
                self.ensure_task(card.manager, card.deal, "Contact again: ready to order?",
                                 call_on - self.crm.clock.now().date())
        return step

    def close_deferred(self, end: str, card: Card) -> Step:
        """A deferred deal comes back to Sales (``end`` "back") or is lost."""
        def step() -> None:
            services = self.svc(card.manager)
            if end == "back":
                self.finish_tasks("deal", card.deal)
                stage = self.open_stages[min(1, len(self.open_stages) - 1)]
                services.deals.move(card.deal, stage.key, pipeline=self.sales.key)
                self.add_note(card.manager, "deal", card.deal, "Customer is ready now: back to sales.")
                self.ensure_task(card.manager, card.deal, "Send the updated proposal", timedelta(days=1))
            else:
                self.finish_tasks("deal", card.deal, cancel=True)
                services.deals.lose(card.deal, **self.reason("postponed_indefinitely", "Moved abroad"))
        return step

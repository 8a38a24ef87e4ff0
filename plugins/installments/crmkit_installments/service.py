"""The plugin's service: plans, payments and reversals, under the acting user's record rules.

    from crmkit_installments.service import Installments
    inst = Installments(crm, alice.id)
    inst.create_plan(deal.id, total="1200.00", down_payment="200.00", payments=10, start="2026-02-01")
    inst.record_payment(deal.id, "100.00", method="card", reference="T-1")

Each command is one transaction (or joins the open one): its rows, the deal moves
and tasks it causes, and its events commit together.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence

from sqlalchemy import Connection, Row, delete, insert, or_, select, update

from crmkit import (
    ConflictError, Crm, Money, NotFoundError, ValidationError, check_text, schema,
)

from .config import NAME, PIPELINE, local_date
from .control import activate, review
from .ledger import reallocate
from .records import Payment, Plan, load_payments, load_plan, money
from .schedule import MAX_PAYMENTS, add_months, check_dates, monthly_dates, split
from .tables import items, payments, plans

MANAGE, REVERSE = f"{NAME}.manage", f"{NAME}.reverse"


def parse_date(value: Any, field: str) -> date:
    """A calendar date from a ``date`` or ISO text (``2026-02-01``)."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field)


def _new_id(result: Any) -> int:
    """The id of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _id(value: Any, field: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise ValidationError(f"{field}: {value!r} is not an id", field=field)
    return value


class Installments:
    """Installment plans acting as user ``actor_id`` (``None``: the system)."""

    def __init__(self, crm: Crm, actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.services = crm.as_user(actor_id)

    # -- look-ups ------------------------------------------------------------------

    def _deal(self, conn: Connection, deal_id: Any) -> Any:
        """The deal, if it exists and the acting user may see it (404 for both: no existence oracle)."""
        ident = _id(deal_id, "deal_id")
        d = schema.deals.c
        row = conn.execute(select(d.id, d.status, d.stage_id, d.amount_minor, d.currency, d.title)
                           .where(d.id == ident)).first()
        if row is None:
            raise NotFoundError(f"deal {ident} does not exist", field="deal_id")
        if not self.services.access.can_see(conn, "deal", schema.deals, ident):
            raise NotFoundError(f"deal {ident} does not exist", field="deal_id")
        return row

    def _plan_row(self, conn: Connection, deal_id: int, *, lock: bool = False) -> Row[Any]:
        query = select(plans).where(or_(plans.c.deal_id == deal_id, plans.c.control_deal_id == deal_id))
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFoundError(f"deal {deal_id} has no installment plan", field="deal_id")
        return row

    def _write(self, permission: str, what: str) -> None:
        self.services.access.require("cards.write", "change deals")
        self.services.access.require(permission, what)

    def plan(self, deal_id: int) -> Plan:
        """The plan of a deal (the original or its Installment control copy), with its schedule."""
        with self.crm.engine.connect() as conn:
            deal = self._deal(conn, deal_id)
            return load_plan(conn, self._plan_row(conn, deal.id))

    def payments(self, deal_id: int) -> list[Payment]:
        """The plan's payments in recording order, reversed ones included, with their allocations."""
        with self.crm.engine.connect() as conn:
            plan = self._plan_row(conn, self._deal(conn, deal_id).id)
            return load_payments(conn, plan.id, plan.currency)

    # -- commands ------------------------------------------------------------------

    def create_plan(
        self, deal_id: int, *, payments: int | None = None, start: date | str | None = None,
        dates: Sequence[date | str] | None = None, total: Any = None, down_payment: Any = "0",
        currency: str | None = None, replace: bool = False,
    ) -> Plan:
        """Put an installment plan on a deal: ``payments`` monthly from ``start`` (default: a month
        from today), or one payment on each of ``dates``. ``total`` defaults to the deal's amount;
        the schedule sums exactly to ``total - down_payment``. A won deal goes to control at once.
        """
        self._write(MANAGE, "manage installment plans")
        with self.crm.transaction(self.actor_id) as tx:
            deal = self._deal(tx.conn, deal_id)
            if self.crm.stage_by_id(deal.stage_id).pipeline == PIPELINE:
                raise ValidationError(f"deal_id: deal {deal.id} is an Installment control card; "
                                      "put the plan on the original deal", field="deal_id")
            if deal.status == "lost":
                raise ValidationError(f"deal_id: deal {deal.id} is lost", field="deal_id")
            existing = tx.conn.execute(select(plans).where(plans.c.deal_id == deal.id).with_for_update()).first()
            if existing is not None:
                if not replace or existing.status != "pending":
                    raise ValidationError(
                        f"deal_id: deal {deal.id} already has a plan" + (
                            "; replace it (--replace, or \"replace\": true in the API)" if existing.status == "pending"
                            else f" that is {existing.status}; it can no longer be replaced"), field="deal_id")
                tx.conn.execute(delete(items).where(items.c.plan_id == existing.id))
                tx.conn.execute(delete(plans).where(plans.c.id == existing.id))
            cur = currency or deal.currency or self.crm.settings.default_currency
            if deal.currency and isinstance(cur, str) and cur.upper() != deal.currency:
                raise ValidationError(f"currency: the deal is in {deal.currency}, not {cur}", field="currency")
            if total is None:
                if deal.amount_minor is None:
                    raise ValidationError("total: the deal has no amount; give the total", field="total")
                total = money(deal.amount_minor, deal.currency).amount
            total_m = Money.parse(total, cur, field="total")
            down_m = Money.parse(down_payment, total_m.currency, field="down_payment")
            financed = total_m.minor_units - down_m.minor_units
            if down_m.minor_units < 0 or financed <= 0:
                raise ValidationError("down_payment: must be at least 0 and less than the total", field="down_payment")
            due = self._dates(payments, start, dates, local_date(self.crm, tx.now))
            amounts = split(financed, len(due))
            plan_id = _new_id(tx.conn.execute(insert(plans).values(
                deal_id=deal.id, currency=total_m.currency, total_minor=total_m.minor_units,
                down_payment_minor=down_m.minor_units, financed_minor=financed, paid_minor=0, credit_minor=0,
                status="pending", created_by=self.actor_id, created_at=tx.now, updated_at=tx.now, version=1,
            )))
            tx.conn.execute(insert(items), [
                {"plan_id": plan_id, "seq": n, "due_date": d, "amount_minor": a, "paid_minor": 0}
                for n, (d, a) in enumerate(zip(due, amounts), start=1)])
            cur = total_m.currency
            tx.emit(f"{NAME}.plan_{'replaced' if existing is not None else 'created'}", "deal", deal.id, data={
                "plan_id": plan_id, "total": total_m.to_json(), "down_payment": down_m.to_json(),
                "financed": money(financed, cur).to_json(),
                "schedule": [{"seq": n, "due_date": d.isoformat(), "amount": money(a, cur).to_json()}
                             for n, (d, a) in enumerate(zip(due, amounts), start=1)],
            })
            if deal.status == "won":
                activate(tx, plan_id)
            return load_plan(tx.conn, tx.conn.execute(select(plans).where(plans.c.id == plan_id)).one())

    @staticmethod
    def _dates(count: Any, start: Any, dates: Sequence[Any] | None, today: date) -> list[date]:
        if dates is not None:
            if isinstance(dates, (str, bytes)):
                raise ValidationError("dates: expected a list of dates", field="dates")
            due = check_dates([parse_date(d, "dates") for d in dates])
            if count is not None and count != len(due):
                raise ValidationError(f"payments: {count} payments but {len(due)} dates", field="payments")
            if start is not None:
                raise ValidationError("start: give either start (monthly) or dates, not both", field="start")
            return due
        if isinstance(count, bool) or not isinstance(count, int):
            raise ValidationError("payments: give the number of monthly payments (or dates)", field="payments")
        if not 1 <= count <= MAX_PAYMENTS:
            raise ValidationError(f"payments: give 1 to {MAX_PAYMENTS} payments", field="payments")
        first = parse_date(start, "start") if start is not None else add_months(today, 1)
        try:
            return monthly_dates(first, count)
        except ValueError:  # past 9999-12-31
            raise ValidationError(f"start: {count} monthly payments from {first} end after 9999-12-31",
                                  field="start") from None

    def record_payment(self, deal_id: int, amount: Any, *, paid_on: date | str | None = None,
                       method: str = "cash", reference: str = "", currency: str | None = None) -> Payment:
        """Record a received payment and allocate it to the oldest unpaid items (the excess carries
        forward; beyond the schedule it is credit). The control deal then moves accordingly."""
        self._write(MANAGE, "record installment payments")
        with self.crm.transaction(self.actor_id) as tx:
            plan = self._plan_row(tx.conn, self._deal(tx.conn, deal_id).id, lock=True)
            if plan.status in ("pending", "written_off"):
                raise ValidationError(f"deal_id: the plan is {plan.status}" + (
                    "; payments are recorded once the deal is won" if plan.status == "pending" else ""),
                    field="deal_id")
            if currency is not None and str(currency).upper() != plan.currency:
                raise ValidationError(f"currency: the plan is in {plan.currency}", field="currency")
            paid = Money.parse(amount, plan.currency)
            if paid.minor_units <= 0:
                raise ValidationError("amount: must be more than 0", field="amount")
            today = local_date(self.crm, tx.now)
            day = parse_date(paid_on, "paid_on") if paid_on is not None else today
            if day > today:
                raise ValidationError(f"paid_on: {day} is in the future", field="paid_on")
            payment_id = _new_id(tx.conn.execute(insert(payments).values(
                plan_id=plan.id, amount_minor=paid.minor_units, paid_on=day,
                method=check_text(method, "method", max_length=40, required=True),
                reference=check_text(reference, "reference", max_length=120),
                recorded_by=self.actor_id, recorded_at=tx.now,
            )))
            changes = reallocate(tx.conn, plan.id, tx.now)
            record = load_payments(tx.conn, plan.id, plan.currency, payment_id)[0]
            self._emit(tx, plan.id, "payment_recorded", {
                "payment_id": payment_id, "amount": paid.to_json(), "paid_on": day.isoformat(),
                "method": record.method, "reference": record.reference,
                "allocations": [a.to_json() for a in record.allocations]}, changes)
            review(tx, plan.id, today)
            return record

    def reverse_payment(self, payment_id: int, *, reason: str) -> Payment:
        """Reverse a payment (a bounced card, a mistake) with a reason; the remaining payments are
        re-allocated oldest item first, and the control deal moves back if need be."""
        self._write(REVERSE, "reverse installment payments")
        ident = _id(payment_id, "payment_id")
        why = check_text(reason, "reason", max_length=300, required=True, multiline=True)
        with self.crm.transaction(self.actor_id) as tx:
            row = tx.conn.execute(select(payments).where(payments.c.id == ident)).first()
            if row is None:
                raise NotFoundError(f"payment {ident} does not exist", field="payment_id")
            plan = tx.conn.execute(select(plans).where(plans.c.id == row.plan_id).with_for_update()).one()
            self._deal(tx.conn, plan.control_deal_id or plan.deal_id)
            if row.reversed_at is not None:
                raise ConflictError(f"payment {ident} is already reversed", field="payment_id")
            tx.conn.execute(update(payments).where(payments.c.id == ident).values(
                reversed_at=tx.now, reversed_by=self.actor_id, reversal_reason=why))
            changes = reallocate(tx.conn, plan.id, tx.now)
            self._emit(tx, plan.id, "payment_reversed", {
                "payment_id": ident, "amount": money(row.amount_minor, plan.currency).to_json(),
                "reason": why}, changes)
            review(tx, plan.id, local_date(self.crm, tx.now))
            return load_payments(tx.conn, plan.id, plan.currency, ident)[0]

    @staticmethod
    def _emit(tx: Any, plan_id: int, what: str, data: dict[str, Any], changes: list[dict[str, Any]]) -> None:
        """An event on the plan's card (its control deal once there is one) with the new balances."""
        plan = tx.conn.execute(select(plans).where(plans.c.id == plan_id)).one()
        cur = plan.currency
        tx.emit(f"{NAME}.{what}", "deal", plan.control_deal_id or plan.deal_id, data={
            "plan_id": plan_id, **data,
            "items": [{"seq": c["seq"], "paid_before": money(c["before"], cur).to_json(),
                       "paid_after": money(c["after"], cur).to_json()} for c in changes],
            "paid": money(plan.paid_minor, cur).to_json(),
            "outstanding": money(plan.financed_minor - plan.paid_minor, cur).to_json(),
            "credit": money(plan.credit_minor, cur).to_json(),
        })

"""Property: for any plan and any payments and reversals, paid + outstanding == financed,
no item is paid twice, and every received cent is allocated or credit (on the real database)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit import Crm, FrozenClock
from crmkit_installments.service import Installments

from installments_support import MakeCrm, control_stage, enabled

CENT = Decimal("0.01")

plans = st.fixed_dictionaries({
    "total": st.integers(100, 5_000_000),
    "down_share": st.integers(0, 90),
    "payments": st.integers(1, 12),
})
operations = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 3_000_000)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
), max_size=12)


_CACHE: list[tuple[MakeCrm, Crm]] = []


def _crm(make_crm: MakeCrm, clock: FrozenClock) -> Crm:
    """One deployment per test run (hypothesis reuses the function-scoped fixtures); each example
    works on its own deal."""
    if not _CACHE or _CACHE[0][0] is not make_crm:
        _CACHE[:] = [(make_crm, enabled(make_crm, clock))]
    return _CACHE[0][1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans, ops=operations)
def test_paid_plus_outstanding_is_the_financed_amount(make_crm: MakeCrm, clock: FrozenClock,
                                                      plan: dict[str, int], ops: list[tuple[str, int]]) -> None:
    crm = _crm(make_crm, clock)
    inst = Installments(crm)
    total = Decimal(plan["total"]) * CENT
    down = (total * plan["down_share"] / 100).quantize(CENT)
    if total - down < plan["payments"] * CENT:
        down = Decimal(0)
    deal = crm.deals.create(title="Property", amount=str(total))
    inst.create_plan(deal.id, total=str(total), down_payment=str(down), payments=plan["payments"], start="2026-02-01")
    crm.deals.win(deal.id)
    recorded: list[int] = []
    for op, value in ops:
        if op == "pay":
            recorded.append(inst.record_payment(deal.id, str(Decimal(value) * CENT)).id)
        elif recorded:
            payment_id = recorded[value % len(recorded)]
            if all(p.reversed_at is None for p in inst.payments(deal.id) if p.id == payment_id):
                inst.reverse_payment(payment_id, reason="property test")
        check(inst, deal.id)


def check(inst: Installments, deal_id: int) -> None:
    state = inst.plan(deal_id)
    payments = inst.payments(deal_id)
    assert state.paid.amount + state.outstanding.amount == state.financed.amount == state.total.amount - state.down_payment.amount
    assert sum((i.amount.amount for i in state.items), Decimal(0)) == state.financed.amount
    allocated: dict[int, Decimal] = {}
    for p in payments:
        if p.reversed_at is not None:
            assert p.allocations == ()
        assert sum((a.amount.amount for a in p.allocations), Decimal(0)) <= p.amount.amount
        for a in p.allocations:
            assert a.amount.amount > 0
            allocated[a.seq] = allocated.get(a.seq, Decimal(0)) + a.amount.amount
    for item in state.items:  # no item paid twice: allocations match what it received, never above its amount
        assert allocated.get(item.seq, Decimal(0)) == item.paid.amount <= item.amount.amount
    received = sum((p.amount.amount for p in payments if p.reversed_at is None), Decimal(0))
    assert received == state.paid.amount + state.credit.amount
    assert (state.status == "paid_off") == (state.outstanding.amount == 0)
    assert (control_stage(inst.crm, state)[1] == "won") == (state.outstanding.amount == 0)

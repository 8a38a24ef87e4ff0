"""Stateful property test of the stock ledger on the real database: for any sequence of receipts,
sales, write-offs, transfers, returns and reversals, on hand equals the ledger's sum per product
and location, the stock value equals the moving-average rule computed here independently (plain
Decimal arithmetic), nothing is lost or applied twice, a reversal restores exactly, and a refused
movement writes nothing."""

from __future__ import annotations

import itertools
import os
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import event, func, select

from crmkit import Crm, FrozenClock, ValidationError
from crmkit_inventory.sales import Bar
from crmkit_inventory.service import Inventory
from crmkit_inventory.tables import movements

from inventory_support import MakeCrm, enabled

CENT, MILLI = Decimal("0.01"), Decimal("0.001")
PLACES = ("bar", "store")
# CI: a few short runs (each step is several real transactions); CRMKIT_INVENTORY_DEEP=1: many long ones
EXAMPLES, STEPS = (200, 40) if os.environ.get("CRMKIT_INVENTORY_DEEP") == "1" else (6, 15)
_RUN = itertools.count()


def rounded(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


class Model:
    """The documented costing, written from the README's rules with Decimal (not the plugin's integers)."""

    def __init__(self) -> None:
        self.stock: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}

    def get(self, key: tuple[str, str]) -> tuple[Decimal, Decimal]:
        return self.stock.get(key, (Decimal(0), Decimal(0)))

    def issue(self, key: tuple[str, str], q: Decimal) -> Decimal:
        held, value = self.get(key)
        taken = value if q >= held else rounded(value * q / held)
        self.stock[key] = (held - q, value - taken)
        return taken

    def add(self, key: tuple[str, str], q: Decimal, value: Decimal) -> None:
        held, old = self.get(key)
        self.stock[key] = (held + q, old + value)


quantities = st.integers(1, 40_000).map(lambda n: Decimal(n) * MILLI)
costs = st.integers(1, 999).map(lambda n: Decimal(n) * CENT)


def machine(crm: Crm) -> type[RuleBasedStateMachine]:
    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.inv, self.bar = Inventory(crm), Bar(crm)
            run = next(_RUN)
            self.skus = [f"P{run}-A", f"P{run}-B"]
            for sku in self.skus:
                self.inv.create_product(sku=sku, name=sku, price="2.00", unit="kg")
            self.model = Model()
            self.done: list[dict[str, Any]] = []  # movements that can be reversed / returned
            self.rows = 0  # ledger rows this run must have written, counted here

        def _rows(self) -> int:
            with crm.engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(movements)))

        def _refused(self, call: Any) -> None:
            before = self._rows()
            try:
                call()
            except ValidationError as err:
                assert "would leave" in str(err) or "still be returned" in str(err), err
                assert self._rows() == before  # nothing written
                return
            raise AssertionError("expected a refusal")

        @rule(sku=st.integers(0, 1), place=st.sampled_from(PLACES), q=quantities, cost=costs)
        def receive(self, sku: int, place: str, q: Decimal, cost: Decimal) -> None:
            [m] = self.inv.receive(place, [{"sku": self.skus[sku], "qty": str(q), "unit_cost": str(cost)}])
            value = rounded(q * cost)
            assert m.value.amount == value
            self.model.add((self.skus[sku], place), q, value)
            self.rows += 1
            self.done.append({"id": m.id, "key": (self.skus[sku], place), "q": q, "v": value, "kind": "receipt"})

        @rule(sku=st.integers(0, 1), place=st.sampled_from(PLACES), q=quantities, how=st.sampled_from(["sale", "off"]))
        def take_out(self, sku: int, place: str, q: Decimal, how: str) -> None:
            key = (self.skus[sku], place)
            if q > self.model.get(key)[0]:
                if how == "sale":
                    self._refused(lambda: self.bar.sell(place, [{"sku": key[0], "qty": str(q)}], payment="card"))
                else:
                    self._refused(lambda: self.inv.write_off(place, key[0], str(q), reason="broken"))
                return
            expected = self.model.issue(key, q)
            if how == "sale":
                sale = self.bar.sell(place, [{"sku": key[0], "qty": str(q)}], payment="card")
                mid = sale.lines[0].movement_id
                [m] = [x for x in self.inv.movements(sku=key[0], kind="sale") if x.id == mid]
                self.done.append({"id": mid, "key": key, "q": -q, "v": -expected, "kind": "sale", "back": Decimal(0)})
            else:
                m = self.inv.write_off(place, key[0], str(q), reason="broken")
                self.done.append({"id": m.id, "key": key, "q": -q, "v": -expected, "kind": "write_off"})
            assert m.value.amount == -expected
            self.rows += 1

        @rule(sku=st.integers(0, 1), q=quantities, forward=st.booleans())
        def transfer(self, sku: int, q: Decimal, forward: bool) -> None:
            src, dst = PLACES if forward else PLACES[::-1]
            key = self.skus[sku]
            if q > self.model.get((key, src))[0]:
                self._refused(lambda: self.inv.transfer(key, str(q), source=src, target=dst))
                return
            value = self.model.issue((key, src), q)
            self.model.add((key, dst), q, value)
            out, into = self.inv.transfer(key, str(q), source=src, target=dst)
            assert (out.value.amount, into.value.amount) == (-value, value)
            self.rows += 2
            self.done.append({"id": out.id, "pair": [((key, src), -q, -value), ((key, dst), q, value)],
                              "kind": "transfer"})

        @precondition(lambda self: any(d["kind"] == "sale" for d in self.done))
        @rule(pick=st.integers(0, 1000), part=st.integers(1, 4))
        def give_back(self, pick: int, part: int) -> None:
            sales = [d for d in self.done if d["kind"] == "sale"]
            d = sales[pick % len(sales)]
            sold = -d["q"]
            q = (sold / part).quantize(MILLI)
            if q <= 0 or d["back"] + q > sold:
                if q > 0:
                    self._refused(lambda: self.inv.return_sold(d["id"], str(q)))
                return
            cost = -d["v"]
            value = rounded(cost * (d["back"] + q) / sold) - rounded(cost * d["back"] / sold)
            m = self.inv.return_sold(d["id"], str(q))
            assert m.value.amount == value
            d["back"] += q
            self.rows += 1
            self.model.add(d["key"], q, value)

        @precondition(lambda self: any(d["kind"] in ("receipt", "write_off", "transfer") for d in self.done))
        @rule(pick=st.integers(0, 1000))
        def reverse(self, pick: int) -> None:
            undoable = [d for d in self.done if d["kind"] in ("receipt", "write_off", "transfer")]
            d = undoable[pick % len(undoable)]
            parts = d.get("pair") or [(d["key"], d["q"], d["v"])]
            if any(q > 0 and self.model.get(key)[0] < q for key, q, _ in parts):
                self._refused(lambda: self.inv.reverse(d["id"], reason="mistake"))
                return
            before = {key: self.model.get(key) for key, _, _ in parts}
            self.inv.reverse(d["id"], reason="mistake")
            for key, q, v in parts:
                self.model.add(key, -q, -v)
                assert self.model.get(key) == (before[key][0] - q, before[key][1] - v)
            d["kind"] = "reversed"
            self.rows += len(parts)

        @invariant()
        def stock_matches_the_model_and_the_ledger(self) -> None:
            seen = {(s.sku, s.location): (s.on_hand, s.value.amount) for s in self.inv.stock()
                    if s.sku in self.skus}
            expected = {k: v for k, v in self.model.stock.items()}
            assert {k: seen.get(k, (0, 0)) for k in expected} == expected
            assert set(seen) <= set(expected)
            with crm.engine.connect() as conn:
                m = movements.c
                n = conn.scalar(select(func.count()).select_from(movements)
                                .where(m.product_id.in_([self.inv.product(s).id for s in self.skus])))
            assert n == self.rows, "a movement lost or applied twice"

    return Ledger


def test_the_ledger_against_an_independent_model(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    Inventory(crm).create_location("bar", "Bar")
    Inventory(crm).create_location("store", "Storage")
    changed: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if re.match(r"\s*(UPDATE|DELETE FROM)\s+\"?inventory_movements\b", statement, re.IGNORECASE):
            changed.append(statement)

    event.listen(crm.engine, "before_cursor_execute", watch)
    try:
        run_state_machine_as_test(machine(crm), settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
    finally:
        event.remove(crm.engine, "before_cursor_execute", watch)
    assert changed == []  # the ledger is append-only: no movement was ever updated or deleted

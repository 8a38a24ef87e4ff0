"""Helpers shared by the inventory tests (imported by each test_inventory_* module)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from crmkit import Crm, FrozenClock, User
from crmkit_inventory.sales import Bar
from crmkit_inventory.service import Inventory

MakeCrm = Callable[..., Crm]
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def enabled(make_crm: MakeCrm, clock: FrozenClock, *, plugins: tuple[str, ...] = ("inventory",),
            **settings: Any) -> Crm:
    """A deployment with the plugin enabled, the clock at :data:`START`."""
    clock.set(START)
    return make_crm(plugins=list(plugins), settings={"inventory": settings} if settings else {})


def user(crm: Crm, name: str = "ada", role: str = "admin") -> User:
    return crm.users.create(email=f"{name}@club.example", name=name.title(), role=role)


def stocked(crm: Crm, actor: int | None = None) -> Inventory:
    """Locations ``bar`` and ``store``, a supplier, and three products (water, a shake, nuts by weight)."""
    inv = Inventory(crm, actor)
    inv.create_location("bar", "Bar")
    inv.create_location("store", "Storage")
    inv.create_supplier("Aqua Ltd", "orders@aqua.example")
    inv.create_product(sku="WATER", name="Water 0.5 l", price="1.50", vat_rate="10", category="drinks")
    inv.create_product(sku="SHAKE", name="Protein shake", price="4.90", vat_rate="20", category="drinks",
                       barcode="4006381333931")
    inv.create_product(sku="NUTS", name="Mixed nuts", price="24.00", unit="kg", vat_rate="7", category="snacks")
    return inv


def bar(crm: Crm, actor: int | None = None) -> Bar:
    return Bar(crm, actor)

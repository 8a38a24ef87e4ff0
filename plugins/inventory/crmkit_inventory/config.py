"""The plugin's names and its ``[settings.inventory]`` (checked by crmkit at start: ``PluginInfo(settings=Config)``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal

import attrs

from crmkit import Crm

NAME = "inventory"
SELL, MANAGE = f"{NAME}.sell", f"{NAME}.manage"
LOW_STOCK_RULE = f"{NAME}.low_stock"
"""The ``rule`` of the low-stock tasks (one open task per product and location)."""


def _amount(instance: object, attribute: attrs.Attribute, value: str) -> None:  # type: ignore[type-arg]
    try:
        ok = Decimal(value).is_finite() and Decimal(value) >= 0
    except InvalidOperation:
        ok = False
    if not ok:
        raise ValueError(f"{attribute.name}: {value!r} is not an amount of 0 or more (write it as text: \"50.00\")")


@attrs.frozen
class Config:
    """``[settings.inventory]``.

    ``currency``: the bar's currency (default: the deployment's ``default_currency``);
    ``negative_stock``: ``"refuse"`` (default) refuses a movement that takes stock below zero, with
    the numbers; ``"allow"`` writes it and flags the movement (``negative: true``);
    ``tab_limit``: the credit limit of a member's new tab (text, e.g. ``"50.00"``);
    ``manager``: the e-mail of the bar manager, who gets the low-stock tasks (default: unassigned);
    ``task_due_hours``: when a low-stock task is due after it is created."""

    currency: str = ""
    negative_stock: Literal["refuse", "allow"] = "refuse"
    tab_limit: str = attrs.field(default="50.00", validator=_amount)
    manager: str = ""
    task_due_hours: int = attrs.field(default=24, validator=[attrs.validators.ge(0), attrs.validators.le(10_000)])


def config(crm: Crm) -> Config:
    """The deployment's settings of this plugin (parsed once at start)."""
    found: Config = crm.settings_of(NAME)
    return found


def currency(crm: Crm) -> str:
    """The bar's currency."""
    return (config(crm).currency or crm.settings.default_currency).upper()

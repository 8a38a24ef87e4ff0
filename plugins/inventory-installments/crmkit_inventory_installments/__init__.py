"""crmkit-inventory-installments: the glue of ``inventory`` and ``installments`` (enabled by itself
when both are): a member with an overdue installment cannot charge to the bar tab, and the tab's
limit shrinks by the overdue amount."""

from __future__ import annotations

__version__ = "0.1.0"

"""crmkit-fitness-installments: with fitness and installments both enabled, an overdue installment denies check-in."""

from __future__ import annotations

__version__ = "0.1.0"

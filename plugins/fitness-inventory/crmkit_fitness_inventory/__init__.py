"""crmkit-fitness-inventory: with fitness and inventory both enabled, bar sales per member segment show phases."""

from __future__ import annotations

__version__ = "0.1.0"

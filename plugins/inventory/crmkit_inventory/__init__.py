"""crmkit-inventory: the stock of a fitness bar or cafe.

Enable with ``plugins = ["inventory"]`` in crmkit.toml. The Python API is
:class:`~crmkit_inventory.service.Inventory` (``Inventory(crm, actor_id)``) for the catalogue and
the stock ledger, :class:`~crmkit_inventory.sales.Bar` for sales and member tabs,
:class:`~crmkit_inventory.counts.Counts` for stock counts, and :mod:`crmkit_inventory.reports`.
"""

from __future__ import annotations

__version__ = "0.1.0"

"""crmkit-fitness: a fitness club's member lifecycle.

Enable with ``plugins = ["fitness"]`` in crmkit.toml. The Python API: :class:`~crmkit_fitness.club.Club`
(``Club(crm, actor_id)``: catalogue, sales, freezes, classes, devices, check-ins);
the daily pass is :func:`~crmkit_fitness.lifecycle.daily_pass`; reports are in
:mod:`crmkit_fitness.reports`; the simulator in :mod:`crmkit_fitness.simulator`.
"""

from __future__ import annotations

__version__ = "0.1.0"

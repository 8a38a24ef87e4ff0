"""crmkit-installments: installment plans on deals and the "Installment control" pipeline.

Enable with ``plugins = ["installments"]`` in crmkit.toml. The Python API is
:class:`~crmkit_installments.service.Installments` (``Installments(crm, actor_id)``);
reports are in :mod:`crmkit_installments.reports`.
"""

from __future__ import annotations

__version__ = "0.1.0"

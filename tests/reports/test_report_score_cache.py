"""The learned win model is cached per deployment object: a closed deployment's entry goes with it
(an id() key could hand one tenant's model to the next Crm that reuses the address)."""

from __future__ import annotations

import weakref
from typing import Any

from crmkit.core.reports import scoring


def test_the_win_model_cache_goes_with_its_deployment(make_crm: Any) -> None:
    crm = make_crm()
    deal = crm.deals.create(title="Windows", amount="100.00")
    now = crm.clock.now()
    scoring.crm_score(crm=crm, entity_type="deal", ids=[deal.id], now=now)
    assert crm in scoring._CACHE
    other = make_crm()
    scoring.crm_score(crm=other, entity_type="deal", ids=[], now=now)
    assert crm in scoring._CACHE and other in scoring._CACHE  # one entry each
    assert isinstance(scoring._CACHE, weakref.WeakKeyDictionary)  # an entry lives as long as its Crm

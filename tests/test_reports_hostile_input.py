"""The funnel report refuses ids and times no query can hold (a ValidationError naming the
argument, not a database error) and works at the ends of the calendar."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crmkit import Crm, ValidationError
from crmkit.core.reports import funnel


def test_funnel_arguments_out_of_range_are_validation_errors(crm: Crm) -> None:
    crm.deals.create(title="x")
    plus14 = timezone(timedelta(hours=14))
    for kwargs, field in [
        ({"responsible_id": 2**64}, "responsible_id"), ({"responsible_id": 2**31}, "responsible_id"),
        ({"responsible_id": "²"}, "responsible_id"), ({"responsible_id": True}, "responsible_id"),
        ({"since": datetime(1, 1, 1, tzinfo=plus14)}, "since"),
        ({"until": datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=14)))}, "until"),
        ({"since": datetime(2026, 1, 1)}, "since"), ({"until": "2026-01-01"}, "until"),
    ]:
        with pytest.raises(ValidationError) as err:
            funnel(crm, "sales", **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs
    wide = funnel(crm, "sales", since=datetime.min.replace(tzinfo=timezone.utc),
                  until=datetime.max.replace(tzinfo=timezone.utc))
    assert wide.deals == 1

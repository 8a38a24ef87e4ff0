"""Settings (crmkit.toml), pipeline declarations, money and the JSON form of events."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from crmkit import ConfigError, Money, Settings, ValidationError
from crmkit.core.clock import FrozenClock, ensure_utc


def test_load_resolves_sqlite_path_next_to_the_config(tmp_path: Path):
    cfg = tmp_path / "crmkit.toml"
    cfg.write_text('database = "sqlite:///data/crm.db"\nplugins = ["example"]\n')
    s = Settings.load(cfg, environ={})
    assert s.database_url() == f"sqlite:///{tmp_path}/data/crm.db"
    assert s.plugins == ("example",)
    assert Settings.load(cfg, environ={"CRMKIT_PLUGINS": ""}).plugins == ()
    assert Settings.load(cfg, environ={"CRMKIT_DATABASE_URL": "sqlite://"}).database == "sqlite://"


def test_config_errors_are_clear(tmp_path: Path):
    with pytest.raises(ConfigError, match="no deployment config at"):
        Settings.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("plugins = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(bad)
    with pytest.raises(ConfigError, match="unknown setting\\(s\\) plugin;"):
        Settings.from_dict({"plugin": ["x"]}, environ={})
    with pytest.raises(ConfigError, match="stage 'won' declared twice"):
        Settings.from_dict({"pipelines": [{"key": "p", "stages": ["won", "won"]}]}, environ={})
    with pytest.raises(ConfigError, match="has kind 'closed'"):
        Settings.from_dict({"pipelines": [{"key": "p", "stages": [{"key": "a", "kind": "closed"}]}]}, environ={})


def test_removing_a_stage_that_holds_deals_is_refused(make_crm):
    crm = make_crm()
    crm.deals.create(title="Measured", stage="measurement_done")
    from tests.conftest import _template

    pipelines = _template()["pipelines"]
    sales = next(p for p in pipelines if p["key"] == "sales")
    sales["stages"] = [s for s in sales["stages"] if s["key"] != "measurement_done"]
    with pytest.raises(ConfigError, match="stage 'measurement_done' is no longer declared but still holds 1 card"):
        make_crm(pipelines=pipelines)
    # an empty stage can go; it is retired, not deleted (history keeps pointing at it)
    sales["stages"] = [s for s in sales["stages"] if s["key"] != "measurer_assigned"]
    sales["stages"].insert(4, {"key": "measurement_done"})
    crm2 = make_crm(pipelines=pipelines)
    assert "measurer_assigned" not in [s.key for s in crm2.pipeline("sales").stages]


def test_money_minor_units_round_trip():
    m = Money.parse("1234.5", "usd")
    assert (m.amount, m.currency, m.minor_units) == (Decimal("1234.50"), "USD", 123450)
    assert Money.from_minor(123450, "USD") == m
    assert Money.parse("7", "JPY").minor_units == 7
    with pytest.raises(ValidationError, match="not a decimal number"):
        Money.parse("12,50", "EUR")
    with pytest.raises(ValidationError, match="not a finite number"):
        Money.parse("NaN", "EUR")


def test_times_must_be_aware():
    assert ensure_utc(datetime(2026, 1, 1, 12, tzinfo=timezone.utc)).tzinfo is timezone.utc
    with pytest.raises(ValidationError, match="timezone-aware"):
        ensure_utc(datetime(2026, 1, 1, 12))
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=timezone.utc))
    clock.advance(days=1)
    assert clock.now() == datetime(2026, 3, 2, tzinfo=timezone.utc)


def test_every_event_is_json_serializable(crm, alice):
    me = crm.as_user(alice.id)
    co = me.companies.create(name="Glass LLC")
    c = me.contacts.create(first_name="Ann", phones=["+12125550100"], company_id=co.id, birthday="1990-05-01")
    d = me.deals.create(title="Windows", amount="99.99", contact_id=c.id,
                        custom={"measurement_date": "2026-01-07T12:00:00+00:00"})
    me.deals.lose(d.id, reason="no_response", reason_text="three calls")
    me.tasks.add(title="Call", entity_type="contact", entity_id=c.id)
    events = crm.timeline.all(limit=100).items
    assert {e.type for e in events} >= {"company.created", "contact.created", "deal.created", "deal.stage_changed",
                                        "task.created"}
    for e in events:
        back = json.loads(json.dumps(e.to_dict()))
        assert back["type"] == e.type
        assert back["actor_id"] == (None if e.type == "user.created" else alice.id)
    created = next(e for e in events if e.type == "contact.created")
    assert created.changes["birthday"] == {"before": None, "after": "1990-05-01"}
    lost = events[-2]
    assert lost.data["reason_label"] == "No response: three calls"

"""Plans on deals, the copy into Installment control, record rules, and the disabled plugin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import click
import pytest

from crmkit import ConfigError, FrozenClock, NotFoundError, PermissionDeniedError, ValidationError
from crmkit_installments.config import PIPELINE
from crmkit_installments.service import Installments

from installments_support import MakeCrm, control_stage, enabled, event_types, sold, user


def test_disabled_plugin_adds_no_tables_pipeline_jobs_routes_or_commands(make_crm: MakeCrm) -> None:
    from starlette.testclient import TestClient

    from crmkit.testing import auth_headers
    from crmkit.web import create_app

    crm = make_crm()
    assert not any(name.startswith("installments_") for name in crm.tables)
    with crm.engine.connect() as conn:
        assert not any(t.startswith("installments_") for t in conn.dialect.get_table_names(conn))
    assert PIPELINE not in [p.key for p in crm.pipelines]
    assert not any(j.name.startswith("installments.") for j in crm.jobs)
    cli = click.Group("crmkit")
    crm.pm.hook.crm_register_commands(cli=cli, crm=crm)
    assert "installments" not in cli.commands
    admin = crm.users.create(email="ada@windows.example", name="Ada", role="admin")
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        assert client.get("/api/v1/installments/reports/aging").status_code == 404


def test_enabled_plugin_declares_everything(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    assert {"installments_plans", "installments_items", "installments_payments",
            "installments_allocations"} <= set(crm.tables)
    control = crm.pipeline(PIPELINE)
    assert [(s.key, s.name, s.kind) for s in control.stages] == [
        ("waiting", "Waiting for payment", "open"), ("due_soon", "Due soon", "open"), ("overdue", "Overdue", "open"),
        ("paid_off", "Paid off", "won"), ("written_off", "Written off", "lost")]
    assert [j.name for j in crm.jobs if j.name.startswith("installments.")] == ["installments.check"]


def test_bad_settings_stop_the_start(make_crm: MakeCrm) -> None:
    with pytest.raises(ConfigError, match="due_soon_dayz"):
        make_crm(plugins=["installments"], settings={"installments": {"due_soon_dayz": 3}})
    with pytest.raises(ConfigError, match="check_every_minutes"):
        make_crm(plugins=["installments"], settings={"installments": {"check_every_minutes": 0}})


def test_plan_schedule_sums_exactly_and_waits_for_the_win(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm)
    deal, plan = sold(crm, mia.id, amount="1000.00", down="0.00", payments=3, start="2026-01-31", win=False)
    assert plan.status == "pending" and plan.control_deal_id is None
    assert [(i.due_date, i.amount.amount) for i in plan.items] == [
        (date(2026, 1, 31), Decimal("333.33")), (date(2026, 2, 28), Decimal("333.33")),
        (date(2026, 3, 31), Decimal("333.34"))]
    assert sum(i.amount.amount for i in plan.items) == plan.financed.amount == Decimal("1000.00")
    assert "installments.plan_created" in event_types(crm, deal.id)
    assert crm.deals.count(pipeline=PIPELINE) == 0


def test_winning_copies_the_deal_into_installment_control(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm)
    deal, plan = sold(crm, mia.id)
    assert plan.status == "active" and plan.control_deal_id is not None
    copy = crm.deals.get(plan.control_deal_id)
    assert (copy.pipeline, copy.stage, copy.origin_deal_id, copy.responsible_id) == (PIPELINE, "waiting", deal.id, mia.id)
    assert crm.deals.get(deal.id).status == "won"
    assert "deal.copied" in event_types(crm, deal.id)
    assert "installments.control_started" in event_types(crm, copy.id)
    assert Installments(crm, mia.id).plan(copy.id) == plan  # found through either card
    # winning again (reopened and won) makes no second copy
    crm.deals.move(deal.id, "contract_signed")
    crm.deals.win(deal.id)
    assert crm.deals.count(pipeline=PIPELINE) == 1


def test_a_deal_won_without_a_plan_stays_put(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    deal = crm.deals.create(title="Cash sale", amount="500.00")
    crm.deals.win(deal.id)
    assert crm.deals.count(pipeline=PIPELINE) == 0


def test_a_plan_on_an_already_won_deal_goes_to_control_at_once(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    deal = crm.deals.create(title="Forgot the plan", amount="900.00")
    crm.deals.win(deal.id)
    plan = Installments(crm).create_plan(deal.id, payments=9, dates=None, start="2026-02-10")
    assert plan.status == "active" and control_stage(crm, plan) == ("waiting", "open")


def test_plan_explicit_dates_and_checks(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inst = Installments(crm)
    deal = crm.deals.create(title="Windows", amount="100.00", currency="EUR")
    plan = inst.create_plan(deal.id, dates=["2026-02-01", "2026-02-15", "2026-04-01"], down_payment="10.00")
    assert [i.amount.amount for i in plan.items] == [Decimal("30.00"), Decimal("30.00"), Decimal("30.00")]
    assert plan.total.currency == "EUR"
    with pytest.raises(ValidationError, match=r"already has a plan; replace it \(--replace, or \"replace\": true in the API\)"):
        inst.create_plan(deal.id, payments=2)
    replaced = inst.create_plan(deal.id, payments=2, start="2026-03-01", replace=True)
    assert [i.amount.amount for i in replaced.items] == [Decimal("50.00"), Decimal("50.00")]
    other = crm.deals.create(title="Other", amount="100.00")
    for kwargs, field in [
        ({"payments": 2, "down_payment": "100.00"}, "down_payment"),
        ({"payments": 2, "total": "100.001"}, "total"),
        ({"payments": 2, "total": 100.5}, "total"),
        ({"payments": 2, "currency": "EUR"}, "currency"),
        ({"payments": 0}, "payments"),
        ({"payments": 20000}, "payments"),
        ({"payments": 2, "start": "2026-02-30"}, "start"),
        ({"dates": ["2026-03-01", "2026-02-01"]}, "dates"),
        ({"dates": ["2026-03-01"], "payments": 2}, "payments"),
        ({}, "payments"),
    ]:
        with pytest.raises(ValidationError) as err:
            inst.create_plan(other.id, **kwargs)
        assert err.value.field == field, (kwargs, err.value)
    no_amount = crm.deals.create(title="No amount")
    with pytest.raises(ValidationError, match="total"):
        inst.create_plan(no_amount.id, payments=2)


def test_record_rules_apply(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia, max_ = user(crm, "mia"), user(crm, "max")
    deal, plan = sold(crm, mia.id)
    theirs = Installments(crm, max_.id)
    for call in (lambda: theirs.plan(deal.id), lambda: theirs.record_payment(deal.id, "10.00"),
                 lambda: theirs.create_plan(deal.id, payments=2, replace=True)):
        with pytest.raises(NotFoundError, match=f"deal {deal.id} does not exist"):  # as if it were not there
            call()
    payment = Installments(crm, mia.id).record_payment(deal.id, "10.00")
    with pytest.raises(PermissionDeniedError, match="reverse"):  # managers record, heads reverse
        Installments(crm, mia.id).reverse_payment(payment.id, reason="typo")
    head = user(crm, "hanna", role="head")
    assert Installments(crm, head.id).reverse_payment(payment.id, reason="typo").reversed_by == head.id
    with pytest.raises(ValidationError, match="Installment control card"):
        Installments(crm, mia.id).create_plan(plan.control_deal_id or 0, payments=2)

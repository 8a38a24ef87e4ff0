"""The glue plugin: switched on with fitness and installments; an overdue installment denies check-in."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.testing import MakeCrm, auth_headers, check_plugin
from crmkit.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fitness" / "tests"))
from fitness_support import START, catalogue, fitness_worker, user  # noqa: E402

from crmkit_fitness.club import Club  # noqa: E402


def test_enabled_only_with_both_sides(make_crm: MakeCrm) -> None:
    assert make_crm(plugins=["fitness", "installments"]).pm.has_plugin("fitness_installments")
    assert not make_crm(plugins=["fitness"]).pm.has_plugin("fitness_installments")
    assert not make_crm(plugins=["installments"]).pm.has_plugin("fitness_installments")


def test_an_overdue_installment_denies_check_in_until_paid(make_crm: MakeCrm, clock: FrozenClock) -> None:
    clock.set(START)
    crm = make_crm(plugins=["fitness", "installments"])
    mia = user(crm)
    club = Club(crm, mia.id)
    catalogue(club)
    ann = club.services.contacts.create(first_name="Ann")
    deal = club.sell(ann.id, "year")
    headers = auth_headers(crm, mia.id)
    _, key = club.add_device("Door")
    device = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(crm)) as client:
        r = client.post(f"/api/v1/installments/plans/{deal.id}", headers=headers,
                        json={"payments": 3, "start": "2026-02-01", "down_payment": "90.00"})
        assert r.status_code == 201, r.text
        crm.as_user(mia.id).deals.win(deal.id)  # the membership is issued, the plan goes to control
        ok = client.post("/api/v1/fitness/checkins", headers=device, json={"event_id": "1", "member_id": ann.id})
        assert ok.json()["reason"] == "ok"
        clock.set(START + timedelta(days=30))  # 2026-02-04: the first payment is 3 days late
        worker = fitness_worker(crm)
        worker.jobs.update({k: v for k, v in __import__("crmkit").Worker(crm).jobs.items()
                            if k.startswith("installments.")})
        worker.run_once()
        denied = client.post("/api/v1/fitness/checkins", headers=device, json={"event_id": "2", "member_id": ann.id})
        assert (denied.json()["allowed"], denied.json()["reason"]) == (False, "installment_overdue")
        r = client.post(f"/api/v1/installments/plans/{deal.id}/payments", headers=headers, json={"amount": "200.00"})
        assert r.status_code == 201, r.text
        again = client.post("/api/v1/fitness/checkins", headers=device, json={"event_id": "3", "member_id": ann.id})
        assert again.json()["reason"] == "ok"


def test_conforms(db_url: str) -> None:
    check_plugin("fitness_installments", db_url)

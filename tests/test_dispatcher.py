"""After-commit delivery: at least once, per plugin, failures recorded and retried with backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crmkit import schema
from crmkit_testplugins import example


@pytest.fixture(autouse=True)
def _clear():
    example.DELIVERED.clear()
    yield
    example.DELIVERED.clear()


def test_events_are_delivered_after_commit(make_crm):
    crm = make_crm(plugins=["example"])
    deal = crm.deals.create(title="Bay window")
    crm.deals.move(deal.id, "proposal_sent")
    # the move also made the stage's automatic task: its event is delivered too, in log order
    assert [t for t, _ in example.DELIVERED] == ["deal.created", "deal.stage_changed", "task.created"]
    ids = [i for _, i in example.DELIVERED]
    assert ids == sorted(ids) and all(ids)


def test_plugin_failure_keeps_the_write_and_is_retried_with_backoff(make_crm, clock):
    crm = make_crm(plugins=["example"], settings={"example": {"fail_after_commit": True}})
    deal = crm.deals.create(title="Bay window")  # no exception reaches the caller
    assert crm.deals.get(deal.id).title == "Bay window"
    [failure] = crm.dispatcher.failures()
    assert failure.subscriber == "example" and failure.status == "retrying" and failure.attempts == 1
    assert "could not deliver event" in failure.last_error
    assert failure.next_attempt_at == clock.now() + timedelta(seconds=30)

    # not due yet: nothing is retried
    assert crm.dispatcher.retry_due().delivered == 0
    clock.advance(seconds=31)
    report = crm.dispatcher.retry_due()
    assert (report.delivered, report.failed) == (0, 1)
    [failure] = crm.dispatcher.failures()
    assert failure.attempts == 2 and failure.next_attempt_at == clock.now() + timedelta(seconds=60)

    # the plugin recovers (a fixed deployment: same database, plugin no longer failing)
    fixed = make_crm(plugins=["example"])
    fixed.clock.advance(seconds=61)  # the shared clock fixture
    report = fixed.dispatcher.retry_due()
    assert (report.delivered, report.failed) == (1, 0)
    assert [f.status for f in fixed.dispatcher.failures()] == ["delivered"]
    assert example.DELIVERED == [("deal.created", failure.event_id)]


def test_gives_up_after_max_attempts_and_can_be_requeued(make_crm, clock):
    crm = make_crm(plugins=["example"], settings={"example": {"fail_after_commit": True}})
    crm.dispatcher.max_attempts = 3
    crm.deals.create(title="Bay window")
    for _ in range(3):
        clock.advance(hours=2)
        crm.dispatcher.retry_due()
    [failure] = crm.dispatcher.failures()
    assert failure.status == "dead" and failure.attempts == 3
    clock.advance(hours=2)
    assert crm.dispatcher.retry_due().failed == 0  # dead ones wait for a human
    assert crm.dispatcher.requeue() == 1
    assert crm.dispatcher.failures()[0].status == "retrying"


def test_one_failing_plugin_does_not_block_another(make_crm):
    crm = make_crm(plugins=["example", "noop1"], settings={"example": {"fail_after_commit": True}})
    crm.deals.create(title="Bay window")
    with crm.engine.connect() as conn:
        cursors = dict(conn.execute(select(schema.event_cursors.c.subscriber, schema.event_cursors.c.last_event_id)).all())
    assert cursors["noop1"] == cursors["example"] > 0
    assert [f.subscriber for f in crm.dispatcher.failures()] == ["example"]


def test_worker_mode_delivers_on_demand_and_only_once(make_crm):
    crm = make_crm(plugins=["example"])
    crm.dispatcher.inline = False
    crm.deals.create(title="A")
    crm.deals.create(title="B")
    assert example.DELIVERED == []
    report = crm.dispatcher.deliver_pending()
    assert report.delivered == 2
    assert crm.dispatcher.deliver_pending().delivered == 0
    assert len(example.DELIVERED) == 2


def test_newly_enabled_plugin_starts_at_the_end_of_the_log(make_crm):
    crm = make_crm()
    crm.deals.create(title="Before the plugin")
    later = make_crm(plugins=["example"])
    assert later.dispatcher.deliver_pending().delivered == 0
    later.deals.create(title="After")
    assert [t for t, _ in example.DELIVERED] == ["deal.created"]


def test_bulk_paths_leave_delivery_to_the_worker(make_crm):
    from crmkit.core.worker import Worker

    crm = make_crm(plugins=["example"])
    crm.contacts.bulk_create([{"first_name": f"P{i}"} for i in range(30)])
    assert example.DELIVERED == []  # not 30 inline calls per plugin inside the import
    assert Worker(crm).run_once().delivered == 30
    assert [t for t, _ in example.DELIVERED] == ["contact.created"] * 30

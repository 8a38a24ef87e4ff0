"""``/metrics``: the Prometheus text format (parsed by prometheus_client), token-protected, and its
numbers move with what the deployment does: requests, the event log's backlog per subscriber,
failed deliveries, periodic job runs."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_api_helpers import Api, build_api

from crmkit import Worker
from crmkit.web.metrics import Registry

TOKEN = "metrics-token-for-tests-0123456789"
MONITORING = {"monitoring": {"metrics_token": TOKEN}}


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, by (name, sorted labels)."""
    r = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_and_histograms_move_with_requests(make_sqlite_crm: Any) -> None:
    api = build_api(make_sqlite_crm(settings=MONITORING))
    before = scrape(api)
    for title in ("one", "two", "three"):
        api.ok(api.post("/api/v1/deals", {"title": title}), 201)
    deal_id = api.ok(api.post("/api/v1/deals", {"title": "four"}), 201)["id"]
    api.ok(api.get(f"/api/v1/deals/{deal_id}"))
    api.error(api.get("/api/v1/deals/999999"), 404)
    after = scrape(api)
    created = dict(method="POST", route="/api/v1/deals", status="201", plugin="")
    assert value(after, "crmkit_http_requests_total", **created) - value(before, "crmkit_http_requests_total", **created) == 4
    one = dict(method="GET", route="/api/v1/deals/{id}")
    assert value(after, "crmkit_http_requests_total", **one, status="200", plugin="") == 1
    assert value(after, "crmkit_http_requests_total", **one, status="404", plugin="") == 1  # ids never in labels
    assert value(after, "crmkit_http_request_duration_seconds_count", **one) == 2
    assert value(after, "crmkit_http_request_duration_seconds_bucket", **one, le="+Inf") == 2
    assert value(after, "crmkit_http_request_duration_seconds_sum", **one) > 0
    assert value(after, "crmkit_database_up") == 1
    assert not [k for k in after if "999999" in str(k) or str(deal_id) in dict(k[1]).get("route", "")]


def test_unmatched_paths_share_one_label(make_sqlite_crm: Any) -> None:
    api = build_api(make_sqlite_crm(settings=MONITORING))
    for i in range(3):
        api.client.get(f"/api/v1/no-such-thing-{i}")
    samples = scrape(api)
    assert value(samples, "crmkit_http_requests_total", method="GET", route="<unmatched>", status="404", plugin="") == 3


def test_metrics_need_the_token_and_are_off_without_one(make_sqlite_crm: Any) -> None:
    api = build_api(make_sqlite_crm(settings=MONITORING))
    assert api.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api.client.get("/metrics").status_code == 401  # the API token is not the metrics token
    off = build_api(make_sqlite_crm())
    r = off.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404 and "metrics_token" in r.json()["error"]["message"]


def test_backlog_per_subscriber_failures_and_job_runs(make_crm: Any, clock: Any) -> None:
    crm = make_crm(plugins=["example"], settings={**MONITORING, "example": {"fail_after_commit": True}})
    api = build_api(crm)
    crm.dispatcher.inline = False  # events wait for the worker
    for title in ("a", "b"):
        api.ok(api.post("/api/v1/deals", {"title": title}), 201)
    samples = scrape(api)
    assert value(samples, "crmkit_event_backlog", subscriber="example") == 2
    assert value(samples, "crmkit_job_runs_total", job="core.overdue_tasks", plugin="core") == 0
    failed = value(samples, "crmkit_event_delivery_failures_total", subscriber="example")  # the admin's, inline

    Worker(crm).run_once()  # delivers (the plugin fails each) and runs the due jobs
    samples = scrape(api)
    assert value(samples, "crmkit_event_backlog", subscriber="example") == 0
    assert value(samples, "crmkit_event_delivery_failures_total", subscriber="example") == failed + 2
    assert value(samples, "crmkit_event_delivery_failures", subscriber="example", status="retrying") == failed + 2
    assert value(samples, "crmkit_job_runs_total", job="core.overdue_tasks", plugin="core") == 1
    assert value(samples, "crmkit_job_lag_seconds", job="core.overdue_tasks", plugin="core") == 0
    assert value(samples, "crmkit_worker_last_seen_timestamp_seconds") == clock.now().timestamp()

    clock.advance(timedelta(minutes=3))  # the job is due since 2 minutes and nobody runs it
    samples = scrape(api)
    assert value(samples, "crmkit_job_lag_seconds", job="core.overdue_tasks", plugin="core") == 120
    if crm.engine.dialect.name == "postgresql":
        assert value(samples, "crmkit_db_pool_size") >= 1


def test_processes_sharing_a_directory_are_added_up(tmp_path: Path) -> None:
    one, two = Registry(tmp_path, dump_every=0.05), Registry(tmp_path, dump_every=0.05)
    one.observe("GET", "/x", 200, "", 0.01)
    two.observe("GET", "/x", 200, "", 0.2)
    two.observe("POST", "/y", 201, "telephony", 0.02)
    two.dump()  # as its thread does about once a second; `one` reads it, and counts itself live
    # (both live in this one process, so its file is named as `one`'s own: rename it, as another pid's)
    (tmp_path / f"{os.getpid()}.json").rename(tmp_path / "4242.json")
    combined = one.combined()
    assert combined["requests"][("GET", "/x", "200", "")] == 2
    assert combined["requests"][("POST", "/y", "201", "telephony")] == 1
    assert sum(combined["latency"][("GET", "/x")][:-1]) == 2


def test_observing_is_safe_from_threads(tmp_path: Path) -> None:
    reg = Registry()
    threads = [threading.Thread(target=lambda: [reg.observe("GET", "/x", 200, "", 0.001) for _ in range(2000)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reg.combined()["requests"][("GET", "/x", "200", "")] == 8000

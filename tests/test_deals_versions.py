"""Optimistic concurrency on deal moves: a stale version is a conflict even when the deal is
already at the target stage (nothing would change, but the caller decided on an old card)."""

from __future__ import annotations

from typing import Any

import pytest
from test_api_helpers import build_api

from crmkit import ConflictError


def test_a_move_to_the_current_stage_with_a_stale_version_is_a_conflict(crm: Any) -> None:
    deal = crm.deals.create(title="Bay window")
    moved = crm.deals.move(deal.id, "proposal_sent", version=deal.version)
    assert moved.version == deal.version + 1
    with pytest.raises(ConflictError, match="changed by someone else") as err:
        crm.deals.move(deal.id, "proposal_sent", version=deal.version)
    assert err.value.field == "version"
    with pytest.raises(ConflictError):
        crm.deals.move(deal.id, "proposal_sent", pipeline="sales", version=deal.version)
    for same in (moved.version, str(moved.version)):  # the current version: nothing to do, nothing bumped
        again = crm.deals.move(deal.id, "proposal_sent", version=same)
        assert (again.stage, again.version) == ("proposal_sent", moved.version)
    assert len(crm.deals.history(deal.id)) == 2  # created, moved once


def test_the_api_answers_409_for_a_stale_if_match_on_a_move_to_the_current_stage(make_crm: Any) -> None:
    api = build_api(make_crm())
    deal = api.ok(api.post("/api/v1/deals", {"title": "D"}), 201)
    url = f"/api/v1/deals/{deal['id']}/move"
    api.ok(api.post(url, {"stage": "proposal_sent"}, headers={"If-Match": '"1"'}))
    api.error(api.post(url, {"stage": "proposal_sent"}, headers={"If-Match": '"1"'}), 409, "version")
    same = api.post(url, {"stage": "proposal_sent"}, headers={"If-Match": '"2"'})
    assert same.status_code == 200 and same.headers["etag"] == '"2"'

"""Deal and lead lists sorted by score (``order="score"`` / ``"-score"``): SDK, CLI and API,
within the record rules, paged without skips or repeats. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import insert

from crmkit import FrozenClock, ValidationError, schema
from crmkit.core.reports.scores_job import recompute_scores
from crmkit.testing import template

from conftest import NOW, rows, toml

NO_ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None}


def _all(svc: Any, order: str, limit: int = 3) -> list[int]:
    """Every card's id, page by page."""
    ids, cursor = [], None
    while True:
        page = svc.list(order=order, limit=limit, cursor=cursor)
        ids += [c.id for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            return ids


def _reference(crm: Any, visible: list[int], entity_type: str, desc: bool) -> list[int]:
    """``visible`` sorted by the stored lead_win score (unscored: -1), ties by id."""
    score = {s.entity_id: s.score for s in rows(crm, schema.scores)
             if s.entity_type == entity_type and s.model == "lead_win"}
    key = sorted(visible, key=lambda i: (score.get(i, -1.0), i))
    return key[::-1] if desc else key


def test_deals_by_score_sdk_cli_api(seeded: SimpleNamespace) -> None:
    from click.testing import CliRunner
    from starlette.testclient import TestClient

    from crmkit.cli import cli
    from crmkit.testing import auth_headers
    from crmkit.web import create_app

    crm = seeded.crm
    recompute_scores(crm, NOW)
    scored = {s.entity_id for s in rows(crm, schema.scores) if s.entity_type == "deal"}
    for user in (seeded.admin, seeded.m1, seeded.head):
        svc = crm.as_user(user.id).deals
        visible = _all(svc, "id", limit=500)
        assert scored & set(visible) and set(visible) - scored  # open (scored) and closed (unscored) deals
        for order in ("-score", "score"):
            want = _reference(crm, visible, "deal", order.startswith("-"))
            assert _all(svc, order) == want
    m1 = crm.as_user(seeded.m1.id).deals
    best_first = _reference(crm, _all(m1, "id", limit=500), "deal", True)
    out = CliRunner().invoke(cli, ["--config", seeded.config, "--as", seeded.m1.email, "--json", "deals", "list",
                                   "--order", "-score", "--limit", "500"], env=NO_ENV)
    assert out.exit_code == 0, out.output
    assert [d["id"] for d in json.loads(out.stdout)["items"]] == best_first
    client = TestClient(create_app(crm), headers=auth_headers(crm, seeded.m1.id))
    got, cursor = [], None
    while True:
        page = client.get("/api/v1/deals", params={"order": "-score", "limit": 4, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        got += [d["id"] for d in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert got == best_first
    for raw in ('{"x":1', "[12, 1]", "[0.5, 0]", "[1.5, 3]", "[-0.5, 3]", '[NaN, 3]', '["0.5", 3]', "[0.5, true]"):
        crafted = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        bad = client.get("/api/v1/deals", params={"order": "-score", "cursor": crafted})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor", (raw, bad.text)
    with pytest.raises(ValidationError) as err:
        m1.list(order="-score", cursor="WzEuMCwgMF0")  # [1.0, 0]: an id no card has
    assert err.value.field == "cursor"


def test_leads_by_score(make_crm: Any, clock: FrozenClock, db_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crmkit.cli import cli

    crm = make_crm()
    config = tmp_path / "crmkit.toml"
    config.write_text(toml({**template(), "database": db_url}))
    ids = [crm.leads.create(title=f"Request {i}", name=f"N {i}", phone=f"+1202555{2000 + i:04d}").id
           for i in range(7)]
    given = {ids[0]: 0.2, ids[2]: 0.9, ids[3]: 0.2, ids[5]: 0.55}  # a plugin's lead_win scores
    with crm.engine.begin() as conn:
        conn.execute(insert(schema.scores), [
            {"entity_type": "lead", "entity_id": i, "model": "lead_win", "score": s, "computed_at": clock.now()}
            for i, s in given.items()] + [
            {"entity_type": "deal", "entity_id": ids[1], "model": "lead_win", "score": 0.99, "computed_at": clock.now()},
            {"entity_type": "lead", "entity_id": ids[4], "model": "churn", "score": 0.99, "computed_at": clock.now()}])
    want = [ids[2], ids[5], ids[3], ids[0], ids[6], ids[4], ids[1]]  # best first; unscored last, ties by id
    assert _all(crm.leads, "-score", limit=2) == want
    assert _all(crm.leads, "score", limit=2) == want[::-1]
    out = CliRunner().invoke(cli, ["--config", str(config), "--json", "leads", "list", "--order", "-score"], env=NO_ENV)
    assert out.exit_code == 0, out.output
    assert [c["id"] for c in json.loads(out.stdout)["items"]] == want
    out = CliRunner().invoke(cli, ["--config", str(config), "leads", "list", "--order", "rank"], env=NO_ENV)
    assert out.exit_code != 0 and "--order" in out.output
    with pytest.raises(ValidationError) as err:
        crm.leads.list(order="-rank")
    assert err.value.field == "order"


def test_the_deal_list_page_shows_and_sorts_by_score(seeded: SimpleNamespace) -> None:
    import re

    from test_report_ui import _client

    crm = seeded.crm
    recompute_scores(crm, NOW)
    client = _client(seeded, seeded.m1)
    page = client.get("/deals", params={"order": "-score"})
    assert page.status_code == 200, page.text
    want = _reference(crm, _all(crm.as_user(seeded.m1.id).deals, "id", limit=500), "deal", True)[:50]
    assert [int(i) for i in re.findall(r'<td><a href="/deals/(\d+)">', page.text)] == want
    assert "Chance to win ▼" in page.text
    score = {s.entity_id: s.score for s in rows(crm, schema.scores) if s.entity_type == "deal"}
    shown = re.findall(r"<td>(\d+)%</td>", page.text)
    assert shown == [str(round(score[i] * 100)) for i in want if i in score] and shown

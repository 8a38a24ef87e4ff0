"""Deals by amount (issue 13): filters compare within one currency, sorting groups the currencies
(deals without an amount last) and pages never skip or repeat; ``crmkit pipelines`` shows how many
cards each stage holds and their amounts summed per currency."""

from __future__ import annotations

import json
from typing import Any

from test_api_helpers import Api, api  # noqa: F401  (fixture)
from test_cli import as_admin, cfg, deployment, fails, ok  # noqa: F401  (fixtures)

DEALS = [("a", "1200.50", None), ("b", "99.00", "EUR"), ("c", None, None), ("d", "5000", "JPY"),
         ("e", "1200.50", None), ("f", "15.00", None), ("g", "300.00", "EUR"), ("h", None, None)]


def _seed(api: Api) -> dict[str, int]:
    ids = {}
    for title, amount, currency in DEALS:
        body = {"title": title, **({"amount": amount} if amount else {}),
                **({"currency": currency} if currency else {})}
        ids[title] = api.ok(api.post("/api/v1/deals", body), 201)["id"]
    return ids


def _titles(api: Api, **params: Any) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.ok(api.get("/api/v1/deals", params=query))
        out += [d["title"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_sorting_and_filtering_by_amount_through_the_api(api: Api) -> None:
    _seed(api)
    # by currency (alphabetically), then amount, ties by id; no amount last -- page by page
    assert _titles(api, order="amount") == ["b", "g", "d", "f", "a", "e", "c", "h"]
    assert _titles(api, order="-amount") == ["g", "b", "d", "e", "a", "f", "h", "c"]
    # a filter compares in one currency: the deployment's (USD), the currency filter's, or the value's
    assert _titles(api, amount__gte="100") == ["a", "e"]
    assert _titles(api, amount__gte="100", currency="EUR") == ["g"]
    assert _titles(api, amount__lt="100 EUR") == ["b"]
    assert _titles(api, amount="1200.50", order="-id") == ["e", "a"]
    assert _titles(api, amount__in="15,1200.50", order="amount") == ["f", "a", "e"]
    assert _titles(api, amount__gte="1000 JPY", status="open") == ["d"]
    err = api.error(api.get("/api/v1/deals", params={"amount__gte": "12.345"}), 422, "amount__gte")
    assert err["message"] == "amount__gte: USD has 2 decimal places, 12.345 has more"
    api.error(api.get("/api/v1/deals", params={"amount__gte": "lots"}), 422, "amount__gte")
    api.error(api.get("/api/v1/deals", params={"amount__gte": "10 XYZ"}), 422, "amount__gte")
    api.error(api.get("/api/v1/deals", params={"order": "amount", "cursor": "bm90IGEgY3Vyc29y"}), 422, "cursor")


def test_the_cli_lists_by_amount_and_pipelines_sums_per_stage(as_admin: list[str]) -> None:
    cli = as_admin
    for title, amount, currency in DEALS:
        ok(*cli, "deals", "create", "--title", title, *(["--amount", amount] if amount else []),
           *(["--currency", currency] if currency else []))
    listed = json.loads(ok(*cli, "--json", "deals", "list", "--order", "-amount", "--limit", "3").stdout)
    assert [d["title"] for d in listed["items"]] == ["g", "b", "d"] and listed["next_cursor"]
    rest = json.loads(ok(*cli, "--json", "deals", "list", "--order", "-amount", "--cursor",
                         listed["next_cursor"]).stdout)
    assert [d["title"] for d in rest["items"]] == ["e", "a", "f", "h", "c"]
    between = json.loads(ok(*cli, "--json", "deals", "list", "--min-amount", "20", "--max-amount", "1200.50",
                            "--order", "amount").stdout)
    assert [d["title"] for d in between["items"]] == ["a", "e"]
    euros = json.loads(ok(*cli, "--json", "deals", "list", "--currency", "eur", "--min-amount", "100").stdout)
    assert [d["title"] for d in euros["items"]] == ["g"]
    fails(*cli, "deals", "list", "--order", "colour", contains="'colour' is not one of")

    ok(*cli, "deals", "move", "1", "proposal_sent")
    ok(*cli, "deals", "win", "5")
    ok(*cli, "leads", "create", "--title", "Web request")
    table = ok(*cli, "pipelines").stdout
    rows = {line.split()[1]: line for line in table.splitlines() if line[:1].isdigit()}
    pipelines = json.loads(ok(*cli, "--json", "pipelines").stdout)["pipelines"]
    stages = {p["key"]: {s["key"]: (s["cards"], s["amounts"]) for s in p["stages"]} for p in pipelines}
    assert stages["sales"]["collecting_data"] == (6, [
        {"amount": "399.00", "currency": "EUR"}, {"amount": "5000", "currency": "JPY"},
        {"amount": "15.00", "currency": "USD"}])
    assert stages["sales"]["proposal_sent"] == (1, [{"amount": "1200.50", "currency": "USD"}])
    assert stages["sales"]["won"] == (1, [{"amount": "1200.50", "currency": "USD"}])
    assert stages["sales"]["lost"] == (0, [])
    assert stages["leads"]["new"] == (1, [])
    assert "6      399.00 EUR, 5000 JPY, 15.00 USD" in rows["collecting_data"]

"""Messages in our words (issue 13): no regular expressions, no library's text, no list of every
parameter; rejecting a lead says so."""

from __future__ import annotations

from test_api_helpers import Api, api  # noqa: F401  (fixture)
from test_cli import as_admin, cfg, deployment, fails, ok  # noqa: F401  (fixtures)


def test_api_messages_are_in_our_words(api: Api) -> None:
    err = api.error(api.post("/api/v1/deals", {"title": "W", "amount": "12,50"}), 422, "amount")
    assert err["message"] == "amount: '12,50' is not a decimal amount such as 1200.50 (a point, no thousands separators)"
    err = api.error(api.post("/api/v1/deals", {"title": "W", "currency": "EURO"}), 422, "currency")
    assert err["message"] == "currency: 'EURO' is not a three-letter ISO 4217 currency code such as EUR"
    err = api.error(api.post("/api/v1/leads", {"title": "W", "source": "Web Form"}), 422, "source")
    assert "^" not in err["message"] and "a source name" in err["message"]
    err = api.error(api.get("/api/v1/deals", params={"cursor": "not a cursor!"}), 422, "cursor")
    assert err["message"] == "cursor: 'not a cursor!' is not a cursor from a previous page"

    for phone, why in (("abc", "is not a phone number"), ("+999 123", "has no country code we know after the +"),
                       ("1" * 30, "is too long for a phone number"), ("+1 212 555", "is not a valid phone number")):
        err = api.error(api.post("/api/v1/contacts", {"first_name": "Ann", "phones": [phone]}), 422, "phones[0]")
        assert err["message"] == f"phones[0]: {phone!r} {why}"

    err = api.error(api.get("/api/v1/deals", params={"stag": "won"}), 422, "stag")
    assert err["message"] == ("stag: unknown query parameter (did you mean stage or stage__in or status? every "
                              "parameter of this operation is in /api/v1/openapi.json)")
    err = api.error(api.get("/api/v1/deals", params={"colour": "red"}), 422, "colour")
    assert len(err["message"]) < 120 and "responsible_id__in" not in err["message"]

    lead = api.ok(api.post("/api/v1/leads", {"title": "Spam"}), 201)
    err = api.error(api.post(f"/api/v1/leads/{lead['id']}/reject", {}), 422, "reason")
    assert err["message"].startswith("reason: rejecting needs a reason (one of: too_expensive,")


def test_cli_messages_are_in_our_words(as_admin: list[str]) -> None:
    ok(*as_admin, "leads", "create", "--title", "Spam")
    fails(*as_admin, "leads", "reject", "1", contains="Error: reason: rejecting needs a reason (one of:")
    line = fails(*as_admin, "contacts", "create", "--first-name", "Ann", "--phone", "call me",
                 contains="phones[0]: 'call me' is not a phone number")
    assert "string supplied" not in line

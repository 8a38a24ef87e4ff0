"""Custom fields from crmkit.toml: validated on every write, filterable in lists."""

from __future__ import annotations

import pytest

from crmkit import ConfigError, ValidationError


@pytest.mark.parametrize(
    ("custom", "field", "message"),
    [
        ({"window_count": 0}, "window_count", "must be at least 1"),
        ({"window_count": "three"}, "window_count", "is not an integer"),
        ({"window_count": True}, "window_count", "got a boolean"),
        ({"customer_kind": "alien"}, "customer_kind", "is not one of person, legal_entity"),
        ({"measurement_date": "2026-01-05T10:00:00"}, "measurement_date", "must be timezone-aware"),
        ({"measurement_date": "next week"}, "measurement_date", "is not an ISO datetime"),
        ({"next_contact_date": "2026-02-30"}, "next_contact_date", "is not a date"),
        ({"installments": "maybe"}, "installments", "is not a boolean"),
        ({"colour": "red"}, "colour", "unknown custom field for deal"),
    ],
)
def test_bad_values_are_refused_naming_the_field(crm, custom, field, message):
    with pytest.raises(ValidationError, match=message) as err:
        crm.deals.create(title="Windows", custom=custom)
    assert err.value.field == field
    assert crm.deals.list().items == []


def test_values_are_stored_canonically(crm):
    deal = crm.deals.create(title="Windows", custom={
        "window_count": "4", "customer_kind": "person", "installments": "yes",
        "measurement_date": "2026-01-07T12:00:00+03:00", "next_contact_date": "2026-02-01",
    })
    assert deal.custom == {
        "window_count": 4, "customer_kind": "person", "installments": True,
        "measurement_date": "2026-01-07T09:00:00+00:00", "next_contact_date": "2026-02-01",
    }
    updated = crm.deals.update(deal.id, {"custom": {"window_count": None}})
    assert "window_count" not in updated.custom and updated.custom["customer_kind"] == "person"


def test_custom_fields_filter_lists(crm):
    for n, kind in [(1, "person"), (3, "legal_entity"), (8, "legal_entity")]:
        crm.deals.create(title=f"{n} windows", custom={"window_count": n, "customer_kind": kind})
    crm.deals.create(title="unknown")
    assert [d.title for d in crm.deals.list(customer_kind="legal_entity")] == ["3 windows", "8 windows"]
    assert [d.title for d in crm.deals.list(window_count__gte=3)] == ["3 windows", "8 windows"]
    assert [d.title for d in crm.deals.list(window_count__lt=3)] == ["1 windows"]
    assert [d.title for d in crm.deals.list(window_count__in=[1, 8])] == ["1 windows", "8 windows"]
    with pytest.raises(ValidationError, match="window_count: 'lots' is not an integer"):
        crm.deals.list(window_count="lots")


def test_decimal_phone_email_and_required_fields(make_crm):
    from tests.conftest import _template

    crm = make_crm(custom_fields={**_template()["custom_fields"], "contact": {
        "discount": {"type": "decimal", "min": 0, "max": 50},
        "office_phone": {"type": "phone"},
        "billing_email": {"type": "email", "required": True},
    }})
    with pytest.raises(ValidationError, match="billing_email: is required"):
        crm.contacts.create(first_name="Ann")
    c = crm.contacts.create(first_name="Ann", custom={
        "discount": "12.5", "office_phone": "(212) 555-0100", "billing_email": " Ann@Example.COM "})
    assert c.custom == {"discount": "12.5", "office_phone": "+12125550100", "billing_email": "ann@example.com"}
    with pytest.raises(ValidationError, match="discount: must be at most 50"):
        crm.contacts.update(c.id, {"custom": {"discount": "51"}})
    assert [x.id for x in crm.contacts.list(discount__gte="12")] == [c.id]
    assert crm.contacts.list(discount__gt="12.5").items == []


def test_bad_declarations_fail_at_start(make_crm):
    with pytest.raises(ConfigError, match="type 'colour' unknown"):
        make_crm(custom_fields={"deal": {"x": {"type": "colour"}}})
    with pytest.raises(ConfigError, match="a choice field needs choices"):
        make_crm(custom_fields={"deal": {"x": {"type": "choice"}}})
    with pytest.raises(ConfigError, match="custom field deal.priority is declared by both example and crmkit.toml"):
        make_crm(plugins=["example"], custom_fields={"deal": {"priority": {"type": "text"}}})

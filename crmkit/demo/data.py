"""The demo company's fixed material: its name, staff, customers' names, companies, channels and reasons."""

from __future__ import annotations

from typing import Mapping

COMPANY_NAME = "Bright Windows"
DOMAIN = "brightwindows.example"
DAYS = 42  # how far back the demo's history starts
MANAGERS = ("anna.lee", "david.kim", "sofia.rossi")
MEASURERS = ("tom.baker", "liam.novak")
STAFF: tuple[tuple[str, str, str, str | None], ...] = (  # e-mail name, full name, role, team
    ("olivia.grant", "Olivia Grant", "admin", None),
    ("marcus.reed", "Marcus Reed", "head", "sales"),
    ("anna.lee", "Anna Lee", "manager", "sales"),
    ("david.kim", "David Kim", "manager", "sales"),
    ("sofia.rossi", "Sofia Rossi", "manager", "sales"),
    ("victor.hale", "Victor Hale", "head", "measurers"),
    ("tom.baker", "Tom Baker", "manager", "measurers"),
    ("liam.novak", "Liam Novak", "manager", "measurers"),
)
FIRST = ("James Mary Robert Linda Michael Susan William Karen Richard Nancy Joseph Lisa Thomas Betty Daniel "
         "Sandra Matthew Ashley Mark Emily Paul Donna Steven Michelle Andrew Carol Kevin Amanda Brian Melissa").split()
LAST = ("Smith Johnson Brown Garcia Miller Davis Wilson Moore Taylor Anderson Thomas Jackson White Harris Martin "
        "Thompson Young Allen Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips").split()
STREETS = ("Pine St", "Maple Ave", "Cedar Ln", "Lakeview Dr", "Oak St", "Madison St", "Queen Anne Ave", "Fremont Ave")
COMPANIES: tuple[tuple[str, str, str], ...] = (  # name, address, e-mail domain
    ("Harbor View Hotel LLC", "1200 Alaskan Way, Seattle, WA 98101", "harborviewhotel.example"),
    ("Greenleaf Learning Center Inc.", "455 Elm St, Bellevue, WA 98004", "greenleaf.example"),
    ("Northgate Offices LLC", "10 Northgate Plaza, Seattle, WA 98125", "northgateoffices.example"),
    ("Maple Dental Clinic PLLC", "78 Maple Ave, Tacoma, WA 98402", "mapledental.example"),
    ("Riverside Apartments HOA", "300 River Rd, Renton, WA 98057", "riversidehoa.example"),
)
CHANNELS = ("web_form", "call", "email", "messenger")

# What the demo's crmkit.toml holds beyond the template: the website form of README's curl session.
CONFIG_EXTRA = """
# The website's contact form: POST /api/v1/forms/contact_us (no token) captures a lead.
[settings.forms.contact_us]
title = "Website request"
source = "web_form"
utm_source = "website"
"""
LEAD_TITLES: Mapping[str, str] = {
    "web_form": "Web form: quote for {n} windows",
    "call": "Call: replace {n} old windows",
    "email": "E-mail: {n} PVC windows with installation",
    "messenger": "Messenger: price for {n} tilt-and-turn windows",
}
REJECTIONS: tuple[tuple[str, str], ...] = (  # lost-reason key, text
    ("not_a_target_customer", "Wants only a repair of an old wooden frame"),
    ("not_a_target_customer", "Outside our service area (Spokane)"),
    ("no_response", "Three calls, two e-mails, no answer"),
    ("too_expensive", "Budget is half of our cheapest offer"),
    ("chose_a_competitor", "Already signed with another installer"),
    ("not_a_target_customer", "Looking for a job, not for windows"),
    ("no_response", "Wrong phone number, e-mail bounced"),
    ("not_a_target_customer", "Sells windows himself, asked for our prices"),
    ("too_expensive", "Wanted aluminium for the price of PVC"),
)
LOSSES: tuple[tuple[str, str], ...] = (  # lost-reason key, text
    ("too_expensive", "Found a cheaper offer"),
    ("chose_a_competitor", "The competitor could install next week"),
    ("no_response", "Stopped answering after the proposal"),
    ("too_expensive", "The bank did not approve the loan"),
    ("chose_a_competitor", ""),
)

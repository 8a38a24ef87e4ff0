"""FitClub CRM's demo data: a club's staff, members, enquiries and personal-training sales.

``seed(crm, now)`` fills an empty deployment made from the distribution (``crmkit init
--distribution fitclub DIR --demo``) through crmkit's public services only; the same ``now`` gives
the same data. Staff log in after ``crmkit users set-password``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from crmkit import Crm

DOMAIN = "fitclub.example"
STAFF = (
    ("maria.schulz", "Maria Schulz", "admin", None),
    ("jonas.weber", "Jonas Weber", "head", "sales"),
    ("lena.fischer", "Lena Fischer", "manager", "sales"),
    ("tim.becker", "Tim Becker", "manager", "sales"),
    ("sara.koch", "Sara Koch", "trainer", "trainers"),
    ("emre.yilmaz", "Emre Yilmaz", "trainer", "trainers"),
    ("nina.wolf", "Nina Wolf", "front_desk", None),
)
MEMBERS = (
    ("Anna", "Meyer", "weight_loss", "morning"), ("Lukas", "Hoffmann", "strength", "evening"),
    ("Sophie", "Wagner", "endurance", "midday"), ("Paul", "Schäfer", "mobility", "weekend"),
    ("Mia", "Bauer", "rehab", "morning"), ("Felix", "Richter", "strength", "evening"),
    ("Hannah", "Klein", "weight_loss", "evening"), ("Leon", "Neumann", "endurance", "morning"),
    ("Emma", "Schwarz", "mobility", "midday"), ("Noah", "Zimmermann", "strength", "weekend"),
)
ENQUIRIES = (
    ("Web form: trial session", "Julia Braun", "web_form"), ("Call: membership prices", "Max Krüger", "call"),
    ("Instagram: yoga classes", "Laura Hartmann", "messenger"), ("E-mail: corporate offer", "Jan Lange", "email"),
    ("Walk-in: sauna access", "Clara Werner", "manual"), ("Call: personal training", "David Schmitt", "call"),
)


def seed(crm: Crm, now: datetime, *, seed: int = 7) -> dict[str, int]:
    """Fill ``crm`` with the demo club; returns what it made, by kind."""
    rnd = random.Random(seed)
    staff = {login: crm.system.users.create(email=f"{login}@{DOMAIN}", name=name, role=role, team=team).id
             for login, name, role, team in STAFF}
    sellers = [crm.as_user(staff[k]) for k in ("lena.fischer", "tim.becker")]
    members = []
    for i, (first, last, goal, time) in enumerate(MEMBERS):
        me = sellers[i % 2]
        members.append(me.contacts.create(
            first_name=first, last_name=last, phones=[f"+49 30 {5550100 + i}"],
            emails=[f"{first.lower()}.{last.lower()}@mail.example".replace("ä", "ae").replace("ü", "ue")],
            custom={"goal": goal, "preferred_time": time}))
    for title, name, source in ENQUIRIES:
        crm.system.leads.create(title=title, name=name, phone=f"+49 30 {rnd.randint(5550200, 5550299)}",
                                source=source, responsible_id=staff["nina.wolf"])
    deals = 0
    for i, member in enumerate(members[:8]):
        me = sellers[i % 2]
        deal = me.deals.create(title=f"{member.first_name} {member.last_name}: 10 sessions",
                               amount=f"{rnd.choice((450, 520, 600, 780))}.00", contact_id=member.id,
                               custom={"sessions": 10})
        deals += 1
        stage = ("consultation", "offer_sent", "offer_sent", "paid")[i % 4]
        if stage != "consultation":
            deal = me.deals.move(deal.id, "offer_sent", version=deal.version)
        if stage == "paid":
            me.deals.win(deal.id)
    crm.system.tasks.add(title="Call back members whose membership ends this month",
                         assignee_id=staff["jonas.weber"], due_at=now + timedelta(days=2))
    return {"users": len(staff), "members": len(members), "enquiries": len(ENQUIRIES), "deals": deals}

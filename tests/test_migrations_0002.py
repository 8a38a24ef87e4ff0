"""The core's crmkit_0002 (archived cards, files, calendar feeds) upgrades a database at crmkit_0001
keeping every row, on SQLite and PostgreSQL; its downgrade keeps them too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text

from crmkit import Crm, FrozenClock, Settings
from crmkit.core.migrations import runner
from crmkit.testing import template

NEW_TABLES = {"crm_files", "crm_calendar_feeds"}
LATER_TABLES = {"crm_imports", "crm_import_rows", "crm_import_rejects", "crm_import_mappings", "crm_merges"}  # 0003
LATER_TABLES |= {"crm_messages", "crm_message_consent", "crm_message_templates", "crm_message_state",  # 0004
                 "crm_task_reminders", "crm_webhook_subscriptions", "crm_webhook_deliveries", "crm_campaigns",
                 "crm_inbound_messages"}
LATER_TABLES |= {"crm_customer_segments", "crm_scores"}  # 0005
CARD_TABLES = ("crm_leads", "crm_contacts", "crm_companies", "crm_deals", "crm_tasks")


def _rows(crm: Crm) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but alembic's, in the columns crmkit_0001 has."""
    with crm.engine.connect() as conn:
        out = {}
        for name in sorted(set(inspect(conn).get_table_names()) - NEW_TABLES - LATER_TABLES - {"alembic_version"}):
            columns = [c["name"] for c in inspect(conn).get_columns(name) if c["name"] != "archived_at"]
            query = text(f'SELECT {", ".join(columns)} FROM "{name}"')
            out[name] = sorted((tuple(r) for r in conn.execute(query)), key=repr)
        return out


def test_upgrading_from_the_previous_head_keeps_every_row(db_url: str, tmp_path: Any, clock: FrozenClock) -> None:
    settings = Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={})
    with Crm(settings, clock=clock) as crm:
        ada = crm.users.create(email="ada@w.example", name="Ada", role="admin")
        me = crm.as_user(ada.id)
        company = me.companies.create(name="Acme")
        contact = me.contacts.create(first_name="Jane", company_id=company.id, phones=["+12025550188"])
        lead = me.leads.create(title="Request", name="Jane")
        deal = me.deals.create(title="Windows", contact_id=contact.id, amount="10.00")
        me.deals.move(deal.id, "proposal_sent")
        me.tasks.add(title="Call", entity_type="deal", entity_id=deal.id, assignee_id=ada.id)
        me.notes.add("lead", lead.id, "called")
    with Crm(settings, clock=clock, setup=False) as crm:
        assert [s.revision for s in runner.downgrade(crm, "crmkit_0001")][-1] == "crmkit_0002"
        with crm.engine.connect() as conn:
            assert not NEW_TABLES & set(inspect(conn).get_table_names())
            assert "archived_at" not in {c["name"] for c in inspect(conn).get_columns("crm_deals")}
        before = _rows(crm)
        assert all(before[t] for t in CARD_TABLES) and before["crm_events"] and before["crm_stage_history"]

        assert [s.describe().split(" (")[0] for s in runner.upgrade(crm)][0] == "crmkit: applied crmkit_0002"
        assert runner.check(crm) == []
        assert _rows(crm) == before  # every row, as it was
    with Crm(settings, clock=clock) as crm:
        with crm.engine.connect() as conn:
            for table in CARD_TABLES:  # no existing card is archived by the upgrade
                assert set(conn.scalars(text(f'SELECT archived_at FROM "{table}"'))) == {None}
        assert [d.id for d in crm.deals.list()] == [deal.id]
        added = crm.as_user(ada.id).files.add("deal", deal.id, b"after the upgrade")
        assert [f.id for f in crm.system.files.of("deal", deal.id)] == [added.id]

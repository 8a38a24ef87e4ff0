"""The plugin, loaded through its entry point into a real Crm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from starlette.testclient import TestClient

from crmkit import Crm, PluginInfo, ValidationError, hookimpl
from crmkit.cli import cli
from crmkit.testing import auth_headers
from crmkit.web import create_app
from {{ cookiecutter.package_name }}.plugin import HANDED_OVER, NAME, OWNER, handovers

MakeCrm = Callable[..., Crm]


def test_loaded_through_its_entry_point(crm: Crm) -> None:
    assert crm.pm.has_plugin(NAME)
    assert f"{NAME}_handovers" in crm.tables
    assert crm.custom_fields.get("deal", OWNER) is not None


def test_not_loaded_unless_enabled(make_crm: MakeCrm) -> None:
    crm = make_crm(plugins=[])
    assert not crm.pm.has_plugin(NAME)
    assert f"{NAME}_handovers" not in crm.tables
    assert crm.custom_fields.get("deal", OWNER) is None


def test_winning_without_an_owner_is_vetoed(crm: Crm) -> None:
    deal = crm.deals.create(title="Windows for the Smiths", amount="1200.00")
    with pytest.raises(ValidationError, match=OWNER):
        crm.deals.win(deal.id)
    assert crm.deals.get(deal.id).status == "open"
    assert handovers(crm) == []


def test_owner_must_be_an_email(crm: Crm) -> None:
    with pytest.raises(ValidationError, match=OWNER):
        crm.deals.create(title="Windows", custom={OWNER: "not an address"})


def test_winning_hands_over_in_the_transaction_and_notifies_after_commit(crm: Crm, tmp_path: Path) -> None:
    deal = crm.deals.create(title="Windows for the Smiths", custom={OWNER: "Bob@Delivery.example"})
    crm.deals.win(deal.id)
    [handover] = handovers(crm)
    assert (handover.deal_id, handover.owner) == (deal.id, "bob@delivery.example")
    assert HANDED_OVER in [e.type for e in crm.timeline.of("deal", deal.id)]
    [line] = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert json.loads(line)["to"] == "bob@delivery.example"


def test_a_failed_notification_keeps_the_handover_and_is_retried(make_crm: MakeCrm, tmp_path: Path) -> None:
    (tmp_path / "blocked").mkdir()
    crm = make_crm(outbox="blocked")  # a directory: writing the notification fails
    deal = crm.deals.create(title="Windows", custom={OWNER: "bob@delivery.example"})
    crm.deals.win(deal.id)
    assert crm.deals.get(deal.id).status == "won"
    assert len(handovers(crm)) == 1
    [failure] = crm.dispatcher.failures()
    assert (failure.subscriber, failure.status) == (NAME, "retrying")


class Installers:
    """Another plugin, implementing this plugin's own hook."""

    plugin_info = PluginInfo(name="installers", version="1", requires=(NAME,))

    def __init__(self, refuse: str = "") -> None:
        self.refuse, self.seen = refuse, []

    @hookimpl
    def {{ cookiecutter.plugin_name }}_handed_over(self, deal_id: int, owner: str) -> None:
        if owner == self.refuse:
            raise ValidationError(f"{owner} installs nothing this month")
        self.seen.append((deal_id, owner))


def test_other_plugins_get_its_own_hook_in_the_transaction(make_crm: MakeCrm) -> None:
    installers = Installers(refuse="busy@delivery.example")
    crm = make_crm(extra=[installers])
    deal = crm.deals.create(title="Windows", custom={OWNER: "bob@delivery.example"})
    crm.deals.win(deal.id)
    assert installers.seen == [(deal.id, "bob@delivery.example")]
    refused = crm.deals.create(title="Doors", custom={OWNER: "busy@delivery.example"})
    with pytest.raises(ValidationError, match="installs nothing"):
        crm.deals.win(refused.id)
    assert crm.deals.get(refused.id).status == "open"  # the hook's veto rolled the whole win back
    assert [h.deal_id for h in handovers(crm)] == [deal.id]


def test_the_api_lists_the_handovers_a_user_may_read(crm: Crm) -> None:
    anna = crm.users.create(email="anna@windows.example", name="Anna", role="manager")
    bob = crm.users.create(email="bob@windows.example", name="Bob", role="manager")
    won = {}
    for user in (anna, bob):
        deal = crm.as_user(user.id).deals.create(title="Windows", custom={OWNER: "fitter@delivery.example"})
        crm.as_user(user.id).deals.win(deal.id)
        won[user.id] = deal.id
    with TestClient(create_app(crm), headers=auth_headers(crm, anna.id)) as client:
        got = client.get(f"/api/v1/{NAME}/handovers")
        assert got.status_code == 200, got.text
        assert [h["deal_id"] for h in got.json()["items"]] == [won[anna.id]]  # not Bob's deal
        bad = client.get(f"/api/v1/{NAME}/handovers", params={"limit": "0"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"
        documented = client.get("/api/v1/openapi.json").json()["paths"][f"/api/v1/{NAME}/handovers"]["get"]
        assert [p["name"] for p in documented["parameters"]] == ["limit"]


def test_cli_lists_handovers(crm: Crm) -> None:
    deal = crm.deals.create(title="Windows", custom={OWNER: "bob@delivery.example"})
    crm.deals.win(deal.id)
    cli = click.Group("crmkit")
    crm.pm.hook.crm_register_commands(cli=cli, crm=crm)
    result = CliRunner().invoke(cli, [NAME, "list"])
    assert result.exit_code == 0, result.output
    assert f"deal {deal.id} -> bob@delivery.example" in result.output


def test_its_migrations_make_its_tables_and_undo_them(tmp_path: Path) -> None:
    """`crmkit db upgrade` makes exactly the tables the models describe; a downgrade drops them."""
    database = f"sqlite:///{(tmp_path / 'migrated.db').as_posix()}"
    config = tmp_path / "crmkit.toml"
    config.write_text(f'database = "{database}"\nplugins = ["{NAME}"]\n')

    def db(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--config", str(config), "db", *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert f"{NAME}: applied" in db("upgrade")
    assert "No drift" in db("check")
    db("downgrade", f"{NAME}@base", "--yes")
    engine = create_engine(database)
    try:
        assert f"{NAME}_handovers" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()

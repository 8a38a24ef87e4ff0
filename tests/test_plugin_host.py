"""The plugin host: enablement by config, requirements, API ranges, hook names, isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from crmkit import Crm, PluginError, Settings
from crmkit.core.plugins import installed_plugins


def names(crm: Crm) -> set[str]:
    return {name for name, _ in crm.pm.list_name_plugin() if not name.startswith("crmkit.")}


def test_installed_but_not_enabled_is_not_loaded(make_crm):
    assert "example" in installed_plugins()
    crm = make_crm()
    assert names(crm) == set()
    assert "example_audit" not in inspect(crm.engine).get_table_names()
    assert crm.custom_fields.get("deal", "priority") is None
    assert "support" not in {p.key for p in crm.pipelines}


def test_enabled_plugin_gets_hooks_tables_fields_pipelines(make_crm):
    crm = make_crm(plugins=["example"])
    assert names(crm) == {"example"}
    assert "example_audit" in inspect(crm.engine).get_table_names()
    assert crm.custom_fields.get("deal", "priority") is not None
    assert [s.key for s in crm.pipeline("support").stages] == ["open", "solved", "dropped"]


def test_env_var_overrides_plugins_list(make_crm):
    crm = make_crm(plugins=["example"], environ={"CRMKIT_PLUGINS": ""})
    assert names(crm) == set()
    crm = make_crm(plugins=[], environ={"CRMKIT_PLUGINS": "example, greeter"})
    assert names(crm) == {"example", "greeter"}


def test_unknown_plugin_names_what_is_installed(make_crm):
    with pytest.raises(PluginError) as err:
        make_crm(plugins=["acounting"])
    msg = str(err.value)
    assert "acounting" in msg and "not installed" in msg and "example 0.1.0" in msg


def test_missing_requirement_is_refused_with_a_clear_message(make_crm):
    with pytest.raises(PluginError, match=r"needs_missing requires plugin accounting: accounting is not installed"):
        make_crm(plugins=["needs_missing"])


def test_requirement_installed_but_not_enabled(make_crm):
    with pytest.raises(PluginError, match=r"greeter requires plugin example: example is installed but not enabled"):
        make_crm(plugins=["greeter"])


def test_requirements_load_first_whatever_the_order(make_crm):
    crm = make_crm(plugins=["greeter", "example"])
    order = [crm.pm.get_name(p) for p in crm.plugins]
    assert order.index("example") < order.index("greeter")


def test_incompatible_api_range_is_refused(make_crm):
    with pytest.raises(PluginError, match=r"old_api 0.9.0 supports crmkit hook API >=0.1,<1.0, but this crmkit provides API 1.0"):
        make_crm(plugins=["old_api"])


def test_misspelled_hook_is_refused_at_start(make_crm):
    with pytest.raises(PluginError) as err:
        make_crm(plugins=["misspelled_hook"])
    assert "misspelled_hook implements a hook that does not exist" in str(err.value)
    assert "crm_on_event" in str(err.value) and "crm_on_events" in str(err.value)


def test_each_crm_has_its_own_plugin_manager(make_crm):
    with_plugin = make_crm(plugins=["example"])
    without = make_crm()
    assert with_plugin.pm is not without.pm
    assert with_plugin.has_impls("crm_event_committed") and not without.has_impls("crm_event_committed")
    assert [i.plugin_name for i in without.pm.hook.crm_validate.get_hookimpls()] == ["crmkit.transfer", "crmkit.automation"]


def test_plugin_published_hookspecs_are_implemented_by_another_plugin(make_crm):
    crm = make_crm(plugins=["example", "greeter"])
    deal = crm.deals.create(title="Bay window")
    from sqlalchemy import select

    from crmkit_testplugins.example import audit

    with crm.engine.connect() as conn:
        greetings = conn.execute(select(audit.c.greeting).where(audit.c.deal_id == deal.id)).scalars().all()
    assert greetings == [f"hello deal {deal.id}"]


def test_in_process_plugin_objects_for_embedding():
    class Inline:
        from crmkit import PluginInfo, hookimpl

        plugin_info = PluginInfo(name="inline", version="1")
        seen: list[str] = []

        @hookimpl
        def crm_on_events(self, tx, events):
            self.seen.extend(e.type for e in events)

    plugin = Inline()
    crm = Crm(Settings.from_dict({"database": "sqlite://"}, environ={}), plugins=[plugin])
    crm.users.create(email="x@example.com", name="X")
    assert plugin.seen == ["user.created"]

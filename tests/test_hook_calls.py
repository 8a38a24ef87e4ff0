"""Hooks are called one way (crmkit.core.hookcall): an implementation may take any subset of a
hook's arguments -- of every kind of hook, wherever crmkit calls it (start-up, the web app's route
collector, the CLI, the dispatcher, the worker); the core's own periodic job arrives through the
same hook; ``CRMKIT_TRACE_HOOKS=1`` / ``crmkit --trace-hooks`` log every call."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crmkit import Crm, FrozenClock, PeriodicJob, PluginInfo, Settings, ValidationError, Worker, hookimpl, hookspec
from crmkit.core.hookcall import call_hook
from crmkit.testing import MakeCrm, auth_headers, template
from crmkit.web import create_app
from crmkit_testplugins import fewer_args

from test_cli import ok
from test_cli_plugins import enable


def calls(hook: str) -> list[Any]:
    return [what for name, what in fewer_args.CALLS if name == hook]


def test_every_kind_of_hook_takes_fewer_arguments(make_crm: MakeCrm, clock: FrozenClock) -> None:
    fewer_args.CALLS.clear()
    crm = make_crm(plugins=["fewer_args"])
    # registration hooks, at start
    assert calls("crm_register_tables") and calls("crm_register_pipelines") == [None]
    assert crm.custom_fields.get("deal", "fewer_args_flag") is not None
    assert "fewer_args.use" in crm.roles["admin"].permissions or crm.roles["admin"].permissions == {"*"}
    assert "fewer_args.tick" in {j.name for j in crm.jobs}
    # in-transaction hooks and the after-commit hook (the dispatcher's per-plugin caller)
    crm.deals.create(title="Bay window", custom={"fewer_args_flag": True})
    assert calls("crm_validate") == [["deal.created"]] and calls("crm_on_events") == [None]
    assert calls("crm_event_committed") == ["deal.created"]
    # the route collector of the web app (it called impl.function(crm=crm): a TypeError then)
    admin = crm.users.create(email="ada@windows.example", name="Ada", role="admin")
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        assert client.get("/api/v1/fewer_args/ping").json() == {"pong": True}
    # the worker runs the job it registered without arguments
    clock.advance(timedelta(hours=2))
    assert "fewer_args.tick" in Worker(crm).run_once().ran and calls("job")


def test_plugin_command_registered_without_the_crm_argument(db_url: str, tmp_path: Path) -> None:
    ok("init", str(tmp_path / "crm"), "--database", db_url)
    config = tmp_path / "crm" / "crmkit.toml"
    enable(config, "fewer_args")
    assert ok("--config", str(config), "fewer-args-hello").stdout.strip() == "hello from fewer_args"


def test_core_periodic_job_is_registered_through_the_hook(crm: Crm) -> None:
    registered = dict(call_hook(crm.pm, "crm_register_periodic_jobs", crm=crm))
    assert set(registered) == {"crmkit.default_jobs", "crmkit.messaging"}
    assert "overdue_tasks" in [j.name for j in registered["crmkit.default_jobs"]]
    assert [j.name for j in registered["crmkit.messaging"]] == ["messages", "webhooks", "reminders", "campaigns",
                                                                "campaign_triggers"]  # crmkit.messages' jobs
    names = [j.name for j in crm.jobs]
    assert {"core.overdue_tasks", "core.messages", "core.webhooks"} <= set(names)
    impls = crm.pm.hook.crm_register_periodic_jobs.get_hookimpls()
    assert {i.plugin_name for i in impls} == {"crmkit.default_jobs", "crmkit.messaging"} and all(i.trylast for i in impls)


class _Answers:
    """An in-process plugin publishing a firstresult hook and answering it."""

    class Specs:
        @hookspec(firstresult=True)
        def answers_who(self, number: str) -> str | None:
            """Who has ``number`` (the first answer wins)."""

    def __init__(self, name: str, answer: str | None) -> None:
        self.plugin_info = PluginInfo(name=name, version="1", hookspecs=_Answers.Specs if name == "a1" else None)
        self.answer = answer

    @hookimpl
    def answers_who(self) -> str | None:
        return self.answer


def test_call_hook_names_each_plugin_and_honours_firstresult() -> None:
    crm = Crm(Settings.from_dict({"database": "sqlite://"}, environ={}),
              plugins=[_Answers("a1", "ann"), _Answers("a2", None), _Answers("a3", "bob")])
    try:
        assert call_hook(crm.pm, "answers_who", number="+1") == [("a3", "bob")]  # last registered first
        assert crm.pm.hook.answers_who(number="+1") == "bob"  # pluggy's own answer: the same
        with pytest.raises(TypeError, match="answers_who called without number"):
            call_hook(crm.pm, "answers_who")
    finally:
        crm.close()


# -- tracing ---------------------------------------------------------------------------------


class _Veto:
    plugin_info = PluginInfo(name="veto", version="1")

    @hookimpl
    def crm_validate(self, events: Any) -> None:
        if any(e.type == "deal.created" and e.after("title") == "no" for e in events):
            raise ValidationError("title: vetoed", field="title")

    @hookimpl
    def crm_register_periodic_jobs(self) -> list[PeriodicJob]:
        return []


def trace_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "crmkit.hooks"]


def test_trace_hooks_logs_plugin_hook_duration_and_outcome(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crmkit.hooks")
    monkeypatch.setenv("CRMKIT_TRACE_HOOKS", "1")
    crm = Crm(Settings.from_dict({**template(), "database": "sqlite://"}, environ={}), plugins=[_Veto()])
    try:
        with pytest.raises(ValidationError):
            crm.deals.create(title="no")
        crm.deals.create(title="yes")
    finally:
        crm.close()
    lines = trace_lines(caplog)
    jobs = [line for line in lines if line.startswith("crm_register_periodic_jobs ")]
    assert [line.split()[1] for line in jobs] == ["veto", "crmkit.default_jobs", "crmkit.messaging"]  # one per plugin
    assert all(" ms ok" in line for line in jobs) and jobs[1].endswith("ok (1 result)")
    assert any(line.startswith("crm_register_roles - ") and line.endswith("ok (no implementation)") for line in lines)
    validate = [line for line in lines if line.startswith("crm_validate ")]
    assert validate[0].split()[1] == "veto,crmkit.automation,crmkit.transfer"
    assert validate[0].endswith("raised ValidationError: title: vetoed") and validate[1].endswith("ok (0 results)")


def test_no_trace_by_default(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crmkit.hooks")
    monkeypatch.delenv("CRMKIT_TRACE_HOOKS", raising=False)
    Crm(Settings.from_dict({"database": "sqlite://"}, environ={})).close()
    monkeypatch.setenv("CRMKIT_TRACE_HOOKS", "0")
    Crm(Settings.from_dict({"database": "sqlite://"}, environ={})).close()
    assert trace_lines(caplog) == []


def test_cli_trace_hooks_flag(db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crmkit.hooks")
    ok("init", str(tmp_path / "crm"), "--database", db_url)
    config = tmp_path / "crm" / "crmkit.toml"
    enable(config, "fewer_args")
    caplog.clear()
    assert ok("--config", str(config), "--trace-hooks", "fewer-args-hello").stdout.strip() == "hello from fewer_args"
    lines = trace_lines(caplog)
    assert any(line.startswith("crm_register_commands fewer_args ") for line in lines)
    caplog.clear()
    ok("--config", str(config), "deals", "list")  # the flag does not outlive its invocation
    assert trace_lines(caplog) == []

"""The public plugin API and the test that keeps plugins on it.

Public: ``crmkit`` (its ``__all__``) and the modules ``crmkit.events``, ``crmkit.web``, ``crmkit.cli``
and ``crmkit.testing`` (theirs). Every import statement of ``plugins/*`` and of a plugin freshly
generated from ``cookiecutter-plugin/`` is read (ast, nothing run); an import of anything else of
crmkit fails the test, naming the file, the line and the public name to use when there is one.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter
from starlette.routing import Route
from starlette.testclient import TestClient

import crmkit
from crmkit import ConfigError, PluginInfo, events, hookimpl
from crmkit.core.boundary import PUBLIC_MODULES, private_imports, python_files
from crmkit.testing import MakeCrm, auth_headers
from crmkit.web import BadGateway, ServiceUnavailable, create_app

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if p.is_dir() and list(p.glob("**/*.py")))

# Known exceptions ("<path>:<line>: <problem>" as the test reports it): none, and it should stay so.
KNOWN_PRIVATE_IMPORTS: frozenset[str] = frozenset()


@pytest.mark.parametrize("plugin", PLUGINS, ids=[p.name for p in PLUGINS])
def test_our_plugins_import_only_the_public_api(plugin: Path) -> None:
    found = private_imports(python_files(plugin), root=ROOT)
    unexpected = [p for p in found if p not in KNOWN_PRIVATE_IMPORTS]
    assert not unexpected, "imports past crmkit's public API:\n" + "\n".join(unexpected)


def test_the_known_exceptions_still_exist() -> None:
    """An entry of KNOWN_PRIVATE_IMPORTS whose import is gone must leave the list (it only shrinks)."""
    found = {p for plugin in PLUGINS for p in private_imports(python_files(plugin), root=ROOT)}
    assert sorted(KNOWN_PRIVATE_IMPORTS - found) == []


def test_a_generated_plugin_imports_only_the_public_api(tmp_path: Path) -> None:
    project = Path(cookiecutter(str(ROOT / "cookiecutter-plugin"), no_input=True, output_dir=str(tmp_path),
                                extra_context={"plugin_name": "handover"}))
    files = python_files(project)
    assert any(f.name == "plugin.py" for f in files)
    assert private_imports(files, root=tmp_path) == []


def test_the_checker_finds_every_way_past_the_api(tmp_path: Path) -> None:
    source = tmp_path / "plugin.py"
    source.write_text(
        "import crmkit\n"
        "import crmkit.core.services\n"
        "from crmkit import ValidationError, core\n"
        "from crmkit.web import read_json_body, errors\n"
        "from crmkit.web.errors import BadGateway\n"
        "from crmkit.events import DEAL_CREATED\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from crmkit.core.app import Crm\n"
        "x = crmkit.core.worker.Worker\n"
        "y = crmkit.events.TASK_OVERDUE, crmkit.web.public, crmkit.Money\n"
    )
    assert private_imports([source], root=tmp_path) == [
        "plugin.py:2: `import crmkit.core.services`: crmkit.core.services is internal",
        "plugin.py:3: `from crmkit import core`: core is not in crmkit's public API",
        "plugin.py:4: `from crmkit.web import errors`: errors is not in crmkit.web's public API",
        "plugin.py:5: `from crmkit.web.errors import BadGateway`: crmkit.web.errors is internal "
        "(public: `from crmkit.web import BadGateway`)",
        "plugin.py:9: `from crmkit.core.app import Crm`: crmkit.core.app is internal (public: `from crmkit import Crm`)",
        "plugin.py:10: `crmkit.core.worker.Worker`: core is not in crmkit's public API",
    ]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_exists(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in imported.__all__ if not hasattr(imported, name)]
    assert not missing


def test_what_a_plugin_needs_is_public() -> None:
    needed = {"Crm", "Services", "Tx", "Worker", "Event", "events", "Page", "check_limit", "id_cursor", "MAX_PAGE",
              "check_text", "check_characters", "check_id", "normalize_phone", "normalize_email", "ensure_utc",
              "Clock", "SystemClock", "FrozenClock", "ValidationError", "NotFoundError", "ConflictError",
              "PermissionDeniedError", "ConfigError", "PluginError", "CrmError", "PluginInfo", "hookimpl", "hookspec",
              "schema", "UTCDateTime", "Money", "to_dict"}
    assert needed <= set(crmkit.__all__)
    assert {"public", "request_user_id", "request_services", "read_json_body", "BadRequest", "BadGateway",
            "ServiceUnavailable", "TooManyRequests"} <= set(crmkit.web.__all__)
    assert {"invocation", "cli"} <= set(importlib.import_module("crmkit.cli").__all__)
    assert {"make_crm", "db_url", "clock", "crm", "check_plugin", "auth_headers"} <= set(
        importlib.import_module("crmkit.testing").__all__)


def _emitted_types() -> set[str]:
    """Every event type the core passes to ``tx.emit`` as a literal or a module-level constant
    (those built by f-strings or dicts are listed by hand below)."""
    found: set[str] = set()
    for path in python_files(ROOT / "crmkit"):
        tree = ast.parse(path.read_text())
        constants = {}
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    names = target.elts if isinstance(target, ast.Tuple) else [target]
                    values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                    for name, value in zip(names, values):
                        if isinstance(name, ast.Name) and isinstance(value, ast.Constant):
                            constants[name.id] = value.value
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit" \
                    and node.args:
                first = node.args[0]
                value = first.value if isinstance(first, ast.Constant) else \
                    constants.get(first.id) if isinstance(first, ast.Name) else None
                if isinstance(value, str):
                    found.add(value)
    return found


def test_every_event_type_the_core_emits_is_a_constant() -> None:
    emitted = _emitted_types()
    assert len(emitted) > 20
    cards = ("lead", "contact", "company", "deal", "task")
    # built by f-strings: "<card>.shared" (services/base.py), "task.completed|cancelled" (services/tasks.py);
    # and by a dict: "<card>.archived|restored|deleted" (services/archive.py)
    emitted |= {f"{e}.shared" for e in cards} | {"task.completed", "task.cancelled"}
    emitted |= {f"{e}.{action}" for e in cards for action in ("archived", "restored", "deleted")}
    assert sorted(emitted - events.CORE_TYPES) == []
    assert events.DEAL_STAGE_CHANGED == "deal.stage_changed" and "DEAL_STAGE_CHANGED" in events.__all__


# -- HTTP errors a plugin route may answer -----------------------------------------------------


class _Upstream:
    plugin_info = PluginInfo(name="upstream", version="1")

    @hookimpl
    def crm_register_routes(self) -> list[Any]:
        def raising(exc: Exception) -> Any:
            async def endpoint(request: Any) -> Any:
                raise exc
            return endpoint

        return [Route("/gateway", raising(BadGateway("the provider did not answer")), methods=["GET"]),
                Route("/unavailable", raising(ServiceUnavailable("calls are not configured")), methods=["GET"]),
                Route("/misconfigured", raising(ConfigError("secret key /etc/x is unreadable")), methods=["GET"])]


def test_a_plugin_route_answers_502_and_503(make_crm: MakeCrm) -> None:
    crm = make_crm()
    crm_with = type(crm)(crm.settings, clock=crm.clock, plugins=[_Upstream()])
    try:
        admin = crm_with.users.create(email="ada@windows.example", name="Ada", role="admin")
        with TestClient(create_app(crm_with), headers=auth_headers(crm_with, admin.id)) as client:
            got = client.get("/api/v1/upstream/gateway")
            assert got.status_code == 502
            assert got.json() == {"error": {"code": "bad_gateway", "message": "the provider did not answer"}}
            got = client.get("/api/v1/upstream/unavailable")
            assert got.status_code == 503 and got.json()["error"]["code"] == "service_unavailable"
            assert got.headers["retry-after"] == "1"  # every 503 says when to try again
            got = client.get("/api/v1/upstream/misconfigured")  # any other 5xx: generic, its detail only logged
            assert got.status_code == 500
            assert got.json() == {"error": {"code": "internal_error", "message": "internal server error"}}
    finally:
        crm_with.close()

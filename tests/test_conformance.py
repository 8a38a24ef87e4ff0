"""``crmkit.testing.check_plugin``: the conformance check plugin authors run from their own tests.
Our installments plugin and the glue test plugin pass it; ``leaky`` and ``unlisted_glue`` break the
contract on purpose and every break is named."""

from __future__ import annotations

import pytest

from crmkit._conformance import problems
from crmkit.testing import check_plugin


def test_installments_conforms(db_url: str) -> None:
    check_plugin("installments", db_url)


def test_a_glue_plugin_conforms(db_url: str) -> None:
    check_plugin("club_bar", db_url, settings={"greeting": "hi"})


def test_every_break_of_the_contract_is_named(db_url: str) -> None:
    with pytest.raises(AssertionError) as err:
        check_plugin("leaky", db_url)
    lines = str(err.value).splitlines()
    assert lines[0] == "plugin leaky does not conform:"
    assert lines[1:] == [
        "- leaky: api '>=1.0' has no upper bound: name the major versions you support (e.g. '>=1.0,<2')",
        "- leaky: its hookspec undocumented is not prefixed with the plugin's name (leaky_...)",
        "- leaky: its hookspec undocumented has no docstring (when it is called, what it returns)",
        "- crmkit_testplugins/leaky.py:11: `from crmkit.core.errors import ValidationError`: crmkit.core.errors is "
        "internal (public: `from crmkit import ValidationError`)",
        "- leaky: table stray_rows is not prefixed with the plugin's name (leaky_...)",
        "- leaky: has tables (stray_rows) but no migrations (PluginInfo(migrations=...)): a later release could "
        "never change them",
    ]


def test_a_glue_plugin_missing_from_the_glue_group(db_url: str) -> None:
    found = problems("unlisted_glue", db_url)
    assert found[0] == ("unlisted_glue: declares auto_enable but its distribution does not list it in the "
                        "entry-point group crmkit.glue, so it never switches on by itself")
    assert "unlisted_glue: did not switch itself on with club, bar" in found


def test_a_plugin_that_is_not_installed(db_url: str) -> None:
    assert problems("nosuchplugin", db_url) == ["nosuchplugin: not installed under the entry-point group crmkit.plugins"]


# Telephony is being moved onto the public API (issue 11): until then its only breaks are the
# private imports test_public_api.KNOWN_PRIVATE_IMPORTS lists. Empty that list, then check it fully.
def test_telephony_breaks_only_the_known_imports(db_url: str) -> None:
    from test_public_api import KNOWN_PRIVATE_IMPORTS

    known = {k.split("plugins/telephony/", 1)[1] for k in KNOWN_PRIVATE_IMPORTS}
    found = problems("telephony", db_url)
    assert [p for p in found if p not in known] == []

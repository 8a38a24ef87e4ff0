"""The merge rules of a distribution upgrade (docs/distributions.md), one by one, and a property:
whatever the client changed survives, whatever the client left alone becomes the new default."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st

from crmkit.distributions import merge


def test_untouched_values_take_the_new_defaults_and_dropped_ones_go() -> None:
    base = {"timezone": "Europe/Berlin", "settings": {"inventory": {"tab_limit": "50.00", "old": 1}}}
    ours = {"timezone": "Europe/Berlin", "settings": {"inventory": {"tab_limit": "50.00", "old": 1}},
            "database": "sqlite:///crmkit.db"}
    theirs = {"timezone": "Europe/Vienna", "settings": {"inventory": {"tab_limit": "80.00"}, "fitness": {"x": 2}}}
    result = merge(base, ours, theirs)
    assert result.config == {"timezone": "Europe/Vienna", "settings": {"inventory": {"tab_limit": "80.00"},
                                                                        "fitness": {"x": 2}},
                             "database": "sqlite:///crmkit.db"}
    assert result.notes == []


def test_the_clients_changes_additions_and_removals_are_kept_with_a_note_when_both_changed() -> None:
    base = {"timezone": "Europe/Berlin", "default_region": "DE", "ui": {"primary_color": "#0f766e",
                                                                        "labels": {"deal": {"en": "Sale"}}}}
    ours = {"timezone": "Europe/Paris", "ui": {"primary_color": "#0f766e", "labels": {"deal": {"en": "Order"}},
                                              "secret_key": "s" * 40}}
    theirs = {"timezone": "Europe/Vienna", "default_region": "AT", "ui": {"primary_color": "#115e59",
                                                                          "labels": {"deal": {"en": "Purchase"}}}}
    result = merge(base, ours, theirs)
    assert result.config == {"timezone": "Europe/Paris", "ui": {"primary_color": "#115e59",
                                                                "labels": {"deal": {"en": "Order"}},
                                                                "secret_key": "s" * 40}}
    assert result.notes == [
        "timezone: kept your value; the new release has 'Europe/Vienna'",
        "ui.labels.deal.en: kept your value; the new release has 'Purchase'",
        "default_region: kept your value; the new release has 'AT'",
    ]


def test_plugins_and_lost_reasons_are_sets() -> None:
    base = {"plugins": ["fitness", "telephony", "inventory"], "lost_reasons": ["Too expensive", "No time"]}
    ours = {"plugins": ["fitness", "inventory", "mine"], "lost_reasons": ["Too expensive", "No time", "Ours"]}
    theirs = {"plugins": ["fitness", "telephony", "installments"], "lost_reasons": ["Too expensive", "Injury"]}
    result = merge(base, ours, theirs)
    # telephony: the client removed it (stays removed); inventory: the release drops it; installments: new
    assert result.config["plugins"] == ["fitness", "mine", "installments"]
    # a lost reason is never removed (cards may use it)
    assert result.config["lost_reasons"] == ["Too expensive", "No time", "Ours", "Injury"]
    assert result.notes == ["lost_reasons: kept 'No time' (the new release drops it; cards may use it)"]


def _pipeline(key: str, name: str, *stages: str) -> dict[str, Any]:
    return {"key": key, "name": name, "stages": [{"key": s, "name": s.title()} for s in stages]}


def test_pipelines_merge_one_by_one() -> None:
    base = {"pipelines": [_pipeline("leads", "Enquiries", "new", "won"), _pipeline("sales", "PT", "a", "won"),
                          _pipeline("old", "Old", "x", "won")]}
    ours = {"pipelines": [_pipeline("leads", "Enquiries", "new", "won"), _pipeline("sales", "Our PT", "a", "won"),
                          _pipeline("old", "Old", "x", "won"), _pipeline("mine", "Mine", "m", "won")]}
    theirs = {"pipelines": [_pipeline("leads", "Enquiries", "new", "trial", "won"),
                            _pipeline("sales", "Training", "a", "b", "won"), _pipeline("corporate", "B2B", "c", "won")]}
    result = merge(base, ours, theirs)
    assert [p["key"] for p in result.config["pipelines"]] == ["leads", "sales", "old", "mine", "corporate"]
    assert result.config["pipelines"][0] == theirs["pipelines"][0]  # untouched: the new declaration
    assert result.config["pipelines"][1]["name"] == "Our PT"  # changed by the client: kept whole
    assert result.notes == ["pipelines.sales: kept your version; the new release changes it",
                            "pipelines.old: kept (the new release drops it; it may hold deals)"]


leaves = st.one_of(st.integers(0, 3), st.sampled_from(["a", "b", "c"]))
tables = st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), leaves, max_size=3)
configs = st.dictionaries(st.sampled_from(["timezone", "name", "settings", "ui"]),
                          st.one_of(leaves, tables), max_size=4)


@settings(max_examples=300, deadline=None)
@given(base=configs, ours=configs, theirs=configs)
def test_merge_keeps_every_client_change_and_takes_every_untouched_default(base: dict[str, Any], ours: dict[str, Any],
                                                                           theirs: dict[str, Any]) -> None:
    merged = merge(base, ours, theirs).config
    for key in set(base) | set(ours) | set(theirs):
        b, o, t, m = (d.get(key, "<missing>") for d in (base, ours, theirs, merged))
        if isinstance(o, dict) and isinstance(t, dict) and (isinstance(b, dict) or b == "<missing>"):
            continue  # tables: the same rules key by key (checked by the examples above)
        if o == b:
            assert m == t  # untouched by the client: the new default (or gone)
        else:
            assert m == o  # the client's value, addition or removal wins

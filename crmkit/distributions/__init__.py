"""Distributions: an ISV's branded product on crmkit, installed as a Python package (docs/distributions.md).

A distribution declares the entry point ``crmkit.distributions`` naming a package with a
``distribution.toml``: its brand, its default crmkit.toml (plugins, pipelines, custom fields, lost
reasons, labels and their translations), its message and document templates, its demo data.
``crmkit init --distribution NAME DIR`` makes a deployment of it; ``crmkit distributions upgrade``
brings a newer release's defaults in without overwriting the client's own changes.
"""

from __future__ import annotations

from .deploy import LOCK_NAME, UpgradeReport, base_config, config_writer, finish_deployment, init_deployment, \
    upgrade_deployment
from .manifest import ENTRY_POINT_GROUP, Brand, Distribution, TemplateFile, installed_distributions, load_distribution
from .merge import MergeResult, merge

__all__ = ["ENTRY_POINT_GROUP", "LOCK_NAME", "Brand", "Distribution", "MergeResult", "TemplateFile", "UpgradeReport",
           "base_config", "config_writer", "finish_deployment", "init_deployment", "installed_distributions",
           "load_distribution", "merge", "upgrade_deployment"]

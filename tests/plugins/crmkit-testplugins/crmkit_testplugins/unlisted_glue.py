"""Declares ``auto_enable`` but its distribution does not list it in ``crmkit.glue``: it never
switches on by itself (and the conformance check says so)."""

from __future__ import annotations

import crmkit

plugin_info = crmkit.PluginInfo(name="unlisted_glue", version="0.1.0", api=">=1.0,<2", auto_enable=("club", "bar"))

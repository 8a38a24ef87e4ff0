"""Requires a plugin that is not installed: enabling it must fail at start."""

import crmkit

plugin_info = crmkit.PluginInfo(name="needs_missing", version="0.1.0", requires=("accounting",))

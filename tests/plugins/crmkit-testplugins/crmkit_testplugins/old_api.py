"""Written for a hook API crmkit no longer provides."""

import crmkit

plugin_info = crmkit.PluginInfo(name="old_api", version="0.9.0", api=">=0.1,<1.0")

"""Refuse plugin names that cannot be an entry-point name, a table prefix and a package suffix."""

import re
import sys

NAME = "{{ cookiecutter.plugin_name }}"

if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", NAME):
    print(f"plugin_name {NAME!r}: use lower-case letters, digits and _ (it prefixes tables and fields)")
    sys.exit(1)

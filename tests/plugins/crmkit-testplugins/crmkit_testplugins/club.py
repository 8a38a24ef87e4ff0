"""One side of the ``club_bar`` glue plugin: a club's members (a deal custom field ``club_member_no``)."""

from __future__ import annotations

import crmkit
from crmkit import CustomField, Permission, hookimpl

plugin_info = crmkit.PluginInfo(name="club", version="0.1.0", api=">=1.0,<2", description="A club's members.")


@hookimpl
def crm_register_custom_fields() -> list[CustomField]:
    return [CustomField(entity="deal", name="club_member_no", type="text", origin="club")]


@hookimpl
def crm_register_permissions() -> list[Permission]:
    return [Permission("club.checkin", roles=("admin", "head", "manager"))]

"""The ``fitclub`` plugin: the club's staff roles (front desk), beside the fitness plugin's trainer."""

from __future__ import annotations

from crmkit import PluginInfo, Role, hookimpl

plugin_info = PluginInfo(name="fitclub", version="1.0.0", api=">=1.0,<2", requires=("fitness",),
                         description="FitClub CRM's staff roles")

FRONT_DESK = "front_desk"


@hookimpl
def crm_register_roles() -> list[Role]:
    return [Role(FRONT_DESK, "all", frozenset({"cards.read", "cards.write"}),
                 "the reception: sees every member, takes enquiries, books trials")]

"""Hooks this plugin publishes for other plugins, which declare
``PluginInfo(..., requires=("{{ cookiecutter.plugin_name }}",))`` to implement them."""

from __future__ import annotations

from crmkit import Tx, hookspec


@hookspec
def {{ cookiecutter.plugin_name }}_handed_over(tx: Tx, deal_id: int, owner: str) -> None:
    """A won deal was handed over to ``owner`` (an e-mail address); its handover row is written.

    :param tx: the winning command's open transaction (write your own rows with ``tx.conn``).
    :param deal_id: the won deal.
    :param owner: who takes the deal over.

    Called once per handover, inside that transaction: raising rolls the whole win back. The
    return value is ignored.
    """

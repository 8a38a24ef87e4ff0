"""crmkit's web UI: server-rendered pages at ``/`` beside the JSON API (``/api/v1``).

For plugins (the ``crm_register_ui_*`` hooks, see docs/hooks.md) this module is the public face:

* :class:`MenuEntry`, :class:`CardPanel`, :class:`CardAction` (with :class:`ActionField`),
  :class:`TimelineRenderer`, :class:`UiPage` -- what the hooks return;
* :class:`PageContext` -- what their callables get: ``ctx.services`` (acting as the logged-in
  user), ``ctx.user``, ``ctx._`` (translation), ``ctx.fmt`` (dates, money), ``ctx.render``
  (templates, the plugin's own under ``<plugin>/``), ``ctx.csrf``;
* :func:`N_` -- marks a label for the UI's catalogs (it is translated where the UI shows it);
* :class:`Markup` and :func:`escape` -- to build HTML safely (``Markup.format`` escapes its
  arguments).
"""

from __future__ import annotations

from markupsafe import Markup, escape

from .context import PageContext
from .contrib import ActionField, CardAction, CardPanel, MenuEntry, TimelineRenderer, UiPage
from .i18n import N_

__all__ = ["ActionField", "CardAction", "CardPanel", "Markup", "MenuEntry", "N_", "PageContext", "TimelineRenderer",
           "UiPage", "escape"]

"""The CLI's per-invocation state: which deployment, which user, the Crm (built lazily).

Commands that need no deployment (``init``, ``demo``, ``plugins``, ``--help``)
never build a :class:`~crmkit.Crm`, so they work without a crmkit.toml.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import click

from ..core.app import Crm
from ..core.errors import NotFoundError, ValidationError
from ..core.services.base import check_id
from ..core.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..core.services import Services

DEFAULT_CONFIG = "crmkit.toml"
_KEY = "crmkit.state"


class CliState:
    """What one ``crmkit`` invocation works on."""

    def __init__(self, config: Path, user: str | None, json: bool, *, trace_hooks: bool = False) -> None:
        self.config = config
        self.user = user
        self.json = json
        self.trace_hooks = trace_hooks
        self._crm: Crm | None = None
        self._services: Services | None = None
        self._user_names: dict[int, str] | None = None
        self.plugin_commands: dict[str, click.Command] | None = None

    def has_config(self) -> bool:
        return self.config.is_file()

    def settings(self) -> Settings:
        return Settings.load(self.config)

    @property
    def crm(self) -> Crm:
        """The deployment named by ``--config`` (started on first use)."""
        if self._crm is None:
            self._crm = Crm.from_config(self.config, trace_hooks=True if self.trace_hooks else None)
        return self._crm

    @property
    def services(self) -> "Services":
        """The services acting as ``--as`` (or the system when no user is given: reads, admin and
        ops commands)."""
        if self._services is None:
            actor = self.user_id(self.user) if self.user else None
            self._services = self.crm.as_user(actor)
        return self._services

    def acting(self) -> "Services":
        """The services acting as the ``--as`` user, for the commands a person makes (creating,
        changing, moving cards, tasks, notes): refused without one, so that no change is silently
        the system's."""
        if not self.user:
            raise ValidationError("--as: who is making this change? Give --as EMAIL (or set CRMKIT_USER)",
                                  field="as")
        return self.services

    def by(self, message: str) -> str:
        """``message`` saying who acted, e.g. ``Won deal 3: ... (by Anna Lee)``."""
        actor = self.services.actor_id
        return f"{message} (by {self.user_name(actor) if actor is not None else 'the system'})"

    def user_id(self, ref: str) -> int:
        """A user given as an id or an e-mail address (``me``: the ``--as`` user)."""
        ref = ref.strip()
        if ref == "me":
            if not self.user:
                raise ValidationError("me: give the acting user with --as EMAIL (or CRMKIT_USER)", field="as")
            ref = self.user
        if ref.isascii() and ref.isdigit():
            return check_id(ref, "user")
        user = self.crm.system.users.by_email(ref)
        if user is None:
            raise NotFoundError(f"no user with e-mail {ref!r} (see `crmkit users list`)")
        return user.id

    def custom(self, entity: str, values: Mapping[str, str]) -> dict[str, Any]:
        """``--custom`` values with the ``user`` fields given by e-mail (or ``me``) as ids, the way
        ``--responsible`` takes a user."""
        users = {f.name for f in self.crm.custom_fields.of_type(entity, "user")}
        return {k: self.user_id(v) if k in users and ("@" in v or v.strip() == "me") else v
                for k, v in values.items()}

    def user_name(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        if self._user_names is None:
            page = self.crm.system.users.list(limit=500)
            self._user_names = {u.id: u.name for u in page}
        return self._user_names.get(user_id, f"#{user_id}")

    def close(self) -> None:
        if self._crm is not None:
            self._crm.close()
            self._crm = None


def get_state(ctx: click.Context) -> CliState:
    """The state of this invocation, made from the root command's options on first use.

    Works even before the root callback ran (click resolves subcommands first).
    """
    root = ctx.find_root()
    state = root.meta.get(_KEY)
    if state is None:
        params = root.params
        config = params.get("config") or os.environ.get("CRMKIT_CONFIG") or DEFAULT_CONFIG
        user = params.get("user") or os.environ.get("CRMKIT_USER") or None
        state = CliState(Path(config), user, bool(params.get("json")), trace_hooks=bool(params.get("trace_hooks")))
        root.meta[_KEY] = state
        root.call_on_close(state.close)
    return state


def pass_state(ctx: click.Context | None = None) -> CliState:
    """The state of the current click context."""
    return get_state(ctx or click.get_current_context())

"""Calling hooks, the one way: through pluggy, one plugin at a time, with the plugin named.

Every place crmkit calls a hook *per plugin* -- the registration hooks in ``Crm`` start-up,
the route collector of the web app, the CLI's command collector, the dispatcher's
``crm_event_committed`` -- goes through :func:`call_impl`, which hands the implementation to
pluggy's own hook execution (``HookCaller._hookexec``). So, as for any pluggy call:

* an implementation receives exactly the arguments it names: any subset of the hook's
  arguments, in any order (``def crm_register_routes():`` is a valid implementation);
* ``tryfirst``/``trylast`` order the implementations (last registered first);
* hook-call monitoring sees each call, with the one plugin it ran (:mod:`crmkit.core.hooktrace`).

Hook wrappers (``wrapper=True``) apply to the hooks pluggy calls as a whole (``crm_validate``,
``crm_on_events``, a plugin's own hooks), not to these per-plugin calls.

The in-transaction hooks are called as plain pluggy calls (``crm.pm.hook.crm_validate(...)``) by
the unit of work: they need no per-plugin results.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pluggy


def _impls(hook: pluggy.HookCaller) -> list[pluggy.HookImpl]:
    """The hook's implementations in pluggy's call order (last registered first), wrappers left out."""
    return [i for i in reversed(hook.get_hookimpls()) if not (i.hookwrapper or i.wrapper)]


def call_impl(hook: pluggy.HookCaller, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
    """Call one implementation of ``hook`` through pluggy (argument selection by ``impl.argnames``,
    monitoring); its result, or ``None``."""
    result = hook._hookexec(hook.name, [impl], kwargs, False)
    return result[0] if result else None  # type: ignore[index]


def call_hook(pm: pluggy.PluginManager, name: str, /, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call hook ``name`` on every implementation, in pluggy's order: ``(plugin name, result)``
    for each implementation that returned something other than ``None``.

    A ``firstresult`` hook stops at the first such result, as pluggy does. An exception from an
    implementation stops the call and reaches the caller.
    """
    hook: pluggy.HookCaller = getattr(pm.hook, name)
    _check_arguments(hook, kwargs)
    first = bool(hook.spec and hook.spec.opts.get("firstresult"))
    out: list[tuple[str, Any]] = []
    impls = _impls(hook)
    if not impls:  # still one (empty) call: hook tracing shows that nothing implements it
        hook._hookexec(hook.name, [], kwargs, False)
    for impl in impls:
        result = call_impl(hook, impl, kwargs)
        if result is not None:
            out.append((impl.plugin_name, result))
            if first:
                break
    return out


def results(pm: pluggy.PluginManager, name: str, /, **kwargs: Any) -> Iterator[Any]:
    """The results of :func:`call_hook` without the plugin names."""
    return (result for _, result in call_hook(pm, name, **kwargs))


def plugin_callers(pm: pluggy.PluginManager, name: str) -> dict[str, Callable[..., Any]]:
    """One caller per plugin implementing ``name`` (in call order): ``caller(**kwargs)`` runs that
    plugin's implementation through :func:`call_impl`. For the dispatcher, which calls each plugin
    on its own so that one plugin's failure never stops another's delivery."""
    hook: pluggy.HookCaller = getattr(pm.hook, name)
    return {impl.plugin_name: impl_caller(hook, impl) for impl in _impls(hook)}


def impl_caller(hook: pluggy.HookCaller, impl: pluggy.HookImpl) -> Callable[..., Any]:
    """``caller(**kwargs)``: :func:`call_impl` of ``impl`` (built once, called per event)."""

    def call(**kwargs: Any) -> Any:
        return call_impl(hook, impl, kwargs)

    return call


def _check_arguments(hook: pluggy.HookCaller, kwargs: dict[str, Any]) -> None:
    """Every argument the spec names must be given (a crmkit bug otherwise, not a plugin's)."""
    if hook.spec is not None:
        missing = [a for a in hook.spec.argnames if a not in kwargs]
        if missing:
            raise TypeError(f"hook {hook.name} called without {', '.join(missing)}")

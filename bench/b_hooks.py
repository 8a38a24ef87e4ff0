"""Target 1: hook dispatch with 4 plugins implementing the hook trivially.

Ours: the way the unit of work calls an in-transaction hook (``has_impls`` check,
then ``crm.pm.hook.crm_validate``) on a Crm with noop1..noop4 enabled by entry point.
Baseline: a bare pluggy PluginManager with the same hookspec and 4 trivial plugins.
Both run in-process; no database work is timed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import pluggy

from .harness import NOOPS, Options, Result, fresh_db, make_crm, same

_spec = pluggy.HookspecMarker("rawbench")
_impl = pluggy.HookimplMarker("rawbench")


class _Spec:
    @_spec
    def crm_validate(self, tx: Any, events: Sequence[Any]) -> None: ...


class _Plugin:
    @_impl
    def crm_validate(self, tx: Any, events: Sequence[Any]) -> None:
        pass


def _per_call(fn: Any, n: int, repeats: int) -> float:
    best = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(n)
        best.append((time.perf_counter() - t) / n)
    best.sort()
    return best[len(best) // 2]


def run(opts: Options, workdir: Path) -> list[Result]:
    n = 20_000 if opts.quick else 200_000
    with fresh_db("sqlite", workdir) as db:
        crm = make_crm(db, plugins=NOOPS)
        try:
            pm = pluggy.PluginManager("rawbench")
            pm.add_hookspecs(_Spec)
            for i in range(4):
                pm.register(_Plugin(), name=f"p{i}")
            raw_hook = pm.hook.crm_validate
            events: list[Any] = []

            def ours(k: int) -> None:
                has, hook = crm.has_impls, crm.pm.hook
                for _ in range(k):
                    if has("crm_validate"):
                        hook.crm_validate(tx=None, events=events)

            def baseline(k: int) -> None:
                for _ in range(k):
                    raw_hook(tx=None, events=events)

            # same work: 4 implementations each, same results
            impls = crm.pm.hook.crm_validate.get_hookimpls()
            plugin_impls = [i for i in impls if not i.plugin_name.startswith("crmkit.")]
            same("plugin implementations", len(plugin_impls), len(raw_hook.get_hookimpls()))
            same("result", crm.pm.hook.crm_validate(tx=None, events=events), raw_hook(tx=None, events=events))
            core_impls = len(impls) - len(plugin_impls)
            ours(n // 10)
            baseline(n // 10)
            o_t = b_t = 0.0
            o_ts, b_ts = [], []
            for _ in range(opts.repeats):
                o_ts.append(_per_call(ours, n // opts.repeats, 1))
                b_ts.append(_per_call(baseline, n // opts.repeats, 1))
            o_ts.sort()
            b_ts.sort()
            o_t, b_t = o_ts[len(o_ts) // 2], b_ts[len(b_ts) // 2]
        finally:
            crm.close()
    ratio = o_t / b_t
    ok = o_t * 1e6 <= 3.0 and ratio <= 1.5
    return [Result(
        name="1 hook dispatch, 4 plugins", backend="-", ours=o_t * 1e6, baseline=b_t * 1e6, unit="us/call",
        ratio=ratio, target="<= 3 us/call and <= 1.5x raw pluggy (time)", passed=ok, n=n,
        note=f"ratio = ours/baseline time; ours also runs the core's own {core_impls} impl(s) (empty events)",
    )]

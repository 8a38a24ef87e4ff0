"""The pool of started tenants: a bounded LRU that never closes a tenant in use, starts a changed
tenant afresh, and (``freeze_gc``) gives a closed tenant's objects back to the garbage collector."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import attrs
import pytest

from crmkit.tenants import TenantPool, TenantRegistry, add_tenant


@pytest.fixture
def registry(tmp_path: Path) -> TenantRegistry:
    reg = TenantRegistry.load(tmp_path / "tenants.toml")
    for name in ("one", "two"):
        add_tenant(reg, name, hosts=(f"{name}.test",))
        reg = TenantRegistry.load(reg.path)
    return reg


def test_least_recently_used_idle_tenants_are_closed_first(registry: TenantRegistry) -> None:
    one, two = registry.get("one"), registry.get("two")
    with TenantPool(max_open=1) as pool:
        busy = pool.acquire(one)
        other = pool.acquire(two)  # room for one, but "one" is in use: both stay
        assert sorted(pool.names()) == ["one", "two"] and pool.evicted == 0
        busy.crm.users.list(limit=1)  # still usable
        pool.release(busy)  # now idle and least recently used: closed
        assert pool.names() == ["two"] and pool.evicted == 1
        pool.release(other)
        again = pool.acquire(one)
        assert again is not busy and pool.started == 3 and pool.names() == ["one"]
        pool.release(again)


def test_a_tenant_changed_in_the_registry_is_started_afresh(registry: TenantRegistry) -> None:
    one = registry.get("one")
    with TenantPool() as pool:
        first = pool.acquire(one)
        pool.release(first)
        assert pool.acquire_started(one) is first
        pool.release(first)
        moved = attrs.evolve(one, hosts=("new.test",))
        second = pool.acquire(moved)
        assert second is not first and second.tenant == moved
        pool.release(second)


def test_a_closed_tenant_is_collected_when_the_pool_freezes_the_others(registry: TenantRegistry) -> None:
    gc.collect()
    with TenantPool(max_open=1, freeze_gc=True) as pool:
        entry = pool.acquire(registry.get("one"))
        assert gc.get_freeze_count() > 0  # the started tenant is out of the collector's way
        crm = weakref.ref(entry.crm)
        pool.release(entry)
        del entry
        pool.release(pool.acquire(registry.get("two")))  # "one" is closed
        assert crm() is None  # and nothing of it is left behind
    assert gc.get_freeze_count() == 0


def test_the_worker_runs_rounds_until_told_to_stop(registry: TenantRegistry) -> None:
    from crmkit.tenants import TenantWorker

    rounds: list[int] = []
    with TenantPool() as pool:
        worker = TenantWorker(str(registry.path), pool=pool)
        original = worker.run_once

        def counted() -> list:  # type: ignore[type-arg]
            passes = original()
            rounds.append(len(passes))
            return passes

        worker.run_once = counted  # type: ignore[method-assign]
        worker.run_forever(interval=0, should_stop=lambda: len(rounds) >= 2)
        assert rounds == [2, 2] and sorted(pool.names()) == ["one", "two"]  # started once, kept between rounds
        assert pool.started == 2

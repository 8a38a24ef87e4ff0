"""What the tenants' tests share (a module of its own: ``conftest`` is not a unique module name)."""

from __future__ import annotations

from pathlib import Path

import attrs

from crmkit.tenants import TenantRegistry


@attrs.define
class Installation:
    registry_path: Path
    names: dict[str, str]
    """short name (acme, beta, gamma) -> tenant name."""
    urls: dict[str, str]
    """short name -> the base URL routing to it (host name, or the prefix)."""
    headers: dict[str, dict[str, dict[str, str]]]
    """short name -> user -> auth headers."""
    user_ids: dict[str, dict[str, int]]
    kind: str

    @property
    def registry(self) -> TenantRegistry:
        return TenantRegistry.load(self.registry_path)

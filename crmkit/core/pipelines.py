"""Pipeline declarations: ordered stages of kind open, won or lost.

Pipelines come from ``crmkit.toml`` (``[[pipelines]]``) and from plugins
(``crm_register_pipelines``); :mod:`crmkit.core.schema_sync` writes them into the
database at start-up.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Literal

import attrs

from .errors import ConfigError

StageKind = Literal["open", "won", "lost"]
STAGE_KINDS: tuple[str, ...] = ("open", "won", "lost")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@attrs.frozen
class StageSpec:
    key: str
    name: str
    kind: StageKind = "open"


@attrs.frozen
class PipelineSpec:
    """A declared pipeline. ``stages`` are in board order."""

    key: str
    name: str
    stages: tuple[StageSpec, ...]
    origin: str = "crmkit.toml"

    def __attrs_post_init__(self) -> None:
        where = f"{self.origin}: pipeline {self.key!r}"
        if not _KEY.match(self.key):
            raise ConfigError(f"{where}: key must be lower-case letters, digits and _")
        if not self.stages:
            raise ConfigError(f"{where}: needs at least one stage")
        seen: set[str] = set()
        for stage in self.stages:
            if not _KEY.match(stage.key):
                raise ConfigError(f"{where}: stage key {stage.key!r} must be lower-case letters, digits and _")
            if stage.key in seen:
                raise ConfigError(f"{where}: stage {stage.key!r} declared twice")
            if stage.kind not in STAGE_KINDS:
                raise ConfigError(f"{where}: stage {stage.key!r} has kind {stage.kind!r}; use open, won or lost")
            seen.add(stage.key)
        if not any(s.kind == "open" for s in self.stages):
            raise ConfigError(f"{where}: needs at least one open stage")

    def stage(self, key: str) -> StageSpec | None:
        return next((s for s in self.stages if s.key == key), None)


def parse_pipelines(items: Any, *, origin: str) -> list[PipelineSpec]:
    """Parse ``[[pipelines]]`` tables: ``{key, name, stages = [{key, name, kind}]}``."""
    if not isinstance(items, list):
        raise ConfigError(f"{origin}: pipelines must be an array of tables ([[pipelines]])")
    result = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "key" not in item or "stages" not in item:
            raise ConfigError(f"{origin}: pipelines[{i}] needs key and stages")
        stages = []
        for j, st in enumerate(item["stages"]):
            if isinstance(st, str):
                st = {"key": st}
            if not isinstance(st, dict) or "key" not in st:
                raise ConfigError(f"{origin}: pipelines[{i}].stages[{j}] needs a key")
            stages.append(
                StageSpec(key=str(st["key"]), name=str(st.get("name", st["key"])), kind=st.get("kind", "open"))
            )
        result.append(
            PipelineSpec(key=str(item["key"]), name=str(item.get("name", item["key"])), stages=tuple(stages), origin=origin)
        )
    return result


def merge_pipelines(groups: Iterable[Iterable[PipelineSpec]]) -> list[PipelineSpec]:
    """Merge declarations; the same key declared twice is a configuration error."""
    merged: dict[str, PipelineSpec] = {}
    for group in groups:
        for spec in group:
            if spec.key in merged and merged[spec.key] != spec:
                raise ConfigError(
                    f"pipeline {spec.key!r} is declared by both {merged[spec.key].origin} and {spec.origin}"
                )
            merged[spec.key] = spec
    return list(merged.values())

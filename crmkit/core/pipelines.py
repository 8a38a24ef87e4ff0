"""Pipeline declarations: ordered stages of kind open, won or lost.

Pipelines come from ``crmkit.toml`` (``[[pipelines]]``) and from plugins
(``crm_register_pipelines``); :mod:`crmkit.core.sync` writes them into the
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
class TaskRule:
    """On entering a stage: create a task.

    :param title: a template over the card's fields: ``"Measure {title} ({custom[window_count]} windows)"``.
    :param assignee: ``"responsible"`` (default), ``"role:<role>"`` or ``"role:<role>/<team>"``
        (the first active such user), or ``"field:<custom user field>"``.
    :param due_hours: due N hours after entering; or
    :param due_business_days: due N business days (Mon-Fri, deployment timezone) after entering; or
    :param due_field: due at a date/datetime custom field of the card.
    :param share: also share the card with the assignee, who may then change it (a task alone
        lets its assignee only read the card while it is open: the head of measurers who must
        write down the measurer needs ``share = true``).
    """

    title: str
    assignee: str = "responsible"
    due_hours: float | None = None
    due_business_days: int | None = None
    due_field: str | None = None
    description: str = ""
    share: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))


@attrs.frozen
class PipelineAction:
    """On entering a stage (a won stage = on winning): copy or move the deal to another pipeline.

    :param action: ``"copy"`` (a new deal linked to the origin) or ``"move"``.
    :param if_field: only when this field of the deal is set and truthy (e.g. ``installments``).
    """

    action: Literal["copy", "move"]
    pipeline: str
    stage: str | None = None
    if_field: str | None = None


@attrs.frozen
class StageSpec:
    key: str
    name: str
    kind: StageKind = "open"
    requires: tuple[str, ...] = ()
    tasks: tuple[TaskRule, ...] = ()
    actions: tuple[PipelineAction, ...] = ()


@attrs.frozen
class PipelineSpec:
    """A declared pipeline. ``stages`` are in board order."""

    key: str
    name: str
    stages: tuple[StageSpec, ...]
    origin: str = "crmkit.toml"
    stage_map: tuple[tuple[str, str], ...] = ()
    """Retired stage -> stage its deals move to when the declaration changes."""

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
        for old, new in self.stage_map:
            if new not in seen:
                raise ConfigError(f"{where}: stage_map sends {old!r} to {new!r}, which is not a stage")
            if old in seen:
                raise ConfigError(f"{where}: stage_map maps {old!r}, which is still a stage")

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
        unknown = set(item) - {"key", "name", "stages", "stage_map"}
        if unknown:
            raise ConfigError(f"{origin}: pipelines[{i}]: unknown option(s) {', '.join(sorted(unknown))}")
        stages = [_parse_stage(st, f"{origin}: pipeline {item['key']!r} stages[{j}]") for j, st in enumerate(item["stages"])]
        stage_map = item.get("stage_map", {})
        if not isinstance(stage_map, dict):
            raise ConfigError(f"{origin}: pipelines[{i}].stage_map must be a table old_stage = new_stage")
        result.append(PipelineSpec(
            key=str(item["key"]), name=str(item.get("name", item["key"])), stages=tuple(stages), origin=origin,
            stage_map=tuple((str(k), str(v)) for k, v in stage_map.items()),
        ))
    return result


_STAGE_KEYS = {"key", "name", "kind", "requires", "tasks", "copy_to", "move_to"}
_TASK_KEYS = {"title", "assignee", "due_hours", "due_business_days", "due_field", "description", "share"}
_ACTION_KEYS = {"pipeline", "stage", "if_field"}


def _parse_stage(st: Any, where: str) -> StageSpec:
    if isinstance(st, str):
        st = {"key": st}
    if not isinstance(st, dict) or "key" not in st:
        raise ConfigError(f"{where}: needs a key")
    unknown = set(st) - _STAGE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_STAGE_KEYS))})")
    requires = st.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise ConfigError(f"{where}: requires must be a list of field names")
    tasks = []
    for t in st.get("tasks", []):
        if not isinstance(t, dict) or "title" not in t:
            raise ConfigError(f"{where}: each task needs a title")
        bad = set(t) - _TASK_KEYS
        if bad:
            raise ConfigError(f"{where}: task option(s) {', '.join(sorted(bad))} unknown (known: {', '.join(sorted(_TASK_KEYS))})")
        if sum(k in t for k in ("due_hours", "due_business_days", "due_field")) > 1:
            raise ConfigError(f"{where}: a task has one of due_hours, due_business_days, due_field")
        if not isinstance(t.get("share", False), bool):
            raise ConfigError(f"{where}: a task's share is true or false")
        tasks.append(TaskRule(**t))
    actions = []
    for action in ("copy", "move"):
        decl = st.get(f"{action}_to")
        if decl is None:
            continue
        if not isinstance(decl, dict) or "pipeline" not in decl or set(decl) - _ACTION_KEYS:
            raise ConfigError(f"{where}: {action}_to = {{ pipeline = ..., stage = ..., if_field = ... }}")
        actions.append(PipelineAction(action=action, **decl))  # type: ignore[arg-type]
    return StageSpec(
        key=str(st["key"]), name=str(st.get("name", st["key"])), kind=st.get("kind", "open"),
        requires=tuple(requires), tasks=tuple(tasks), actions=tuple(actions),
    )


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

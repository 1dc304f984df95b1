"""Validation of the sections in an imported bundle, before anything is written.

Each check returns "path: reason" lines so an import reports every problem at
once. Nodes go through their source type's ``validate``, alert settings and
system settings through their pydantic models, and notification sections
through a dry run of every notifier type's ``channels()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from pulse_core import guest_metadata
from pulse_core.transfer import (
    ALERTS,
    GUEST_METADATA,
    NODE_KEYS,
    NODES,
    NOTIFICATION_PREFIX,
    SYSTEM,
    is_exported_section,
)

log = logging.getLogger(__name__)

_BOOL_NODE_KEYS = ("verify_ssl", "enabled")
_TEXT_NODE_KEYS = ("name", "user", "password", "token_name", "token_value", "fingerprint", "cluster_name")


class SectionView:
    """A read-only ``SettingsStore`` stand-in: imported sections over the current ones."""

    def __init__(self, base: Any, overlay: Mapping[str, Any]) -> None:
        self._base = base
        self._overlay = overlay

    def get(self, section: str, default: Any = None) -> Any:
        if section in self._overlay:
            return self._overlay[section]
        if self._base is None:
            return default
        return self._base.get(section, default)

    def has(self, section: str) -> bool:
        return section in self._overlay or (self._base is not None and self._base.has(section))


def check_sections(sections: dict[str, Any], context: Any) -> list[str]:
    problems: list[str] = []
    for name in sorted(sections):
        if not is_exported_section(name):
            problems.append(f"sections.{name}: unknown section; a bundle may hold nodes, alerts, system, "
                            "guest_metadata and notifications_* sections")
    if NODES in sections:
        problems += node_problems(sections[NODES], context)
    if ALERTS in sections:
        problems += alert_problems(sections[ALERTS])
    if SYSTEM in sections:
        problems += system_problems(sections[SYSTEM])
    if GUEST_METADATA in sections:
        problems += guest_metadata.section_problems(sections[GUEST_METADATA])
    problems += notification_problems(sections, context)
    return problems


def node_problems(nodes: Any, context: Any) -> list[str]:
    from pulse_core.daemon import node_settings_from_dict

    if not isinstance(nodes, list):
        return ["nodes: expected a list of nodes"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        where = f"nodes[{index}]"
        if not isinstance(node, dict):
            problems.append(f"{where}: expected an object")
            continue
        node_problems_here = _node_shape_problems(node)
        node_id = node.get("id")
        if isinstance(node_id, str) and node_id:
            where = f"nodes[{index}] ({node_id})"
            if node_id in seen:
                node_problems_here.append(f"id: {node_id!r} appears twice; node ids must be unique")
            seen.add(node_id)
        if not node_problems_here:
            node_problems_here = list(context.validate_node(node_settings_from_dict(node)))
        problems += [f"{where}.{line}" for line in node_problems_here]
    return problems


def _node_shape_problems(node: dict[str, Any]) -> list[str]:
    problems = [f"{key}: unknown field" for key in sorted(set(node) - NODE_KEYS)]
    for key in ("id", "type", "host"):
        if not isinstance(node.get(key), str) or not node.get(key):
            problems.append(f"{key}: required, a non-empty string")
    for key in _TEXT_NODE_KEYS:
        if node.get(key) is not None and not isinstance(node[key], str):
            problems.append(f"{key}: must be a string or null")
    for key in _BOOL_NODE_KEYS:
        if key in node and not isinstance(node[key], bool):
            problems.append(f"{key}: must be true or false")
    if node.get("options") is not None and not isinstance(node["options"], dict):
        problems.append("options: must be an object")
    return problems


def alert_problems(raw: Any) -> list[str]:
    from pulse_core.alerts.settings import load_settings, validation_problems

    if not isinstance(raw, dict):
        return ["alerts: expected an object"]
    try:
        load_settings(raw)
    except ValidationError as exc:
        return [f"alerts.{line}" for line in validation_problems(exc)]
    return []


def system_problems(raw: Any) -> list[str]:
    from pulse_core.web.jsonio import format_validation_error
    from pulse_core.web.routes.system import SystemSettings

    if not isinstance(raw, dict):
        return ["system: expected an object"]
    fields = SystemSettings.model_fields
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        return [f"system.{name}: unknown setting" for name in unknown]
    aliased = {fields[name].alias or name: value for name, value in raw.items()}
    try:
        SystemSettings.model_validate(aliased)
    except ValidationError as exc:
        return [f"system.{part}" for part in format_validation_error(exc).split("; ")]
    return []


def notification_problems(sections: Mapping[str, Any], context: Any) -> list[str]:
    names = [name for name in sections if name.startswith(NOTIFICATION_PREFIX)]
    if not names:
        return []
    problems: list[str] = []
    for name in sorted(names):
        value = sections[name]
        if isinstance(value, list):
            if not all(isinstance(item, dict) for item in value):
                problems.append(f"{name}: expected a list of objects")
        elif not isinstance(value, dict):
            problems.append(f"{name}: expected an object or a list of objects")
    if problems:
        return problems
    plugins = getattr(context, "plugins", None)
    types = plugins.notifier_types() if plugins is not None else {}
    view = SectionView(getattr(context, "settings", None), sections)
    for type_name in sorted(types):
        try:
            types[type_name].channels(view)
        except Exception as exc:  # noqa: BLE001 - any failure means the running daemon could not use these settings
            problems.append(f"{', '.join(sorted(names))}: the {type_name} notifier cannot use these settings "
                            f"({type(exc).__name__}: {exc})")
    return problems

"""A small validator for responses against the Proxmox API viewer schemas.

It checks what the schemas state about a return value: JSON types, required
properties, enum values, array items and, where a schema sets
``additionalProperties`` to false, unexpected properties. PVE schemas mark booleans and
integers the Perl way, so for PVE a ``boolean`` also accepts 0 and 1, as real
PVE servers send. Properties named like ``net[n]`` match ``net0``, ``net1``...
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any


@cache
def load_schema(path: Path) -> dict[str, dict[str, Any]]:
    """Return ``{api path: info}`` for every node of an API viewer data file."""
    text = path.read_text(encoding="utf-8")
    tree = json.loads(text[text.index("["): text.rindex("]") + 1])
    index: dict[str, dict[str, Any]] = {}
    stack = list(tree)
    while stack:
        node = stack.pop()
        index[node["path"]] = node.get("info", {})
        stack.extend(node.get("children") or [])
    return index


def _is_optional(schema: dict[str, Any]) -> bool:
    return schema.get("optional") in (1, True, "1")


def validate(value: Any, schema: dict[str, Any], *, perl: bool, where: str = "data") -> list[str]:
    """Return one message per mismatch between ``value`` and ``schema`` (empty when it conforms)."""
    kind = schema.get("type")
    problems: list[str] = []
    if kind in (None, "any") or (isinstance(kind, list)):
        return problems
    if kind == "null":
        return [] if value is None else [f"{where}: expected null, got {value!r}"]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        properties: dict[str, Any] = schema.get("properties") or {}
        patterns = {
            re.compile("^" + re.escape(name[:-3]) + r"\d+$"): sub
            for name, sub in properties.items() if name.endswith("[n]")
        }
        for name, sub in properties.items():
            if name.endswith("[n]"):
                continue
            if name not in value:
                if not _is_optional(sub):
                    problems.append(f"{where}.{name}: required property is missing")
                continue
            problems.extend(validate(value[name], sub, perl=perl, where=f"{where}.{name}"))
        closed = schema.get("additionalProperties") in (0, False)
        for key, item in value.items():
            if key in properties:
                continue
            matched = [sub for pattern, sub in patterns.items() if pattern.match(key)]
            for sub in matched:
                problems.extend(validate(item, sub, perl=perl, where=f"{where}.{key}"))
            if closed and not matched:
                problems.append(f"{where}.{key}: property not allowed by the schema")
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                problems.extend(validate(item, items, perl=perl, where=f"{where}[{index}]"))
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {value!r}"]
        enum = schema.get("enum")
        if enum and value not in enum:
            problems.append(f"{where}: {value!r} is not one of {enum}")
        return problems
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer, got {value!r}"]
        return problems
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{where}: expected a number, got {value!r}"]
        return problems
    if kind == "boolean":
        if isinstance(value, bool) or (perl and value in (0, 1) and not isinstance(value, float)):
            return problems
        return [f"{where}: expected a boolean{' or 0/1' if perl else ''}, got {value!r}"]
    return [f"{where}: schema type {kind!r} is not handled by this validator"]

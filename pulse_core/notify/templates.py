"""Payload templates in the Go-template style users know from webhook docs.

A hand-written renderer, deliberately small: it understands only

* ``{{.Name}}`` for the documented variables in ``VARIABLES``,
* functions from ``FUNCTIONS`` called as ``{{json .Message}}`` or piped as ``{{.Message | upper}}``,
* ``{{if PIPELINE}} ... {{else}} ... {{end}}`` and ``{{/* comments */}}``,
* ``{{-`` and ``-}}`` to trim the whitespace beside an action, as in Go.

Nothing else is reachable: there is no attribute access, indexing or call into
Python, so a template saved by a user cannot read anything but the variables.

In JSON mode the renderer follows the literal text to know whether an action
sits inside a JSON string. Inside a string a value is escaped (no quotes
added), so a VM named ``a"b`` still yields valid JSON; outside a string it is
written as a JSON value (``"text"``, ``12.5``, ``true`` or ``null``).
"""

from __future__ import annotations

import html
import json
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pulse_core.errors import PulseError
from pulse_core.model import Alert, Notification

VARIABLES = (
    "Level", "Type", "Message", "Value", "Threshold", "ResourceName", "ResourceID", "ResourceType",
    "Node", "Instance", "Timestamp", "StartTime", "Duration", "Event", "Acknowledged",
)


class TemplateError(PulseError):
    """A template that cannot be parsed or cannot yield the expected output.

    ``line`` and ``column`` (both 1-based) point into the template text.
    """

    def __init__(self, message: str, line: int, column: int) -> None:
        self.reason = message
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {message}")


class _JSONValue(str):
    """Function output that is already a complete JSON literal."""


def _json_function(value: Any) -> _JSONValue:
    return _JSONValue(_to_json(value))


def _equal(left: Any, right: Any) -> bool:
    return left == right


def _default(fallback: Any, value: Any) -> Any:
    return fallback if value in (None, "") else value


# Each function takes plain values and returns one; none of them can reach outside their arguments.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": _json_function,
    "urlquery": lambda value: urllib.parse.quote_plus(_to_text(value)),
    "urlpath": lambda value: urllib.parse.quote(_to_text(value), safe=""),
    "html": lambda value: html.escape(_to_text(value), quote=True),
    "upper": lambda value: _to_text(value).upper(),
    "lower": lambda value: _to_text(value).lower(),
    "title": lambda value: _to_text(value).title(),
    "eq": _equal,
    "ne": lambda left, right: not _equal(left, right),
    "not": lambda value: not _truthy(value),
    "default": _default,
}


# --- value formatting ------------------------------------------------------------------


def _format_number(value: float) -> str:
    if not math.isfinite(value):
        return ""
    rounded = round(value, 2)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.2f}".rstrip("0")


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _format_number(float(value))
    return str(value)


def _to_json(value: Any) -> str:
    if isinstance(value, _JSONValue):
        return str(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(float(value)):
            return "null"  # JSON has no NaN or Infinity
        return json.dumps(round(float(value), 4) if isinstance(value, float) else value)
    return json.dumps(str(value), ensure_ascii=False)


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", 0.0)


# --- parsing ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Operand:
    kind: str  # field, string, number, function
    value: Any
    pos: int


@dataclass(slots=True)
class _Pipeline:
    commands: list[list[_Operand]]
    pos: int


@dataclass(slots=True)
class _Text:
    text: str
    pos: int


@dataclass(slots=True)
class _Action:
    pipeline: _Pipeline
    pos: int


@dataclass(slots=True)
class _If:
    condition: _Pipeline
    body: list[Any]
    orelse: list[Any]
    pos: int


@dataclass(slots=True)
class Template:
    """A parsed template; build it with ``parse()``."""

    source: str
    nodes: list[Any] = field(default_factory=list)


_ACTION_RE = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN_RE = re.compile(r"""\s*(?:(\|)|(\.[A-Za-z_][A-Za-z0-9_]*)|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\S))""")


def _position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _error(source: str, offset: int, message: str) -> TemplateError:
    line, column = _position(source, offset)
    return TemplateError(message, line, column)


def _parse_pipeline(source: str, text: str, base: int) -> _Pipeline:
    commands: list[list[_Operand]] = [[]]
    index = 0
    while index < len(text):
        match = _TOKEN_RE.match(text, index)
        if match is None or match.end() == index:
            break
        index = match.end()
        pipe, field_name, string, number, ident, other = match.groups()
        start = base + match.start(match.lastindex or 0)
        if pipe:
            if not commands[-1]:
                raise _error(source, start, "'|' needs a value on its left")
            commands.append([])
        elif field_name:
            name = field_name[1:]
            if name not in VARIABLES:
                raise _error(source, start, f"unknown variable .{name}; available: {', '.join('.' + v for v in VARIABLES)}")
            commands[-1].append(_Operand("field", name, start))
        elif string:
            try:
                value = json.loads(string)
            except json.JSONDecodeError:
                raise _error(source, start, f"invalid string literal {string}") from None
            commands[-1].append(_Operand("string", value, start))
        elif number:
            commands[-1].append(_Operand("number", float(number) if "." in number else int(number), start))
        elif ident:
            if ident in ("true", "false"):
                commands[-1].append(_Operand("string", ident == "true", start))
            elif ident in FUNCTIONS:
                commands[-1].append(_Operand("function", ident, start))
            else:
                raise _error(source, start, f"unknown function {ident!r}; available: {', '.join(sorted(FUNCTIONS))}")
        else:
            raise _error(source, start, f"unexpected character {other!r} in action")
    if not commands[-1]:
        raise _error(source, base + len(text), "empty action or '|' without a function after it")
    for command in commands:
        if len(command) > 1 and command[0].kind != "function":
            raise _error(source, command[1].pos, "only a function can take arguments")
    for command in commands[1:]:
        if command[0].kind != "function":
            raise _error(source, command[0].pos, "a '|' must be followed by a function")
    return _Pipeline(commands, base)


def parse(source: str) -> Template:
    """Parse ``source`` and raise ``TemplateError`` with the line and column of the first problem."""
    root: list[Any] = []
    # Each open block: (node, list being filled, offset of its {{if}}).
    stack: list[tuple[_If | None, list[Any], int]] = [(None, root, 0)]
    position = 0
    trim_next = False
    for match in _ACTION_RE.finditer(source):
        text = source[position:match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            stack[-1][1].append(_Text(text, position))
        trim_next = bool(match.group(3))
        position = match.end()

        body = match.group(2)
        body_start = match.start(2)
        stripped = body.strip()
        offset = body_start + (len(body) - len(body.lstrip()))
        if stripped.startswith("/*"):
            if not stripped.endswith("*/"):
                raise _error(source, offset, "unclosed comment; end it with */ before }}")
            continue
        keyword = stripped.split(None, 1)[0] if stripped else ""
        if keyword == "if":
            node = _If(_parse_pipeline(source, stripped[2:], offset + 2), [], [], match.start())
            stack[-1][1].append(node)
            stack.append((node, node.body, match.start()))
        elif keyword == "else":
            if stripped != "else":
                raise _error(source, offset, "'else' takes no arguments (use a nested {{if}})")
            current = stack[-1][0]
            if current is None or stack[-1][1] is current.orelse:
                raise _error(source, offset, "'else' without a matching {{if}}")
            stack[-1] = (current, current.orelse, stack[-1][2])
        elif keyword == "end":
            if stripped != "end":
                raise _error(source, offset, "'end' takes no arguments")
            if len(stack) == 1:
                raise _error(source, offset, "'end' without a matching {{if}}")
            stack.pop()
        else:
            stack[-1][1].append(_Action(_parse_pipeline(source, stripped, offset), match.start()))
    unclosed = source.find("{{", position)
    if unclosed != -1:
        raise _error(source, unclosed, "'{{' is never closed with '}}'")
    tail = source[position:]
    if trim_next:
        tail = tail.lstrip()
    if tail:
        stack[-1][1].append(_Text(tail, position))
    if len(stack) > 1:
        raise _error(source, stack[-1][2], "{{if}} is never closed with {{end}}")
    return Template(source, root)


# --- rendering ----------------------------------------------------------------------------


class _JSONTracker:
    """Follows emitted literal text to know whether the output is inside a JSON string."""

    def __init__(self) -> None:
        self.in_string = False
        self.escaped = False

    def feed(self, text: str) -> None:
        for char in text:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif char == "\\":
                    self.escaped = True
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True


def _evaluate(pipeline: _Pipeline, context: Mapping[str, Any], source: str) -> Any:
    result: Any = None
    for index, command in enumerate(pipeline.commands):
        head = command[0]
        if head.kind != "function":
            result = context.get(head.value) if head.kind == "field" else head.value
            continue
        args = [context.get(op.value) if op.kind == "field" else op.value for op in command[1:]]
        if index > 0:
            args.append(result)
        try:
            result = FUNCTIONS[head.value](*args)
        except TypeError:
            raise _error(source, head.pos, f"wrong number of arguments for {head.value}") from None
    return result


def _length(out: list[str]) -> int:
    return sum(len(part) for part in out)


def _render_nodes(
    nodes: list[Any],
    context: Mapping[str, Any],
    source: str,
    out: list[str],
    spans: list[tuple[int, int, bool]],
    tracker: _JSONTracker | None,
) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            spans.append((_length(out), node.pos, True))
            out.append(node.text)
            if tracker is not None:
                tracker.feed(node.text)
        elif isinstance(node, _Action):
            value = _evaluate(node.pipeline, context, source)
            if tracker is None:
                text = _to_text(value)
            elif tracker.in_string:
                # Escape for a JSON string body: the quotes are the template's own,
                # so `json` output that is already a string literal loses its quotes.
                if isinstance(value, _JSONValue) and value.startswith('"'):
                    text = value[1:-1]
                else:
                    text = json.dumps(_to_text(value), ensure_ascii=False)[1:-1]
            else:
                text = _to_json(value)
            spans.append((_length(out), node.pos, False))
            out.append(text)
        else:
            branch = node.body if _truthy(_evaluate(node.condition, context, source)) else node.orelse
            _render_nodes(branch, context, source, out, spans, tracker)


def render(template: Template | str, context: Mapping[str, Any], *, json_mode: bool = False) -> str:
    """Render with ``context`` (variable name to value); ``json_mode`` escapes for JSON."""
    text, _spans = _render_with_spans(template, context, json_mode)
    return text


def _render_with_spans(template: Template | str, context: Mapping[str, Any], json_mode: bool) -> tuple[str, list[tuple[int, int, bool]]]:
    parsed = parse(template) if isinstance(template, str) else template
    out: list[str] = []
    spans: list[tuple[int, int, bool]] = []
    _render_nodes(parsed.nodes, context, parsed.source, out, spans, _JSONTracker() if json_mode else None)
    return "".join(out), spans


def _template_offset(spans: list[tuple[int, int, bool]], output_offset: int) -> int:
    best = (0, 0, True)
    for span in spans:
        if span[0] <= output_offset:
            best = span
        else:
            break
    out_start, template_start, literal = best
    return template_start + (output_offset - out_start) if literal else template_start


def render_json(template: Template | str, context: Mapping[str, Any]) -> Any:
    """Render in JSON mode and parse the result; ``TemplateError`` points into the template."""
    parsed = parse(template) if isinstance(template, str) else template
    text, spans = _render_with_spans(parsed, context, True)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        offset = _template_offset(spans, exc.pos)
        raise _error(parsed.source, offset, f"the rendered payload is not valid JSON: {exc.msg}") from None


def validate_json_template(source: str) -> None:
    """Reject a template that cannot yield valid JSON, raising ``TemplateError`` with its position.

    It is rendered with sample contexts covering firing and resolved alerts,
    unknown values and text with quotes, backslashes and newlines.
    """
    parsed = parse(source)
    for context in sample_contexts():
        render_json(parsed, context)


# --- the variables for a notification -------------------------------------------------------


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def format_duration(seconds: float) -> str:
    """Format seconds as ``1h 2m`` / ``5m 3s`` / ``42s``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _join_unique(values: list[str | None]) -> str:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return ", ".join(seen)


def template_context(notification: Notification) -> dict[str, Any]:
    """Return the documented variables for ``notification``.

    A grouped notification reports the highest level, the joined names and
    messages, and leaves Value and Threshold empty unless only one alert is in it.
    """
    alerts = notification.alerts
    event = "resolved" if notification.event == "resolved" else "alert"
    if not alerts:
        return {
            "Level": "info", "Type": notification.event, "Message": notification.title, "Value": None,
            "Threshold": None, "ResourceName": "", "ResourceID": "", "ResourceType": "", "Node": "",
            "Instance": "", "Timestamp": _iso(notification.created), "StartTime": _iso(notification.created),
            "Duration": "0s", "Event": event, "Acknowledged": False,
        }
    first: Alert = alerts[0]
    single = len(alerts) == 1
    level = "critical" if any(alert.level == "critical" for alert in alerts) else "warning"
    start = min(alert.start_time for alert in alerts)
    end = notification.created
    if event == "resolved":
        end = max((alert.resolved_time or notification.created) for alert in alerts)
    return {
        "Level": level,
        "Type": first.type if single else (_join_unique([alert.type for alert in alerts])),
        "Message": first.message if single else "\n".join(alert.message for alert in alerts),
        "Value": first.value if single else None,
        "Threshold": first.threshold if single else None,
        "ResourceName": _join_unique([alert.resource_name for alert in alerts]),
        "ResourceID": _join_unique([alert.resource_id for alert in alerts]),
        "ResourceType": _join_unique([alert.resource_type for alert in alerts]),
        "Node": _join_unique([alert.node for alert in alerts]),
        "Instance": _join_unique([alert.instance for alert in alerts]),
        "Timestamp": _iso(notification.created),
        "StartTime": _iso(start),
        "Duration": format_duration(end - start),
        "Event": event,
        "Acknowledged": all(alert.acknowledged for alert in alerts),
    }


def sample_alert(**overrides: Any) -> Alert:
    """Return an example alert for previews and test deliveries."""
    values: dict[str, Any] = {
        "id": "pve1-100-cpu", "type": "cpu", "level": "warning", "resource_id": "pve1-100",
        "resource_name": "web-01", "resource_type": "guest", "node": "pve1", "instance": "pve1",
        "message": "VM web-01 CPU at 92% (threshold 80%)", "value": 92.0, "threshold": 80.0,
        "start_time": 1_700_000_000.0, "last_seen": 1_700_000_300.0,
    }
    values.update(overrides)
    return Alert(**values)


def sample_contexts() -> list[dict[str, Any]]:
    """Return contexts that exercise every branch a JSON template is likely to have."""
    firing = Notification("sample-1", "alert", [sample_alert()], "Pulse alert", 1_700_000_300.0)
    resolved_alert = sample_alert(level="critical", resolved_time=1_700_000_600.0, acknowledged=True)
    resolved = Notification("sample-2", "resolved", [resolved_alert], "Pulse resolved", 1_700_000_600.0)
    awkward = sample_alert(
        resource_name='a"b\\c\n{"x": 1}', message="line one\nline two \"quoted\" \t{{.Level}}",
        value=None, threshold=None, node=None, instance=None,
    )
    grouped = Notification("sample-3", "alert", [awkward, sample_alert(id="other")], "Pulse alerts", 1_700_000_300.0)
    return [template_context(firing), template_context(resolved), template_context(grouped)]

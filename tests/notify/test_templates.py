"""Template rendering: the documented syntax, JSON escaping and the sandbox."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_core.model import Notification
from pulse_core.notify.templates import (
    TemplateError,
    parse,
    render,
    render_json,
    sample_alert,
    template_context,
    validate_json_template,
)

DOC_TEMPLATE = '{"alert": "{{.Level}}: {{.Message}}", "value": {{.Value}}}'


def context(**overrides):
    notification = Notification("n1", "alert", [sample_alert(**overrides)], "title", 1_700_000_300.0)
    return template_context(notification)


def test_documented_example_renders_valid_json():
    payload = render_json(DOC_TEMPLATE, context())
    assert payload == {"alert": "warning: VM web-01 CPU at 92% (threshold 80%)", "value": 92.0}


def test_quote_and_newline_in_name_stay_valid_json():
    template = '{"name": "{{.ResourceName}}", "msg": "{{.Message}}"}'
    payload = render_json(template, context(resource_name='a"b', message="one\ntwo\\"))
    assert payload["name"] == 'a"b'
    assert payload["msg"] == "one\ntwo\\"


def test_value_outside_string_is_json_value():
    payload = render_json('{"v": {{.Value}}, "t": {{.Threshold}}, "n": {{.ResourceName}}, "a": {{.Acknowledged}}}',
                          context(value=None, threshold=80.5))
    assert payload == {"v": None, "t": 80.5, "n": "web-01", "a": False}


def test_json_function_inside_and_outside_string():
    payload = render_json('{"a": {{json .Message}}, "b": "x {{json .Message}} y"}', context(message='say "hi"'))
    assert payload["a"] == 'say "hi"'
    assert payload["b"] == 'x say "hi" y'


def test_urlquery_and_pipes():
    text = render("https://x/?q={{urlquery .ResourceName}}&l={{.Level | upper}}", context(resource_name="a b&c"))
    assert text == "https://x/?q=a+b%26c&l=WARNING"


def test_if_else_on_event():
    template = '{{if eq .Event "resolved"}}resolve{{else}}trigger{{end}}'
    firing = template_context(Notification("n", "alert", [sample_alert()], "t", 1.0))
    resolved = template_context(Notification("n", "resolved", [sample_alert(resolved_time=2.0)], "t", 2.0))
    assert render(template, firing) == "trigger"
    assert render(template, resolved) == "resolve"


def test_trim_markers_and_comments():
    assert render("a  {{- /* note */ -}}  b {{- .Level}}", context()) == "abwarning"


@pytest.mark.parametrize(
    ("template", "reason", "column"),
    [
        ("{{.Secret}}", "unknown variable .Secret", 3),
        ("x {{.Level", "never closed", 3),
        ("{{if .Level}}x", "never closed with {{end}}", 1),
        ("{{end}}", "without a matching", 3),
        ("{{printf .Level}}", "unknown function 'printf'", 3),
        ('{{.Level.__class__}}', "unknown variable .__class__", 9),
        ("{{.Level[0]}}", "unexpected character", 9),
        ("{{}}", "empty action", 3),
    ],
)
def test_parse_errors_name_position(template, reason, column):
    with pytest.raises(TemplateError) as caught:
        parse(template)
    assert reason in caught.value.reason
    assert caught.value.line == 1
    assert caught.value.column == column


def test_invalid_json_template_rejected_with_position():
    template = '{\n  "alert": "{{.Level}}",\n  "value": {{.Value}\n}'
    with pytest.raises(TemplateError):
        validate_json_template(template)
    broken = '{\n  "alert": "{{.Level}}"\n  "value": 1\n}'
    with pytest.raises(TemplateError) as caught:
        validate_json_template(broken)
    assert caught.value.line == 3
    assert caught.value.column == 3
    assert "not valid JSON" in str(caught.value)


def test_unquoted_text_variable_still_valid():
    # A text variable outside quotes is written as a JSON string, not bare text.
    validate_json_template('{"msg": {{.Message}}}')


def test_grouped_context_joins_alerts():
    alerts = [sample_alert(), sample_alert(id="b", resource_name="db-01", level="critical", message="disk full")]
    ctx = template_context(Notification("n", "alert", alerts, "t", 1_700_000_400.0))
    assert ctx["Level"] == "critical"
    assert ctx["ResourceName"] == "web-01, db-01"
    assert ctx["Value"] is None
    assert ctx["Duration"] == "6m 40s"


text_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(name=text_values, message=text_values, node=st.one_of(st.none(), text_values),
       value=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_any_values_yield_valid_json(name, message, node, value):
    template = ('{"text": "{{.Level}} {{.ResourceName}}: {{.Message}}", "node": "{{.Node}}", '
                '"raw": {{.Message}}, "v": {{.Value}}, "j": {{json .ResourceName}}, '
                '"u": "{{urlquery .Message}}", "h": "{{html .Message}}"}')
    payload = render_json(template, context(resource_name=name, message=message, node=node, value=value))
    assert payload["raw"] == message
    assert payload["j"] == name
    assert payload["node"] == (node or "")
    json.dumps(payload)

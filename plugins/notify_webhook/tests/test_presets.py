"""Service presets: payload shapes the services accept, escaping and limits."""

from __future__ import annotations

import json

import pytest

from pulse_core.model import Notification
from pulse_core.notify.templates import sample_alert
from pulse_notify_webhook.presets import PRESETS, missing_custom_fields


def firing(**overrides):
    return Notification("n1", "alert", [sample_alert(**overrides)], "Warning: web-01 cpu", 1_700_000_300.0)


def resolved(**overrides):
    alert = sample_alert(resolved_time=1_700_000_600.0, **overrides)
    return Notification("n2", "resolved", [alert], "Resolved: web-01 cpu", 1_700_000_600.0)


@pytest.mark.parametrize("service", sorted(PRESETS))
@pytest.mark.parametrize("make", [firing, resolved])
def test_every_preset_yields_json(service, make):
    custom = {"chat_id": "42", "token": "t", "user_key": "u", "routing_key": "r"}
    requests = PRESETS[service].build(make(resource_name='a"b\nc'), "https://example.invalid/x/topic", custom)
    assert requests
    for request in requests:
        json.loads(json.dumps(request.payload))


def test_discord_embed_limits_and_colors():
    [request] = PRESETS["discord"].build(firing(level="critical", message="m" * 5000), "https://x/api/webhooks/1/2", {})
    embed = request.payload["embeds"][0]
    assert len(embed["description"]) == 4096
    assert embed["color"] == 0xE74C3C
    assert "url" not in embed
    [request] = PRESETS["discord"].build(resolved(), "https://x", {"link_url": "/relative", "avatar_url": "ftp://x"})
    assert request.payload["embeds"][0]["color"] == 0x2ECC71
    assert "url" not in request.payload["embeds"][0]
    assert "avatar_url" not in request.payload


def test_discord_keeps_absolute_link():
    [request] = PRESETS["discord"].build(firing(), "https://x", {"link_url": "https://pulse.example/alerts"})
    assert request.payload["embeds"][0]["url"] == "https://pulse.example/alerts"


def test_telegram_escapes_html_parse_mode():
    url = "https://api.telegram.invalid/bot1:abc/sendMessage?chat_id=-100123"
    [request] = PRESETS["telegram"].build(firing(resource_name="<script>&"), url, {})
    assert request.payload["parse_mode"] == "HTML"
    assert request.payload["chat_id"] == "-100123"
    assert "&lt;script&gt;&amp;" in request.payload["text"]
    assert "<script>" not in request.payload["text"]
    assert "chat_id" not in request.url


def test_gotify_has_message_title_priority():
    [request] = PRESETS["gotify"].build(firing(level="critical"), "https://g/message?token=x", {})
    assert request.payload["message"].startswith("VM web-01 CPU at 92%")
    assert request.payload["title"] == "Warning: web-01 cpu"
    assert request.payload["priority"] == 8


def test_ntfy_topic_from_url():
    [request] = PRESETS["ntfy"].build(firing(), "https://ntfy.invalid/alerts", {})
    assert request.url == "https://ntfy.invalid/"
    assert request.payload["topic"] == "alerts"
    assert request.payload["priority"] == 4


def test_pushover_token_and_user_from_url_query():
    url = "https://api.pushover.invalid/1/messages.json?token=APP&user=USER"
    [request] = PRESETS["pushover"].build(firing(), url, {})
    assert request.payload["token"] == "APP"
    assert request.payload["user"] == "USER"
    assert missing_custom_fields("pushover", url, {}) == []
    assert missing_custom_fields("pushover", "https://api.pushover.invalid/1/messages.json", {}) == ["token", "user_key"]


def test_pagerduty_trigger_and_resolve_share_dedup_key():
    [trigger] = PRESETS["pagerduty"].build(firing(), "https://events.invalid/v2/enqueue", {"routing_key": "R"})
    [resolve] = PRESETS["pagerduty"].build(resolved(), "https://events.invalid/v2/enqueue", {"routing_key": "R"})
    assert trigger.payload["event_action"] == "trigger"
    assert trigger.payload["payload"]["severity"] == "warning"
    assert resolve.payload["event_action"] == "resolve"
    assert resolve.payload["dedup_key"] == trigger.payload["dedup_key"]
    assert "payload" not in resolve.payload


def test_pagerduty_one_event_per_alert():
    alerts = [sample_alert(id="a"), sample_alert(id="b")]
    requests = PRESETS["pagerduty"].build(Notification("g", "alert", alerts, "t", 1.0), "https://e", {"routing_key": "R"})
    assert [r.payload["dedup_key"] for r in requests] == ["pulse-a", "pulse-b"]
    assert [r.event_suffix for r in requests] == [":0", ":1"]


def test_teams_adaptive_card_and_message_card():
    [card] = PRESETS["teams"].build(firing(), "https://x/workflows/1", {})
    attachment = card.payload["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    [legacy] = PRESETS["teams_legacy"].build(resolved(), "https://x/webhookb2/1", {})
    assert legacy.payload["@type"] == "MessageCard"
    assert legacy.payload["themeColor"] == "2ECC71"


def test_slack_escapes_mrkdwn():
    [request] = PRESETS["slack"].build(firing(message="<!channel> & co"), "https://x/services/1", {})
    assert request.payload["blocks"][1]["text"]["text"] == "&lt;!channel&gt; &amp; co"

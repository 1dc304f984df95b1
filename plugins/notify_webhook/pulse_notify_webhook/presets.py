"""Service presets: the payload each service accepts for firing, resolved and test notifications.

Each preset builds its payload in Python from the template variables, so text
limits and escaping rules of the service are applied in one place. Payload
shapes follow each service's public API documentation. These are Discord
execute-webhook, Slack incoming webhooks with Block Kit, Teams workflow
Adaptive Cards and the older connector MessageCard, Telegram sendMessage,
Gotify POST /message, ntfy JSON publishing, Pushover messages.json, PagerDuty
Events API v2 and Mattermost incoming webhooks.

NOTE: the shapes were checked against that documentation and a loopback
receiver, not against the live services (tests never leave 127.0.0.1).
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulse_core.model import Notification
from pulse_core.notify.templates import template_context

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CustomField:
    name: str
    label: str
    required: bool = False
    secret: bool = False
    help: str = ""


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request a preset wants sent."""

    url: str
    payload: Payload
    event_suffix: str = ""  # appended to X-Pulse-Event-ID when one notification needs several requests


@dataclass(frozen=True, slots=True)
class Preset:
    service: str
    name: str
    url_pattern: str
    build: Callable[[Notification, str, Mapping[str, Any]], list[Request]]
    custom_fields: tuple[CustomField, ...] = ()
    instructions: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


# --- shared pieces ---------------------------------------------------------------------------

COLORS = {"critical": 0xE74C3C, "warning": 0xF39C12, "resolved": 0x2ECC71, "info": 0x3498DB}


def _state(notification: Notification, ctx: Mapping[str, Any]) -> str:
    if notification.event == "resolved":
        return "resolved"
    if notification.event == "test":
        return "info"
    return str(ctx["Level"])


def _headline(notification: Notification, ctx: Mapping[str, Any]) -> str:
    if notification.title:
        return notification.title
    return f"{ctx['Level']}: {ctx['ResourceName']}"


def _facts(ctx: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = [
        ("Resource", f"{ctx['ResourceName']} ({ctx['ResourceType']})" if ctx["ResourceType"] else str(ctx["ResourceName"])),
        ("Node", str(ctx["Node"])),
        ("Level", str(ctx["Level"])),
        ("Type", str(ctx["Type"])),
    ]
    if ctx["Value"] is not None:
        facts.append(("Value", _number(ctx["Value"])))
    if ctx["Threshold"] is not None:
        facts.append(("Threshold", _number(ctx["Threshold"])))
    facts.append(("Duration", str(ctx["Duration"])))
    return [(name, value) for name, value in facts if value]


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --- presets ---------------------------------------------------------------------------------


def build_generic(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    payload = {
        "event": ctx["Event"] if notification.event != "test" else "test",
        "title": _headline(notification, ctx),
        "level": ctx["Level"],
        "type": ctx["Type"],
        "message": ctx["Message"],
        "value": ctx["Value"],
        "threshold": ctx["Threshold"],
        "resourceName": ctx["ResourceName"],
        "resourceId": ctx["ResourceID"],
        "resourceType": ctx["ResourceType"],
        "node": ctx["Node"],
        "instance": ctx["Instance"],
        "timestamp": ctx["Timestamp"],
        "startTime": ctx["StartTime"],
        "duration": ctx["Duration"],
        "acknowledged": ctx["Acknowledged"],
        "alerts": [
            {"id": alert.id, "type": alert.type, "level": alert.level, "resourceName": alert.resource_name,
             "resourceId": alert.resource_id, "message": alert.message, "value": alert.value, "threshold": alert.threshold}
            for alert in notification.alerts
        ],
    }
    return [Request(url, payload)]


def build_discord(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    embed: Payload = {
        "title": _truncate(_headline(notification, ctx), 256),
        "description": _truncate(str(ctx["Message"]), 4096),
        "color": COLORS[_state(notification, ctx)],
        "fields": [{"name": name, "value": _truncate(value, 1024), "inline": True} for name, value in _facts(ctx)][:25],
        "timestamp": ctx["Timestamp"],
        "footer": {"text": "Pulse"},
    }
    # Discord rejects the whole message when a URL field is not an absolute http(s) URL.
    if _is_http_url(custom.get("link_url")):
        embed["url"] = custom["link_url"]
    payload: Payload = {"username": str(custom.get("username") or "Pulse"), "embeds": [embed]}
    if _is_http_url(custom.get("avatar_url")):
        payload["avatar_url"] = custom["avatar_url"]
    return [Request(url, payload)]


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_slack(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    headline = _headline(notification, ctx)
    facts = "\n".join(f"*{name}:* {_slack_escape(value)}" for name, value in _facts(ctx))
    payload: Payload = {
        "text": _truncate(f"{headline}: {ctx['Message']}", 3000),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _truncate(headline, 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(_slack_escape(str(ctx["Message"])), 3000)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(facts or "-", 3000)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Pulse · {ctx['Timestamp']}"}]},
        ],
    }
    if custom.get("channel"):
        payload["channel"] = str(custom["channel"])
    return [Request(url, payload)]


def build_mattermost(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    payload: Payload = {
        "username": str(custom.get("username") or "Pulse"),
        "text": f"#### {_headline(notification, ctx)}",
        "attachments": [{
            "fallback": _truncate(f"{_headline(notification, ctx)}: {ctx['Message']}", 1000),
            "color": f"#{COLORS[_state(notification, ctx)]:06X}",
            "text": str(ctx["Message"]),
            "fields": [{"short": True, "title": name, "value": value} for name, value in _facts(ctx)],
        }],
    }
    if custom.get("channel"):
        payload["channel"] = str(custom["channel"])
    return [Request(url, payload)]


_TEAMS_COLORS = {"critical": "Attention", "warning": "Warning", "resolved": "Good", "info": "Accent"}


def build_teams(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": True,
             "color": _TEAMS_COLORS[_state(notification, ctx)], "text": _headline(notification, ctx)},
            {"type": "TextBlock", "wrap": True, "text": str(ctx["Message"])},
            {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in _facts(ctx)]},
        ],
    }
    payload = {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}],
    }
    return [Request(url, payload)]


def build_teams_legacy(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    payload = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": f"{COLORS[_state(notification, ctx)]:06X}",
        "summary": _headline(notification, ctx),
        "title": _headline(notification, ctx),
        "sections": [{
            "activityTitle": str(ctx["ResourceName"]) or "Pulse",
            "text": str(ctx["Message"]),
            "facts": [{"name": name, "value": value} for name, value in _facts(ctx)],
        }],
    }
    return [Request(url, payload)]


def build_telegram(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    # HTML parse mode: only <, > and & need escaping, unlike MarkdownV2's long list.
    lines = [f"<b>{html.escape(_headline(notification, ctx), quote=False)}</b>", html.escape(str(ctx["Message"]), quote=False), ""]
    lines += [f"<b>{html.escape(name, quote=False)}:</b> {html.escape(value, quote=False)}" for name, value in _facts(ctx)]
    payload = {
        "chat_id": _telegram_chat_id(url, custom),
        "text": _truncate("\n".join(lines), 4096),
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
    }
    return [Request(_strip_query_key(url, "chat_id"), payload)]


def _telegram_chat_id(url: str, custom: Mapping[str, Any]) -> str:
    if custom.get("chat_id"):
        return str(custom["chat_id"])
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    return query.get("chat_id", "")


def _strip_query_key(url: str, key: str) -> str:
    parts = urllib.parse.urlsplit(url)
    pairs = [(name, value) for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if name != key]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(pairs)))


_GOTIFY_PRIORITY = {"critical": 8, "warning": 5, "resolved": 2, "info": 4}


def build_gotify(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    state = _state(notification, ctx)
    facts = "\n".join(f"{name}: {value}" for name, value in _facts(ctx))
    payload = {
        "title": _headline(notification, ctx),
        "message": f"{ctx['Message']}\n\n{facts}".strip(),
        "priority": int(custom.get("priority") or _GOTIFY_PRIORITY[state]),
        "extras": {"client::display": {"contentType": "text/plain"}},
    }
    return [Request(url, payload)]


_NTFY_PRIORITY = {"critical": 5, "warning": 4, "resolved": 3, "info": 3}
_NTFY_TAGS = {"critical": "rotating_light", "warning": "warning", "resolved": "white_check_mark", "info": "information_source"}


def build_ntfy(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    state = _state(notification, ctx)
    # JSON publishing goes to the server root with the topic in the body.
    parts = urllib.parse.urlsplit(url)
    topic = str(custom.get("topic") or "")
    target = url
    if not topic:
        path, _, topic = parts.path.rstrip("/").rpartition("/")
        target = urllib.parse.urlunsplit(parts._replace(path=path or "/"))
    payload = {
        "topic": topic,
        "title": _headline(notification, ctx),
        "message": str(ctx["Message"]) or _headline(notification, ctx),
        "priority": _NTFY_PRIORITY[state],
        "tags": [_NTFY_TAGS[state]],
    }
    return [Request(target, payload)]


_PUSHOVER_PRIORITY = {"critical": 1, "warning": 0, "resolved": -1, "info": 0}


def build_pushover(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    ctx = template_context(notification)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    facts = "\n".join(f"{name}: {value}" for name, value in _facts(ctx))
    payload = {
        "token": str(custom.get("token") or query.get("token", "")),
        "user": str(custom.get("user_key") or query.get("user", "")),
        "title": _truncate(_headline(notification, ctx), 250),
        "message": _truncate(f"{ctx['Message']}\n{facts}".strip(), 1024),
        "priority": _PUSHOVER_PRIORITY[_state(notification, ctx)],
        "timestamp": int(notification.created),
    }
    return [Request(url, payload)]


_PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning"}


def build_pagerduty(notification: Notification, url: str, custom: Mapping[str, Any]) -> list[Request]:
    # One event per alert, so each alert has its own incident and resolves on its own.
    requests: list[Request] = []
    for index, alert in enumerate(notification.alerts or [None]):
        single = Notification(notification.id, notification.event, [alert] if alert else [], notification.title, notification.created)
        ctx = template_context(single)
        dedup_key = f"pulse-{alert.id}" if alert else f"pulse-test-{notification.id}"
        event: Payload = {"routing_key": str(custom.get("routing_key", "")), "dedup_key": dedup_key}
        if notification.event == "resolved":
            event["event_action"] = "resolve"
        else:
            event["event_action"] = "trigger"
            event["client"] = "Pulse"
            event["payload"] = {
                "summary": _truncate(f"{ctx['Level']}: {ctx['Message']}" if alert else notification.title, 1024),
                "source": str(ctx["ResourceName"] or ctx["Node"] or "pulse"),
                "severity": _PAGERDUTY_SEVERITY.get(str(ctx["Level"]), "info"),
                "timestamp": ctx["StartTime"],
                "component": str(ctx["ResourceName"]),
                "group": str(ctx["Node"]),
                "class": str(ctx["Type"]),
                "custom_details": {name.lower(): value for name, value in _facts(ctx)},
            }
        requests.append(Request(url, event, event_suffix=f":{index}" if len(notification.alerts) > 1 else ""))
    return requests


PRESETS: dict[str, Preset] = {
    preset.service: preset
    for preset in [
        Preset("generic", "Generic JSON", "https://example.com/webhook", build_generic,
               instructions="Any endpoint that accepts a JSON POST; set a template to shape the payload."),
        Preset("discord", "Discord", "https://discord.com/api/webhooks/{id}/{token}", build_discord,
               (CustomField("username", "Bot name"), CustomField("avatar_url", "Avatar URL (absolute http/https)"),
                CustomField("link_url", "Link for the title (absolute http/https)")),
               "Server settings → Integrations → Webhooks → New Webhook → Copy Webhook URL."),
        Preset("slack", "Slack", "https://hooks.slack.com/services/{T}/{B}/{token}", build_slack,
               (CustomField("channel", "Channel override"),),
               "Create an app with Incoming Webhooks enabled and copy the webhook URL."),
        Preset("teams", "Microsoft Teams (Workflows)", "https://{region}.logic.azure.com/workflows/{id}/triggers/manual/paths/invoke?...",
               build_teams, instructions="In the channel, add the workflow 'Post to a channel when a webhook request is received' and copy its URL."),
        Preset("teams_legacy", "Microsoft Teams (Office 365 connector)", "https://{tenant}.webhook.office.com/webhookb2/...",
               build_teams_legacy, instructions="For channels that still have an Incoming Webhook connector."),
        Preset("telegram", "Telegram", "https://api.telegram.org/bot{bot_token}/sendMessage", build_telegram,
               (CustomField("chat_id", "Chat ID", required=True, help="Or add ?chat_id= to the URL."),),
               "Create a bot with @BotFather, then find the chat id with getUpdates."),
        Preset("gotify", "Gotify", "https://gotify.example.com/message?token={app_token}", build_gotify,
               (CustomField("priority", "Priority override (0-10)"),),
               "Create an application in Gotify and use its token in the URL."),
        Preset("ntfy", "ntfy", "https://ntfy.sh/{topic}", build_ntfy,
               (CustomField("topic", "Topic (when not the last part of the URL)"),),
               "Use the topic URL; add an Authorization header for protected topics."),
        Preset("pushover", "Pushover", "https://api.pushover.net/1/messages.json", build_pushover,
               (CustomField("token", "Application token", required=True, secret=True, help="Or ?token= in the URL."),
                CustomField("user_key", "User or group key", required=True, secret=True, help="Or ?user= in the URL.")),
               "Register an application at Pushover for its API token; the user key is on your dashboard."),
        Preset("pagerduty", "PagerDuty (Events API v2)", "https://events.pagerduty.com/v2/enqueue", build_pagerduty,
               (CustomField("routing_key", "Integration (routing) key", required=True, secret=True),),
               "Add an 'Events API V2' integration to a service and copy its integration key."),
        Preset("mattermost", "Mattermost", "https://mattermost.example.com/hooks/{key}", build_mattermost,
               (CustomField("channel", "Channel override"), CustomField("username", "Bot name")),
               "Integrations → Incoming Webhooks → Add Incoming Webhook."),
    ]
}

# Custom-field names whose values are credentials: masked in API responses.
SECRET_CUSTOM_FIELDS = frozenset(f.name for preset in PRESETS.values() for f in preset.custom_fields if f.secret)


def missing_custom_fields(service: str, url: str, custom: Mapping[str, Any]) -> list[str]:
    """Return the required custom fields that are neither set nor given in the URL query."""
    preset = PRESETS[service]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    url_aliases = {"chat_id": "chat_id", "token": "token", "user_key": "user"}
    missing = []
    for item in preset.custom_fields:
        if not item.required or custom.get(item.name):
            continue
        if url_aliases.get(item.name) in query:
            continue
        missing.append(item.name)
    return missing

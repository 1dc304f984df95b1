"""Webhook settings: validation of API input, the stored form and the redacted API form."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulse_core.errors import ConfigError
from pulse_core.notify.redact import MASK, redact_url
from pulse_core.notify.templates import TemplateError, validate_json_template

from pulse_notify_webhook.presets import PRESETS, SECRET_CUSTOM_FIELDS, _is_http_url, missing_custom_fields

SECTION = "notifications_webhooks"
METHODS = ("POST", "PUT", "PATCH")
DEFAULT_RATE_LIMIT = 30  # deliveries per minute per webhook
MAX_RATE_LIMIT = 600
# Headers the channel sets itself; a user header must not replace them.
RESERVED_HEADERS = frozenset({"content-length", "host", "x-pulse-event-id", "x-pulse-signature", "x-pulse-timestamp"})
# The fields parse_webhook reads from API input.
INPUT_FIELDS = ("name", "url", "service", "method", "enabled", "headers", "template", "customFields", "hmacSecret",
                "rateLimitPerMinute")
# Fields of the API form that parse_webhook ignores: the UI sends the document it loaded back with its edits.
RESPONSE_ONLY_FIELDS = ("id", "hasSigningSecret")
KNOWN_FIELDS = INPUT_FIELDS + RESPONSE_ONLY_FIELDS


@dataclass(slots=True)
class WebhookConfig:
    """One configured webhook, as stored in the settings section (snake_case keys)."""

    id: str
    name: str
    url: str
    service: str = "generic"
    method: str = "POST"
    enabled: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    template: str = ""
    custom_fields: dict[str, Any] = field(default_factory=dict)
    hmac_secret: str = ""
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> WebhookConfig:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            url=str(data.get("url", "")),
            service=str(data.get("service", "generic")),
            method=str(data.get("method", "POST")),
            enabled=bool(data.get("enabled", True)),
            headers=dict(data.get("headers") or {}),
            template=str(data.get("template") or ""),
            custom_fields=dict(data.get("custom_fields") or {}),
            hmac_secret=str(data.get("hmac_secret") or ""),
            rate_limit_per_minute=int(data.get("rate_limit_per_minute", DEFAULT_RATE_LIMIT)),
        )

    def to_stored(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "url": self.url, "service": self.service, "method": self.method,
            "enabled": self.enabled, "headers": dict(self.headers), "template": self.template,
            "custom_fields": dict(self.custom_fields), "hmac_secret": self.hmac_secret,
            "rate_limit_per_minute": self.rate_limit_per_minute,
        }

    def to_api(self) -> dict[str, Any]:
        """Return the API form: URL redacted, header values, secret fields and the HMAC secret masked."""
        return {
            "id": self.id,
            "name": self.name,
            "url": redact_url(self.url, self.service),
            "service": self.service,
            "method": self.method,
            "enabled": self.enabled,
            "headers": {name: MASK for name in self.headers},
            "template": self.template,
            "customFields": {
                name: (MASK if name in SECRET_CUSTOM_FIELDS and value else value) for name, value in self.custom_fields.items()
            },
            "hasSigningSecret": bool(self.hmac_secret),
            "rateLimitPerMinute": self.rate_limit_per_minute,
        }


def _text(data: Mapping[str, Any], key: str, problems: list[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{key}: must be a string")
        return None
    return value.strip()


def parse_webhook(data: Any, existing: WebhookConfig | None = None) -> WebhookConfig:
    """Build a webhook from API input (camelCase), keeping ``existing`` values for omitted or masked fields.

    Raises ``ConfigError`` with one ``field: reason`` line per problem.
    """
    if not isinstance(data, dict):
        raise ConfigError("body: expected a JSON object")
    problems: list[str] = []
    base = existing or WebhookConfig(id=uuid.uuid4().hex[:12], name="", url="")

    name = _text(data, "name", problems)
    name = base.name if name is None else name
    if not name:
        problems.append("name: missing; give the webhook a name")

    service = _text(data, "service", problems)
    service = base.service if service is None else (service.lower() or "generic")
    if service not in PRESETS:
        problems.append(f"service: unknown service {service!r}; use one of {', '.join(PRESETS)}")

    url = _text(data, "url", problems)
    # The UI sends back the redacted URL it was shown; that means "unchanged".
    if url is None or (existing is not None and url == redact_url(existing.url, existing.service)):
        url = base.url
    if not url:
        problems.append("url: missing; paste the webhook URL of the service")
    elif not _is_http_url(url):
        problems.append("url: must be an absolute http:// or https:// URL")

    method = _text(data, "method", problems)
    method = base.method if method is None else (method.upper() or "POST")
    if method not in METHODS:
        problems.append(f"method: must be one of {', '.join(METHODS)}, got {method!r}")

    enabled = data.get("enabled", base.enabled)
    if not isinstance(enabled, bool):
        problems.append("enabled: must be true or false")
        enabled = base.enabled

    headers = _parse_headers(data.get("headers"), base.headers, problems)
    custom = _parse_custom_fields(data.get("customFields"), base.custom_fields, problems)

    template = _text(data, "template", problems)
    template = base.template if template is None else template
    if template:
        try:
            validate_json_template(template)
        except TemplateError as exc:
            problems.append(f"template: {exc}")

    secret = data.get("hmacSecret")
    if secret is None or secret == MASK:
        secret = base.hmac_secret
    elif not isinstance(secret, str):
        problems.append("hmacSecret: must be a string (empty to turn signing off)")
        secret = base.hmac_secret

    rate = data.get("rateLimitPerMinute", base.rate_limit_per_minute)
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE_LIMIT:
        problems.append(f"rateLimitPerMinute: must be a whole number from 1 to {MAX_RATE_LIMIT}")
        rate = base.rate_limit_per_minute

    if service in PRESETS and url and not template:
        for missing in missing_custom_fields(service, url, custom):
            problems.append(f"customFields.{missing}: required for {PRESETS[service].name}")

    if problems:
        raise ConfigError(problems)
    return WebhookConfig(
        id=base.id, name=name, url=url, service=service, method=method, enabled=enabled, headers=headers,
        template=template, custom_fields=custom, hmac_secret=secret.strip(), rate_limit_per_minute=rate,
    )


def _parse_headers(value: Any, old: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    if value is None:
        return dict(old)
    if not isinstance(value, dict):
        problems.append("headers: must be an object of header names to values")
        return dict(old)
    headers: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(item, str) or not name or any(ch in name for ch in " :\r\n"):
            problems.append(f"headers.{name}: needs a valid header name and a string value")
            continue
        if name.lower() in RESERVED_HEADERS:
            problems.append(f"headers.{name}: set by Pulse itself and cannot be overridden")
            continue
        if "\r" in item or "\n" in item:
            problems.append(f"headers.{name}: must not contain line breaks")
            continue
        headers[name] = old.get(name, "") if item == MASK else item
    return headers


def _parse_custom_fields(value: Any, old: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    if value is None:
        return dict(old)
    if not isinstance(value, dict):
        problems.append("customFields: must be an object")
        return dict(old)
    custom: dict[str, Any] = {}
    for name, item in value.items():
        if not isinstance(item, (str, int, float, bool)) and item is not None:
            problems.append(f"customFields.{name}: must be a string or number")
            continue
        if name in ("avatar_url", "link_url") and item and not _is_http_url(item):
            problems.append(f"customFields.{name}: must be an absolute http:// or https:// URL")
            continue
        custom[name] = old.get(name) if item == MASK else item
    return custom


def load_webhooks(settings: Any) -> list[WebhookConfig]:
    return [WebhookConfig.from_stored(item) for item in settings.get(SECTION, []) or []]

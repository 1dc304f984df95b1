"""One webhook as a notifier channel: builds the payload, signs it and makes one delivery attempt."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import trio

import pulse_core
from pulse_core.model import DeliveryResult, Notification
from pulse_core.notify.redact import redact_url, scrub, secret_fragments
from pulse_core.notify.templates import render_json, template_context

from pulse_notify_webhook.config import WebhookConfig
from pulse_notify_webhook.presets import PRESETS, SECRET_CUSTOM_FIELDS, Request

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of a reply
MAX_REPORTED_CHARS = 2000  # keep at most this much of it in results and the queue


class RateLimiter:
    """Token bucket on Trio's clock: ``per_minute`` deliveries, bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(max(per_minute, 1))
        self.rate = self.capacity / 60.0
        self.tokens = self.capacity
        self.updated: float | None = None

    async def acquire(self) -> None:
        while True:
            now = trio.current_time()
            if self.updated is not None:
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            await trio.sleep((1.0 - self.tokens) / self.rate)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Return the delay in seconds that a ``Retry-After`` header requests (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


class WebhookNotifier:
    """Delivers notifications to one configured webhook."""

    def __init__(
        self,
        config: WebhookConfig,
        *,
        timeout: float = TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.id = f"webhook:{config.id}"
        self.timeout = timeout
        self.transport = transport
        self.clock = clock
        self.limiter = RateLimiter(config.rate_limit_per_minute)
        self.redacted_url = redact_url(config.url, config.service)
        secret_values = [str(value) for name, value in config.custom_fields.items() if name in SECRET_CUSTOM_FIELDS and value]
        self._secrets = [*secret_fragments(config.url, config.service), *config.headers.values(), *secret_values]
        if config.hmac_secret:
            self._secrets.append(config.hmac_secret)

    def scrub(self, text: str) -> str:
        """Remove this webhook's secrets (URL parts, header values, tokens) from ``text``."""
        return scrub(text, self._secrets)

    def build_requests(self, notification: Notification) -> list[Request]:
        """Return the requests for ``notification``: the custom template's or the preset's."""
        if self.config.template:
            payload = render_json(self.config.template, template_context(notification))
            return [Request(self.config.url, payload)]
        return PRESETS[self.config.service].build(notification, self.config.url, self.config.custom_fields)

    async def send(self, notification: Notification, *, rate_limited: bool = True) -> DeliveryResult:
        """Make one attempt; a notification that needs several requests stops at the first failure."""
        if rate_limited:
            await self.limiter.acquire()
        result = DeliveryResult(ok=False, error="nothing to send")
        for request in self.build_requests(notification):
            result = await self._post(request, event_id=notification.id + request.event_suffix)
            if not result.ok:
                break
        return result

    def _headers(self, body: bytes, event_id: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"Pulse/{pulse_core.__version__}",
            **self.config.headers,
            "X-Pulse-Event-ID": event_id,
        }
        if self.config.hmac_secret:
            timestamp = str(int(self.clock()))
            signed = timestamp.encode() + b"." + body
            digest = hmac.new(self.config.hmac_secret.encode(), signed, hashlib.sha256).hexdigest()
            headers["X-Pulse-Timestamp"] = timestamp
            headers["X-Pulse-Signature"] = f"sha256={digest}"
        return headers

    async def _post(self, request: Request, event_id: str) -> DeliveryResult:
        body = json.dumps(request.payload, ensure_ascii=False).encode()
        headers = self._headers(body, event_id)
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport, follow_redirects=False) as client:
                async with client.stream(self.config.method, request.url, content=body, headers=headers) as response:
                    raw = await _read_capped(response)
        except httpx.TimeoutException:
            return self._failure(f"webhook {self.config.name} ({self.redacted_url}) timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return self._failure(f"webhook {self.config.name} ({self.redacted_url}) failed: {type(exc).__name__}: {exc}")

        text = self.scrub(raw.decode("utf-8", errors="replace"))[:MAX_REPORTED_CHARS]
        status = response.status_code
        if 200 <= status < 300:
            return DeliveryResult(ok=True, status_code=status, response=text)
        retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock()) if status in (429, 503) else None
        retryable = status in (408, 425, 429) or status >= 500
        return DeliveryResult(
            ok=False,
            status_code=status,
            response=text,
            error=f"webhook {self.config.name} ({self.redacted_url}) returned HTTP {status}: {text[:300]}".rstrip(": "),
            retry_after=retry_after,
            retryable=retryable,
        )

    def _failure(self, message: str) -> DeliveryResult:
        return DeliveryResult(ok=False, error=self.scrub(message), retryable=True)


async def _read_capped(response: httpx.Response) -> bytes:
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= MAX_RESPONSE_BYTES:
            return data[:MAX_RESPONSE_BYTES]
    return data


class WebhookNotifierType:
    name = "webhook"

    def channels(self, settings: Any) -> list[WebhookNotifier]:
        from pulse_notify_webhook.config import load_webhooks

        return [WebhookNotifier(config) for config in load_webhooks(settings) if config.enabled]

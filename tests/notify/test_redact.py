"""URL redaction, checked on the public service URLs without sending anything."""

from __future__ import annotations

import logging

import pytest

from pulse_core.notify.redact import RedactingFilter, redact_url, redact_urls_in_text, scrub, secret_fragments

CASES = [
    ("https://api.pushover.net/1/messages.json?token=APPTOKEN0000&user=USERKEY0000",
     "https://api.pushover.net/***?token=***&user=***", ["APPTOKEN0000", "USERKEY0000"]),
    ("https://api.telegram.org/bot123456:SECRETPART0000/sendMessage",
     "https://api.telegram.org/***", ["SECRETPART0000", "123456:SECRETPART0000"]),
    ("https://discord.com/api/webhooks/111111/SECRETPATH0000",
     "https://discord.com/***", ["SECRETPATH0000"]),
    ("https://gotify.example/message?token=GOTIFY0000",
     "https://gotify.example/***?token=***", ["GOTIFY0000"]),
    ("https://hooks.slack.com/services/T0000/B0000/slacksecretvalue",
     "https://hooks.slack.com/***", ["slacksecretvalue"]),
    ("https://example.webhook.office.com/webhookb2/abc@def/IncomingWebhook/ghi/jkl",
     "https://example.webhook.office.com/***", ["abc@def"]),
    ("https://prod-1.westus.logic.azure.com:443/workflows/abcdef/triggers/manual/paths/invoke?api-version=1&sig=SIGVALUE99",
     "https://prod-1.westus.logic.azure.com:443/***?api-version=***&sig=***", ["SIGVALUE99"]),
    ("https://user:hunter22@mail.example:8443/x", "https://***@mail.example:8443/***", ["hunter22"]),
]


@pytest.mark.parametrize(("url", "expected", "secrets"), CASES)
def test_redact_public_service_urls(url, expected, secrets):
    redacted = redact_url(url)
    assert redacted == expected
    for secret in secrets:
        assert secret not in redacted
        assert secret in secret_fragments(url)


SHAPES = [
    ("http://127.0.0.1:1/closed", "http://127.0.0.1:1/***"),
    ("http://127.0.0.1:18099/hook/a1b2c3d4e5f6", "http://127.0.0.1:18099/***"),
    ("https://my-service.example/webhook", "https://my-service.example/***"),
    ("https://ntfy.sh/alerts-topic", "https://ntfy.sh/***"),
    ("https://gotify.example/?token=QUERYTOKEN1", "https://gotify.example/?token=***"),
    ("https://receiver.example?key=QUERYTOKEN2", "https://receiver.example?key=***"),
    ("https://receiver.example/", "https://receiver.example/"),
    ("https://receiver.example", "https://receiver.example"),
]


@pytest.mark.parametrize(("url", "expected"), SHAPES)
def test_redact_same_rule_every_shape(url, expected):
    assert redact_url(url) == expected
    assert redact_urls_in_text(f"POST {url} failed") == f"POST {expected} failed"


def test_scrub_keeps_plain_path_words():
    url = "https://gotify.example/message?token=GOTIFY0000"
    cleaned = scrub("message rejected: token GOTIFY0000", secret_fragments(url))
    assert cleaned == "message rejected: token ***"


def test_ntfy_topic_masked_for_service():
    assert redact_url("https://ntfy.sh/alerts-topic", service="ntfy") == "https://ntfy.sh/***"


def test_not_a_url_masked_entirely():
    assert redact_url("not a url SECRET") == "***"


def test_scrub_removes_fragments_from_error_text():
    url = CASES[1][0]
    text = f"Client error for url {url}: token 123456:SECRETPART0000 rejected"
    cleaned = scrub(text, secret_fragments(url))
    assert "SECRETPART0000" not in cleaned


def test_urls_in_free_text_are_redacted():
    text = redact_urls_in_text("HTTP Request: POST https://discord.com/api/webhooks/1/SECRETPATH0000 200")
    assert text == "HTTP Request: POST https://discord.com/*** 200"


def test_filter_rewrites_record_arguments():
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("POST", "https://gotify.example/message?token=GOTIFY0000"), None)
    RedactingFilter().filter(record)
    assert "GOTIFY0000" not in record.getMessage()


def test_filter_redacts_bare_request_target():
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, '%s://%s:%s "%s %s %s" %s',
                               ("http", "127.0.0.1", 80, "POST", "/message?token=GOTIFY0000", "HTTP/1.1", 200), None)
    RedactingFilter().filter(record)
    assert "GOTIFY0000" not in record.getMessage()
    assert '"POST /***?token=*** HTTP/1.1"' in record.getMessage()

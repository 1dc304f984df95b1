"""Email composition: subjects for every event kind, and the level both body parts show."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from pulse_core.model import Alert, Notification
from pulse_core.notify.templates import sample_alert
from pulse_notify_email.channel import EmailNotifier
from pulse_notify_email.config import EmailConfig
from pulse_notify_email.message import subject_for
from pulse_notify_email.routes import build_test_notification

MEMORY = "Guest build-vm107: memory at 85.8%"
DISK = "Guest web-01: disk at 91%"


def memory_alert(**fields) -> Alert:
    values = {"id": "pve1-107-memory", "type": "memory", "resource_id": "pve1-107", "resource_name": "build-vm107",
              "message": MEMORY, "value": 85.8, "threshold": 85.0}
    values.update(fields)
    return sample_alert(**values)


def disk_alert(**fields) -> Alert:
    values = {"id": "pve1-100-disk", "type": "disk", "level": "critical", "message": DISK, "value": 91.0, "threshold": 90.0}
    values.update(fields)
    return sample_alert(**values)


# Titles are the ones the noise filter and the dispatcher write for webhooks, and the subject must not repeat them.
SUBJECT_CASES = [
    ("alert", [memory_alert()], MEMORY, f"[Pulse] Warning: {MEMORY}"),
    ("alert", [memory_alert()], "Warning: build-vm107 memory", f"[Pulse] Warning: {MEMORY}"),
    ("resolved", [memory_alert(resolved_time=1_700_000_600.0)], f"Resolved: {MEMORY}", f"[Pulse] Resolved: {MEMORY}"),
    ("flapping", [memory_alert()], f"Flapping: {MEMORY}", f"[Pulse] Flapping: {MEMORY}"),
    ("alert", [memory_alert(level="critical", metadata={"notified": True, "escalated": 1_700_000_500.0})],
     f"Escalated: {MEMORY}", f"[Pulse] Escalated (critical): {MEMORY}"),
    ("alert", [memory_alert(level="critical", metadata={"escalated": 1_700_000_100.0, "raised": 1_700_000_500.0})],
     MEMORY, f"[Pulse] Critical: {MEMORY}"),
    ("test", [sample_alert()], "Test email", "[Pulse] Test email"),
    ("alert", [memory_alert(), disk_alert()], "2 alerts firing", "[Pulse] 2 alerts firing (critical): build-vm107, web-01"),
    ("alert", [memory_alert(), memory_alert(id="pve1-107-cpu", type="cpu")], "2 alerts firing",
     "[Pulse] 2 alerts firing (warning): build-vm107"),
    ("resolved", [memory_alert(), disk_alert()], "2 alerts resolved", "[Pulse] 2 alerts resolved: build-vm107, web-01"),
    ("flapping", [memory_alert(), disk_alert()], "2 alerts flapping", "[Pulse] 2 alerts flapping: build-vm107, web-01"),
    ("alert", [memory_alert(metadata={"escalated": 1.0}), disk_alert(metadata={"escalated": 1.0})], "2 alerts escalated",
     "[Pulse] 2 alerts escalated (critical): build-vm107, web-01"),
]


@pytest.mark.parametrize(("event", "alerts", "title", "expected"), SUBJECT_CASES,
                         ids=["alert", "alert-dispatcher-title", "resolved", "flapping", "escalated", "raised-after-escalation",
                              "test", "grouped-alert", "grouped-same-guest", "grouped-resolved", "grouped-flapping",
                              "grouped-escalated"])
def test_subject_per_event_kind(event, alerts, title, expected):
    subject = subject_for(Notification("n1", event, alerts, title, 1_700_000_600.0))
    assert subject == expected


def test_subject_has_no_line_break():
    alert = memory_alert(message="memory\r\nBcc: someone@example.test")
    subject = subject_for(Notification("n1", "alert", [alert], "x", 1_700_000_600.0))
    assert subject == "[Pulse] Warning: memory Bcc: someone@example.test"


def shown_levels(message) -> tuple[str, str, str]:
    """Return the level of the first alert row in the plain part, in the HTML part, and the HTML bar colour."""
    plain = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    plain_level = re.search(r"^\[([A-Z]+)\] ", plain, re.MULTILINE)
    html_row = re.search(r"border-left:4px solid (#[0-9a-f]{6})\"><strong>([A-Z]+)</strong>", html_part)
    assert plain_level is not None, plain
    assert html_row is not None, html_part
    return plain_level.group(1), html_row.group(2), html_row.group(1)


LEVEL_CASES = [
    ("warning", Notification("n1", "alert", [sample_alert(level="warning")], "web-01 cpu", 1_700_000_600.0), "WARNING", "#d68910"),
    ("critical", Notification("n2", "alert", [sample_alert(level="critical")], "web-01 cpu", 1_700_000_600.0), "CRITICAL", "#c0392b"),
    ("resolved", Notification("n3", "resolved", [sample_alert(resolved_time=1_700_000_600.0)], "web-01 cpu", 1_700_000_600.0),
     "RESOLVED", "#1e8449"),
    ("test", build_test_notification(1_700_000_600.0), "INFO", "#2874a6"),
]


@pytest.mark.parametrize(("name", "notification", "level", "colour"), LEVEL_CASES, ids=[case[0] for case in LEVEL_CASES])
async def test_both_parts_show_same_level(relay_server, name, notification, level, colour):
    config = EmailConfig(enabled=True, server="127.0.0.1", port=relay_server.port, security="none",
                         from_address="pulse@example.test", to=["ops@example.test"])
    result = await EmailNotifier(config).send(notification)
    assert result.ok, result.error
    [received] = relay_server.handler.messages
    message = email.message_from_bytes(received.content, policy=policy.default)

    plain_level, html_level, html_colour = shown_levels(message)
    assert plain_level == level
    assert html_level == level
    assert html_colour == colour

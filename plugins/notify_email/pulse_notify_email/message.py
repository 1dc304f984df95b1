"""The email for a notification: subject, plain-text and HTML bodies for single, grouped and resolved alerts."""

from __future__ import annotations

import email.utils
import html
from datetime import UTC, datetime
from email.message import EmailMessage

from pulse_core.model import Alert, Notification
from pulse_core.notify.templates import format_duration

from pulse_notify_email.config import EmailConfig

_COLORS = {"critical": "#c0392b", "warning": "#d68910", "resolved": "#1e8449", "info": "#2874a6"}


def _one_line(text: str) -> str:
    # Header values must not contain line breaks (they would start new headers).
    return " ".join(text.split())


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _escalated(alert: Alert) -> bool:
    # The noise filter sends escalations as firing alerts marked with ``metadata["escalated"]``. A
    # warning-to-critical rise after it (``metadata["raised"]``) is an ordinary firing again.
    escalated = alert.metadata.get("escalated")
    raised = alert.metadata.get("raised")
    return escalated is not None and (raised is None or escalated >= raised)


def _headline_level(alerts: list[Alert]) -> str:
    return "critical" if any(alert.level == "critical" for alert in alerts) else "warning"


def subject_for(notification: Notification) -> str:
    """Compose the subject from the event and the alerts, so each word appears once.

    The notification's ``title`` already carries words such as "Resolved:" or
    "2 alerts firing" for webhooks, so prefixing it here would repeat them. A
    single alert is named by its message, a group by its distinct resource names.
    """
    if notification.event == "test":
        return "[Pulse] Test email"
    alerts = notification.alerts
    if not alerts:
        return _one_line(f"[Pulse] {notification.title or 'Alert'}")[:250]

    escalated = notification.event == "alert" and all(_escalated(alert) for alert in alerts)
    if len(alerts) == 1:
        alert = alerts[0]
        if notification.event == "resolved":
            label = "Resolved"
        elif notification.event == "flapping":
            label = "Flapping"
        elif escalated:
            label = f"Escalated ({alert.level})"
        else:
            label = alert.level.capitalize()
        detail = alert.message or notification.title or alert.resource_name
    else:
        if notification.event == "resolved":
            label = f"{len(alerts)} alerts resolved"
        elif notification.event == "flapping":
            label = f"{len(alerts)} alerts flapping"
        elif escalated:
            label = f"{len(alerts)} alerts escalated ({_headline_level(alerts)})"
        else:
            label = f"{len(alerts)} alerts firing ({_headline_level(alerts)})"
        detail = ", ".join(dict.fromkeys(alert.resource_name for alert in alerts))
    return _one_line(f"[Pulse] {label}: {detail}")[:250]


def state_of(notification: Notification, alert: Alert) -> str:
    """Return the state both email parts show for ``alert``: resolved, info for a test, else its level."""
    if notification.event == "resolved":
        return "resolved"
    if notification.event == "test":
        return "info"
    return alert.level


def _alert_lines(alert: Alert, state: str, now: float) -> list[str]:
    resolved = state == "resolved"
    where = ", ".join(part for part in (alert.resource_type, alert.node, alert.instance) if part)
    lines = [f"[{state.upper()}] {alert.resource_name} ({where})", f"  {alert.message}"]
    if alert.value is not None or alert.threshold is not None:
        lines.append(f"  Value: {_number(alert.value)}   Threshold: {_number(alert.threshold)}")
    end = alert.resolved_time if resolved and alert.resolved_time else now
    lines.append(f"  Started: {_when(alert.start_time)}   Duration: {format_duration(end - alert.start_time)}")
    if alert.acknowledged:
        lines.append(f"  Acknowledged by {alert.ack_user or 'someone'}")
    return lines


def plain_body(notification: Notification) -> str:
    resolved = notification.event == "resolved"
    if notification.event == "test":
        intro = "This is a test email from Pulse. If you can read it, email notifications work."
    elif resolved:
        intro = "These alerts are resolved:" if len(notification.alerts) > 1 else "This alert is resolved:"
    else:
        intro = f"{len(notification.alerts)} alerts are active:" if len(notification.alerts) > 1 else "An alert is active:"
    lines = [intro, ""]
    for alert in notification.alerts:
        lines += _alert_lines(alert, state_of(notification, alert), notification.created)
        lines.append("")
    lines.append(f"Sent by Pulse at {_when(notification.created)}")
    return "\n".join(lines)


def html_body(notification: Notification) -> str:
    resolved = notification.event == "resolved"
    rows = []
    for alert in notification.alerts:
        state = state_of(notification, alert)
        end = alert.resolved_time if resolved and alert.resolved_time else notification.created
        rows.append(
            "<tr>"
            f'<td style="padding:6px;border-left:4px solid {_COLORS[state]}"><strong>{html.escape(state.upper())}</strong></td>'
            f'<td style="padding:6px"><strong>{html.escape(alert.resource_name)}</strong><br>'
            f"{html.escape(' / '.join(p for p in (alert.resource_type, alert.node, alert.instance) if p))}</td>"
            f'<td style="padding:6px">{html.escape(alert.message)}</td>'
            f'<td style="padding:6px">{_number(alert.value)} / {_number(alert.threshold)}</td>'
            f'<td style="padding:6px">{html.escape(format_duration(end - alert.start_time))}</td>'
            "</tr>\n"
        )
    heading = html.escape(subject_for(notification).removeprefix("[Pulse] "))
    return (
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">"
        f"<h2>{heading}</h2>"
        '<table style="border-collapse:collapse">'
        "<tr><th align=left>State</th><th align=left>Resource</th><th align=left>Message</th>"
        "<th align=left>Value / threshold</th><th align=left>Duration</th></tr>"
        + "".join(rows)
        + f"</table><p style=\"color:#666\">Sent by Pulse at {html.escape(_when(notification.created))}</p></body></html>"
    )


def build_message(config: EmailConfig, notification: Notification, recipients: list[str] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject_for(notification)
    message["From"] = config.from_address
    message["To"] = ", ".join(recipients or config.to)
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["Date"] = email.utils.formatdate(notification.created, usegmt=True)
    domain = email.utils.parseaddr(config.from_address)[1].rpartition("@")[2] or None
    message["Message-ID"] = email.utils.make_msgid("pulse", domain=domain)
    message["X-Pulse-Event-ID"] = _one_line(notification.id)
    # Quoted-printable keeps every line under SMTP's 998-character limit, whatever the alert text.
    message.set_content(plain_body(notification), cte="quoted-printable")
    message.add_alternative(html_body(notification), subtype="html", cte="quoted-printable")
    return message

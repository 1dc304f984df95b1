"""SMTP presets of common mail providers: host, port and security.

Host names and ports follow each provider's published SMTP settings. Some of
them (Amazon SES, Zoho, Microsoft 365) depend on the region or account type,
so the UI shows the preset as a starting point the user can edit.
"""

from __future__ import annotations

from typing import Any

PROVIDERS: list[dict[str, Any]] = [
    {"id": "gmail", "name": "Gmail / Google Workspace", "server": "smtp.gmail.com", "port": 587, "security": "starttls",
     "instructions": "Use an app password (Google account → Security → App passwords); the username is your address."},
    {"id": "microsoft365", "name": "Microsoft 365 / Outlook", "server": "smtp.office365.com", "port": 587, "security": "starttls",
     "instructions": "SMTP AUTH must be enabled for the mailbox; the username is the full address."},
    {"id": "sendgrid", "name": "SendGrid", "server": "smtp.sendgrid.net", "port": 587, "security": "starttls",
     "instructions": "The username is the literal word 'apikey' and the password is an API key."},
    {"id": "mailgun", "name": "Mailgun", "server": "smtp.mailgun.org", "port": 587, "security": "starttls",
     "instructions": "Use the SMTP credentials of your sending domain (EU accounts: smtp.eu.mailgun.org)."},
    {"id": "ses", "name": "Amazon SES", "server": "email-smtp.us-east-1.amazonaws.com", "port": 587, "security": "starttls",
     "instructions": "Replace the region in the host name with yours and use SES SMTP credentials, not IAM keys."},
    {"id": "postmark", "name": "Postmark", "server": "smtp.postmarkapp.com", "port": 587, "security": "starttls",
     "instructions": "The server API token is both the username and the password."},
    {"id": "brevo", "name": "Brevo (Sendinblue)", "server": "smtp-relay.brevo.com", "port": 587, "security": "starttls",
     "instructions": "Use the SMTP login and key from the Brevo SMTP & API settings."},
    {"id": "fastmail", "name": "Fastmail", "server": "smtp.fastmail.com", "port": 465, "security": "tls",
     "instructions": "Create an app password with SMTP access."},
    {"id": "zoho", "name": "Zoho Mail", "server": "smtp.zoho.com", "port": 465, "security": "tls",
     "instructions": "Accounts in other regions use smtp.zoho.eu, smtp.zoho.in and so on."},
    {"id": "smtp2go", "name": "SMTP2GO", "server": "mail.smtp2go.com", "port": 587, "security": "starttls",
     "instructions": "Use an SMTP user created in the SMTP2GO dashboard."},
    {"id": "custom", "name": "Custom SMTP server", "server": "", "port": 587, "security": "starttls",
     "instructions": "Any SMTP server or local relay; a relay on port 25 usually needs security 'none' and no credentials."},
]

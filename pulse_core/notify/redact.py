"""Keep secrets that live inside notification URLs out of logs, errors and API responses.

Many services put the credential in the URL itself: Discord and Slack webhook
paths, Telegram bot tokens, ``?token=`` parameters (Gotify, Pushover), the
``sig=`` of a Teams workflow URL. ``redact_url`` keeps the scheme, host, port
and the non-secret shape of the path. ``scrub`` removes the secret parts of a
URL from any text (an exception message, a response body) before it is shown.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable

MASK = "***"

# Path shapes whose secret parts sit in known places, matched on the path alone
# so a test double on 127.0.0.1 is redacted the same way as the real service.
_PATH_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(/api(?:/v\d+)?/webhooks/).*$"), r"\1" + MASK),  # Discord
    (re.compile(r"^(/services/).*$"), r"\1" + MASK),  # Slack
    (re.compile(r"^/bot[^/]+(/[A-Za-z]+)?/?$"), "/bot" + MASK + r"\1"),  # Telegram
    (re.compile(r"^(/hooks/).*$"), r"\1" + MASK),  # Mattermost, Rocket.Chat
    (re.compile(r"^(/workflows/).*$"), r"\1" + MASK),  # Teams workflows (Power Automate)
    (re.compile(r"^(/webhook(?:b2)?/).*$"), r"\1" + MASK),  # Teams legacy connectors
]

# A path segment shown as is: a short plain word such as "message", "v2" or "messages.json".
_PLAIN_SEGMENT = re.compile(r"^(?:[A-Za-z][A-Za-z._-]{0,23}|v?\d{1,2})$")

# Services whose whole path is the secret (an ntfy topic works like a password).
_SECRET_PATH_SERVICES = frozenset({"ntfy"})


def _redact_path(path: str, service: str | None) -> str:
    if not path or path == "/":
        return path
    if service in _SECRET_PATH_SERVICES:
        return "/" + MASK
    for pattern, replacement in _PATH_RULES:
        if pattern.match(path):
            return pattern.sub(replacement, path)
    segments = path.split("/")
    return "/".join(segment if not segment or _PLAIN_SEGMENT.match(segment) else MASK for segment in segments)


def redact_url(url: str, service: str | None = None) -> str:
    """Return ``url`` with credentials, secret path parts and every query value masked.

    Every query value is masked, not only ``token=``: services name their keys
    freely (``user``, ``sig``, ``apikey`` ...). Text that does not parse as a
    URL is masked entirely.
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.hostname:
        return MASK
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{MASK}@{netloc}"
    query = ""
    if parts.query:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(f"{urllib.parse.quote(key, safe='')}={MASK}" for key, _value in pairs) or MASK
    path = _redact_path(parts.path, service)
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, query, ""))


def secret_fragments(url: str, service: str | None = None) -> list[str]:
    """Return the parts of ``url`` that ``redact_url`` hides, longest first, for ``scrub``."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return [url] if url else []
    fragments: set[str] = set()

    if parts.username:
        fragments.add(parts.username)
    if parts.password:
        fragments.add(parts.password)
    for _key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        fragments.add(value)

    redacted = _redact_path(parts.path, service).split("/")
    original = parts.path.split("/")
    if len(redacted) == len(original):
        for before, after in zip(original, redacted):
            if before != after:
                fragments.add(before[3:] if after.startswith("bot") and before.startswith("bot") else before)
    else:
        # A rule replaced several segments with one mask: everything between
        # the kept prefix and suffix is secret.
        prefix, _mask, suffix = "/".join(redacted).partition(MASK)
        middle = parts.path[len(prefix):len(parts.path) - len(suffix)]
        fragments.add(middle)
        fragments.update(segment for segment in middle.split("/") if segment)

    expanded: set[str] = set()
    for fragment in fragments:
        if len(fragment) < 4:
            continue  # too short to be a secret; masking it would garble unrelated text
        expanded.add(fragment)
        expanded.add(urllib.parse.quote(fragment, safe=""))
        expanded.add(urllib.parse.quote_plus(fragment))
        if ":" in fragment:
            expanded.update(fragment.split(":"))
    return sorted((item for item in expanded if len(item) >= 4), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with the mask."""
    for secret in sorted({item for item in secrets if item and len(item) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_target(target: str) -> str:
    """Redact a request target (path and query, no host) as ``redact_url`` would."""
    redacted = redact_url("http://host.invalid" + target)
    return redacted.removeprefix("http://host.invalid") if redacted != MASK else MASK


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def redact_urls_in_text(text: str) -> str:
    """Redact every URL that appears in free text, such as a library's log message."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


class RedactingFilter(logging.Filter):
    """Rewrites log records so URLs in their message and arguments are redacted.

    Installed on the loggers of HTTP libraries (httpx logs every request URL at
    INFO), where the record is created, so every handler receives the redacted form.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: self._redact_arg(value) for key, value in record.args.items()}
        # With arguments the message is a format string such as "%s://%s", which must stay intact.
        if not record.args and isinstance(record.msg, str) and "://" in record.msg:
            record.msg = redact_urls_in_text(record.msg)
        return True

    @staticmethod
    def _redact_arg(arg: object) -> object:
        if isinstance(arg, str):
            if "://" in arg:
                return redact_urls_in_text(arg)
            if arg.startswith("/") and " " not in arg:
                # A request target without scheme and host (urllib3 logs "POST /path?query").
                return redact_target(arg)
            return arg
        if isinstance(arg, (int, float)) or arg is None:
            return arg
        text = str(arg)  # httpx.URL and similar objects
        return redact_url(text) if "://" in text else arg


_FILTER = RedactingFilter()
# Filters run only on the logger that creates a record, not on its parents, so
# each module logger that writes request URLs is listed by its full name.
LIBRARY_LOGGERS = (
    "httpx", "httpcore", "httpcore.http11", "httpcore.connection",
    "urllib3", "urllib3.connectionpool", "requests", "apprise",
)


def install_log_filters(logger_names: Iterable[str] = LIBRARY_LOGGERS) -> None:
    """Attach the redacting filter to the named library loggers (safe to call more than once)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)

"""Keep secrets that live inside notification URLs out of logs, errors and API responses.

Many services put the credential in the URL itself: Discord and Slack webhook
paths, Telegram bot tokens, ``?token=`` parameters (Gotify, Pushover), the
``sig=`` of a Teams workflow URL. ``redact_url`` keeps the scheme, host, port
and query keys and masks the rest the same way for every URL. ``scrub`` removes the secret parts of a
URL from any text (an exception message, a response body) before it is shown.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable

MASK = "***"

# A path segment that reads as a plain word ("message", "v2", "messages.json"),
# not as a token. Used only by ``secret_fragments``: scrubbing such words from
# free text would garble it, while the displayed URL masks the whole path anyway.
# NOTE: a letter-only secret of at most 15 characters counts as a plain word and
# stays in free text unless the whole path appears there.
_PLAIN_SEGMENT = re.compile(r"^(?:[A-Za-z][A-Za-z._-]{0,14}|v?\d{1,2})$")


def _redact_path(path: str) -> str:
    # One rule for every URL: any path beyond "/" is masked whole, because
    # services put keys in the path in shapes that no list can cover (Discord,
    # Slack, Telegram, an ntfy topic, a self-hosted receiver's short path).
    if not path or path == "/":
        return path
    return "/" + MASK


def redact_url(url: str, service: str | None = None) -> str:
    """Return ``url`` with credentials, the whole path and every query value masked.

    The result keeps the scheme, host, port and query keys, so
    ``https://ntfy.sh/topic?auth=KEY`` becomes ``https://ntfy.sh/***?auth=***``.
    Every query value is masked, not only ``token=``: services name their keys
    freely (``user``, ``sig``, ``apikey`` ...). Text that does not parse as a
    URL is masked entirely. ``service`` is accepted for callers that know it,
    but every service gets the same rule.
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
    path = _redact_path(parts.path)
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

    path = parts.path.strip("/")
    if path:
        # The displayed URL hides the whole path. In free text, scrub the
        # whole path and each token-like segment, but not plain words.
        if "/" in path or not _PLAIN_SEGMENT.match(path):
            fragments.add(path)
        fragments.update(segment for segment in path.split("/") if segment and not _PLAIN_SEGMENT.match(segment))
        first_segment = path.split("/")[0]
        if first_segment.startswith("bot"):
            fragments.add(first_segment[3:])  # a Telegram bot token after "/bot"

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

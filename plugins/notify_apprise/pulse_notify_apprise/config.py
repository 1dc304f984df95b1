"""Apprise targets: validation of API input, the stored form and the API form with a private URL."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import apprise

from pulse_core.errors import ConfigError
from pulse_core.notify.redact import MASK, scrub, secret_fragments

SECTION = "notifications_apprise"
# The fields parse_target reads from API input, plus "id" from the API form. The test route uses
# "id" to pick a saved target, and create and update ignore it.
KNOWN_FIELDS = ("name", "url", "enabled", "id")


def private_url(url: str) -> str:
    """Return apprise's privacy form of ``url`` with every other URL part that may be secret masked too.

    Apprise shortens the tokens its service plugins declare to their first and last
    character, but leaves a generic target's path (``json://host/path``) as is.
    """
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return MASK
    return scrub(str(plugin.url(privacy=True)), url_secrets(url))


def url_secrets(url: str) -> list[str]:
    """Return every part of an apprise URL that may be a credential, for scrubbing text.

    Apprise schemes put tokens anywhere, even in the host position
    (``tgram://bot_token/chat_id``), so every component is treated as secret.
    """
    parts = urllib.parse.urlsplit(url)
    pieces = set(secret_fragments(url))
    netloc = parts.netloc.rpartition("@")
    pieces.update(item for item in (netloc[0], *netloc[0].split(":"), netloc[2]) if item)
    pieces.update(segment for segment in parts.path.split("/") if segment)
    return [piece for piece in pieces if len(piece) >= 4 and piece not in ("127.0.0.1", "localhost")]


@dataclass(slots=True)
class AppriseTarget:
    """One apprise URL, as stored in the settings section."""

    id: str
    name: str
    url: str
    enabled: bool = True

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> AppriseTarget:
        return cls(id=str(data["id"]), name=str(data.get("name", "")), url=str(data.get("url", "")),
                   enabled=bool(data.get("enabled", True)))

    def to_stored(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": self.url, "enabled": self.enabled}

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": private_url(self.url), "enabled": self.enabled}


def parse_target(data: Any, existing: AppriseTarget | None = None) -> AppriseTarget:
    """Build a target from API input, keeping ``existing`` values for omitted fields.

    Raises ``ConfigError`` with one ``field: reason`` line per problem.
    """
    if not isinstance(data, dict):
        raise ConfigError("body: expected a JSON object")
    base = existing or AppriseTarget(id=uuid.uuid4().hex[:12], name="", url="")
    problems: list[str] = []
    name = data.get("name", base.name)
    if not isinstance(name, str) or not name.strip():
        problems.append("name: missing; give the target a name")
        name = ""
    url = data.get("url")
    # The UI sends back the private URL it was shown; that means "unchanged".
    if url is None or (existing is not None and url == private_url(existing.url)):
        url = base.url
    if not isinstance(url, str) or not url.strip():
        problems.append("url: missing; give an apprise URL such as json://host/path or tgram://bot_token/chat_id")
        url = ""
    elif apprise.Apprise.instantiate(url.strip(), suppress_exceptions=True) is None:
        scheme = url.partition("://")[0] if "://" in url else ""
        problems.append(
            f"url: apprise cannot use this URL (scheme {scheme!r}); check the scheme and the parts the service needs"
            if scheme else "url: not a URL; apprise URLs look like scheme://credentials/target"
        )
    enabled = data.get("enabled", base.enabled)
    if not isinstance(enabled, bool):
        problems.append("enabled: must be true or false")
        enabled = base.enabled
    if problems:
        raise ConfigError(problems)
    return AppriseTarget(id=base.id, name=name.strip(), url=url.strip(), enabled=enabled)


def load_targets(settings: Any) -> list[AppriseTarget]:
    return [AppriseTarget.from_stored(item) for item in settings.get(SECTION, []) or []]

"""API tokens: the ``API_TOKEN`` environment variable plus tokens generated in the UI.

UI tokens live in the settings store's ``api_tokens`` section, which is
encrypted at rest, so a token can be revealed again later. Every comparison is
constant-time and checks all tokens, so timing does not reveal which one was
close. The ``primary`` token is the one the ``/api/system/api-token``
endpoints manage. Named tokens carry scopes:

- ``monitoring:read``: read-only access (GET requests)
- ``settings:write``: read access plus changing settings
- ``*``: everything, including token management, export and import

Any token turns sign-in on. While no password (or proxy header sign-in) is
set, a change that would leave only tokens without ``*`` is rejected, because
none of them could set a password and the web UI would stay locked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from pulse_core.protocols import Principal
from pulse_core.security.errors import SecurityError

SETTINGS_SECTION = "api_tokens"
PRIMARY_ID = "primary"
ENV_ID = "env"
SCOPE_READ = "monitoring:read"
SCOPE_WRITE = "settings:write"
SCOPE_ALL = "*"
KNOWN_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_ALL)
TOKEN_HEADER = "x-api-token"
MAX_NAME_LENGTH = 64
NO_PASSWORD_FIX = "set a password in Settings → Security first, or use a token with the * scope"


@dataclass(slots=True)
class ApiToken:
    id: str
    name: str
    token: str
    scopes: list[str] = field(default_factory=lambda: [SCOPE_ALL])
    created: float = 0.0
    source: str = "settings"  # settings or env

    def public(self, reveal: bool = False) -> dict[str, Any]:
        """Describe the token for the API; the value only when ``reveal`` is set."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created": self.created,
            "source": self.source,
        }
        if reveal:
            data["token"] = self.token
        return data


def generate_value() -> str:
    return secrets.token_hex(32)


def presented_token(headers: Mapping[str, str], query: Mapping[str, str], allow_query: bool) -> str | None:
    """Return the token a request carries: X-API-Token, then Bearer, then ?token= where allowed."""
    value = headers.get(TOKEN_HEADER)
    if value:
        return value.strip()
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if allow_query:
        value = query.get("token")
        if value:
            return value.strip()
    return None


def validate_scopes(scopes: Any) -> list[str]:
    if not isinstance(scopes, list) or not scopes or not all(isinstance(item, str) for item in scopes):
        raise SecurityError(f"scopes: required, a non-empty list of: {', '.join(KNOWN_SCOPES)}")
    unknown = [item for item in scopes if item not in KNOWN_SCOPES]
    if unknown:
        raise SecurityError(f"scopes: unknown scope {unknown[0]!r}; use one of: {', '.join(KNOWN_SCOPES)}")
    return sorted(set(scopes))


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SecurityError("name: required, a non-empty string")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise SecurityError(f"name: too long ({len(name)} characters); use at most {MAX_NAME_LENGTH}")
    return name


class TokenStore:
    """Reads and changes API tokens; ``env_token`` comes from ``auth.api_token``."""

    def __init__(self, settings: Any, env_token: str, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.env_token = env_token.strip()
        self.clock = clock
        # Changes read, modify and write the whole section, so they must not interleave.
        self._lock = trio.Lock()

    # --- reading ---------------------------------------------------------------------------

    def _stored(self) -> list[ApiToken]:
        section = self.settings.get(SETTINGS_SECTION, {}) or {}
        tokens = []
        for item in section.get("tokens", []) or []:
            if not isinstance(item, dict) or not item.get("token"):
                continue
            tokens.append(ApiToken(
                id=str(item.get("id")),
                name=str(item.get("name") or item.get("id")),
                token=str(item["token"]),
                scopes=[str(scope) for scope in item.get("scopes") or [SCOPE_ALL]],
                created=float(item.get("created") or 0),
            ))
        return tokens

    def all(self) -> list[ApiToken]:
        tokens = self._stored()
        if self.env_token:
            tokens.insert(0, ApiToken(id=ENV_ID, name="API_TOKEN", token=self.env_token, source="env"))
        return tokens

    def get(self, token_id: str) -> ApiToken | None:
        return next((token for token in self.all() if token.id == token_id), None)

    @property
    def configured(self) -> bool:
        return bool(self.all())

    def primary(self) -> ApiToken | None:
        """Return the token the single-token endpoints manage: the UI one, else the environment one."""
        return self.get(PRIMARY_ID) or self.get(ENV_ID)

    def match(self, presented: str | None) -> ApiToken | None:
        """Return the token equal to ``presented``, comparing against every token in constant time."""
        if not presented:
            return None
        presented_digest = hashlib.sha256(presented.encode("utf-8")).digest()
        found: ApiToken | None = None
        for token in self.all():
            candidate = hashlib.sha256(token.token.encode("utf-8")).digest()
            if hmac.compare_digest(presented_digest, candidate) and found is None:
                found = token
        return found

    def _leaves_admin_token(self, stored: list[ApiToken]) -> bool:
        """Return True if ``stored`` is empty or a token with the ``*`` scope remains (the env token has it)."""
        return bool(self.env_token) or not stored or any(SCOPE_ALL in token.scopes for token in stored)

    def principal_for(self, token: ApiToken) -> Principal:
        return Principal(name=f"token:{token.name}", method="token", scopes=frozenset(token.scopes))

    # --- changing ---------------------------------------------------------------------------

    async def _save(self, tokens: list[ApiToken]) -> None:
        section = self.settings.get(SETTINGS_SECTION, {}) or {}
        section["tokens"] = [
            {"id": t.id, "name": t.name, "token": t.token, "scopes": t.scopes, "created": t.created}
            for t in tokens
        ]
        await self.settings.set(SETTINGS_SECTION, section)

    async def generate_primary(self) -> ApiToken:
        async with self._lock:
            return await self._generate_primary()

    async def _generate_primary(self) -> ApiToken:
        tokens = [token for token in self._stored() if token.id != PRIMARY_ID]
        token = ApiToken(id=PRIMARY_ID, name="API token", token=generate_value(), created=self.clock())
        tokens.insert(0, token)
        await self._save(tokens)
        return token

    async def delete(self, token_id: str, need_admin_token: bool = False) -> ApiToken:
        """Delete a stored token. ``need_admin_token`` works as in ``create``."""
        async with self._lock:
            return await self._delete(token_id, need_admin_token)

    async def _delete(self, token_id: str, need_admin_token: bool) -> ApiToken:
        if token_id == ENV_ID:
            raise SecurityError(
                "this token is set by the API_TOKEN environment variable; remove it there and restart", 409
            )
        tokens = self._stored()
        kept = [token for token in tokens if token.id != token_id]
        if len(kept) == len(tokens):
            raise SecurityError(f"token {token_id!r} not found", 404)
        if need_admin_token and not self._leaves_admin_token(kept):
            raise SecurityError(
                "no password is set, and deleting this token leaves only tokens without the * scope, "
                f"which cannot set one; {NO_PASSWORD_FIX}", 409,
            )
        await self._save(kept)
        return next(token for token in tokens if token.id == token_id)

    async def create(self, name: Any, scopes: Any, need_admin_token: bool = False) -> ApiToken:
        """Create a named token.

        ``need_admin_token`` is True while no password or proxy sign-in exists. Then the change is
        rejected (409) unless the tokens left afterwards include one with the ``*`` scope.
        """
        async with self._lock:
            return await self._create(name, scopes, need_admin_token)

    async def _create(self, name: Any, scopes: Any, need_admin_token: bool) -> ApiToken:
        name = validate_name(name)
        scopes = validate_scopes(scopes)
        tokens = self._stored()
        if any(token.name.lower() == name.lower() for token in tokens):
            raise SecurityError(f"name: a token named {name!r} already exists; choose another name", 409)
        token = ApiToken(id=uuid.uuid4().hex[:12], name=name, token=generate_value(), scopes=scopes,
                         created=self.clock())
        tokens.append(token)
        if need_admin_token and not self._leaves_admin_token(tokens):
            raise SecurityError(
                "scopes: no password is set, and a token without the * scope turns sign-in on "
                f"but cannot set a password, so nobody could sign in to the web UI; {NO_PASSWORD_FIX}", 409,
            )
        await self._save(tokens)
        return token

    async def update(self, token_id: str, changes: Mapping[str, Any], need_admin_token: bool = False) -> ApiToken:
        """Change a token's name or scopes. ``need_admin_token`` works as in ``create``."""
        async with self._lock:
            return await self._update(token_id, changes, need_admin_token)

    async def _update(self, token_id: str, changes: Mapping[str, Any], need_admin_token: bool) -> ApiToken:
        if token_id == ENV_ID:
            raise SecurityError("this token is set by the API_TOKEN environment variable and cannot be changed", 409)
        unknown = sorted(set(changes) - {"name", "scopes"})
        if unknown:
            raise SecurityError(f"{unknown[0]}: unknown field; a token accepts name and scopes")
        tokens = self._stored()
        token = next((item for item in tokens if item.id == token_id), None)
        if token is None:
            raise SecurityError(f"token {token_id!r} not found", 404)
        if "name" in changes:
            name = validate_name(changes["name"])
            if any(other.id != token_id and other.name.lower() == name.lower() for other in tokens):
                raise SecurityError(f"name: a token named {name!r} already exists; choose another name", 409)
            token.name = name
        if "scopes" in changes:
            token.scopes = validate_scopes(changes["scopes"])
        if need_admin_token and not self._leaves_admin_token(tokens):
            raise SecurityError(
                "scopes: no password is set, and removing the * scope from this token leaves no token "
                f"that can set one; {NO_PASSWORD_FIX}", 409,
            )
        await self._save(tokens)
        return token

"""Login, logout, lockout, sessions and password changes."""

from __future__ import annotations

from typing import Any

from pulse_core.security.password import is_bcrypt_hash
from pulse_core.security.sessions import CSRF_COOKIE, SESSION_COOKIE

from .conftest import TEST_PASSWORD, TEST_PASSWORD_HASH, TEST_USER, client_scope


def cookie_headers(response: Any) -> dict[str, str]:
    """Map cookie name -> its full Set-Cookie header."""
    result = {}
    for header in response.headers.getlist("Set-Cookie"):
        result[header.split("=", 1)[0]] = header
    return result


async def login(client: Any, password: str = TEST_PASSWORD, username: str = TEST_USER,
                address: str = "192.168.1.20") -> Any:
    return await client.post("/api/login", json={"username": username, "password": password},
                             scope_base=client_scope(address))


async def test_login_sets_cookies(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    response = await login(env.client)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["username"] == TEST_USER
    cookies = cookie_headers(response)
    session = cookies[SESSION_COOKIE]
    assert "HttpOnly" in session
    assert "SameSite=Lax" in session
    assert "Max-Age=86400" in session
    assert "Secure" not in session
    assert "HttpOnly" not in cookies[CSRF_COOKIE]
    assert body["csrfToken"] in cookies[CSRF_COOKIE]


async def test_login_secure_cookie_behind_https_proxy(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH, server={"trusted_proxies": ["127.0.0.1"]})
    response = await env.client.post(
        "/api/login", json={"username": TEST_USER, "password": TEST_PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.168.1.20"},
        scope_base=client_scope("127.0.0.1"),
    )
    assert "Secure" in cookie_headers(response)[SESSION_COOKIE]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_session_cookie_not_stored_plain(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    response = await login(env.client)
    value = cookie_headers(response)[SESSION_COOKIE].split("=", 1)[1].split(";", 1)[0]
    stored = env.daemon.storage.data["sessions"]
    assert len(stored) == 1
    assert value not in repr(stored)


async def test_protected_route_needs_session(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    assert (await env.client.get("/api/security/tokens")).status_code == 401
    await login(env.client)
    assert (await env.client.get("/api/security/tokens")).status_code == 200


async def test_public_paths_without_auth(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    for path in ("/api/health", "/api/version", "/api/security/status"):
        assert (await env.client.get(path)).status_code == 200, path
    status = await (await env.client.get("/api/security/status")).get_json()
    assert status["authConfigured"] is True
    assert status["showPasswordBanner"] is False


async def test_banner_without_password(build) -> None:
    env = await build()
    status = await (await env.client.get("/api/security/status")).get_json()
    assert status["authConfigured"] is False
    assert status["showPasswordBanner"] is True


async def test_wrong_password_rejected(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    response = await login(env.client, password="wrong-password-123")
    assert response.status_code == 401
    assert SESSION_COOKIE not in cookie_headers(response)
    response = await login(env.client, username="root")
    assert response.status_code == 401


async def test_login_bad_body(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    response = await env.client.post("/api/login", json=["admin"])
    assert response.status_code == 400
    assert "JSON object" in (await response.get_json())["error"]
    response = await env.client.post("/api/login", json={"username": "admin"})
    assert response.status_code == 400
    assert (await response.get_json())["error"].startswith("password:")


async def test_login_without_configured_password(build) -> None:
    env = await build()
    response = await login(env.client)
    assert response.status_code == 400
    assert "PULSE_AUTH_PASS" in (await response.get_json())["error"]


async def test_brute_force_locks_and_lifts(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    for _ in range(5):
        assert (await login(env.client, password="guess-guess-guess")).status_code == 401
    locked = await login(env.client)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 14 * 60
    env.clock.advance(14 * 60)
    assert (await login(env.client)).status_code == 429
    env.clock.advance(61)
    assert (await login(env.client)).status_code == 200
    actions = [e["action"] for e in await env.daemon.storage.query_audit(limit=50)]
    assert "login.lockout" in actions
    assert actions.count("login.failure") >= 6


async def test_lockout_per_address(build) -> None:
    # Rotating usernames from one address still locks that address.
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    for index in range(5):
        await login(env.client, username=f"user{index}", password="x", address="203.0.113.9")
    assert (await login(env.client, address="203.0.113.9")).status_code == 429
    assert (await login(env.client, address="203.0.113.10")).status_code == 200


async def test_lockout_per_username(build) -> None:
    # Rotating addresses still locks the username.
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    for index in range(5):
        await login(env.client, password="x", address=f"203.0.113.{index + 1}")
    assert (await login(env.client, address="198.51.100.1")).status_code == 429


async def test_admin_resets_lockout(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    admin = env.app.test_client()
    await login(admin, address="10.0.0.5")
    csrf = (await (await login(admin, address="10.0.0.5")).get_json())["csrfToken"]
    for _ in range(5):
        await login(env.client, password="x", address="203.0.113.9")
    listed = await (await admin.get("/api/security/lockout")).get_json()
    assert {(item["kind"], item["subject"]) for item in listed["locked"]} == {
        ("username", "admin"), ("address", "203.0.113.9"),
    }
    response = await admin.post("/api/security/lockout/reset", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert (await login(env.client, address="203.0.113.9")).status_code == 200


async def test_lockout_survives_restart(build, tmp_path) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    for _ in range(5):
        await login(env.client, password="x")
    again = await build(data_dir=tmp_path / "data", user=TEST_USER, password=TEST_PASSWORD_HASH)
    assert (await login(again.client)).status_code == 429


async def test_logout_ends_session(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    csrf = (await (await login(env.client)).get_json())["csrfToken"]
    response = await env.client.post("/api/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert env.daemon.storage.data["sessions"] == {}
    assert (await env.client.get("/api/security/tokens")).status_code == 401
    assert (await env.daemon.storage.query_audit())[0]["action"] == "logout"


async def test_session_survives_restart(build, tmp_path) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    await login(env.client)
    again = await build(data_dir=tmp_path / "data", user=TEST_USER, password=TEST_PASSWORD_HASH)
    again.client.cookie_jar = env.client.cookie_jar
    assert (await again.client.get("/api/security/tokens")).status_code == 200


async def test_session_expires_after_24h(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    await login(env.client)
    env.clock.advance(23 * 3600)
    assert (await env.client.get("/api/security/tokens")).status_code == 200
    env.clock.advance(3601)
    assert (await env.client.get("/api/security/tokens")).status_code == 401


async def test_password_change_invalidates_others(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH, min_password_length=12)
    other = env.app.test_client()
    await login(other)
    csrf = (await (await login(env.client)).get_json())["csrfToken"]

    short = await env.client.post("/api/security/change-password", headers={"X-CSRF-Token": csrf},
                                  json={"currentPassword": TEST_PASSWORD, "newPassword": "short"})
    assert short.status_code == 400
    assert "at least 12" in (await short.get_json())["error"]
    wrong = await env.client.post("/api/security/change-password", headers={"X-CSRF-Token": csrf},
                                  json={"currentPassword": "not-it-at-all", "newPassword": "a-new-long-password"})
    assert wrong.status_code == 401

    response = await env.client.post(
        "/api/security/change-password", headers={"X-CSRF-Token": csrf},
        json={"currentPassword": TEST_PASSWORD, "newPassword": "a-new-long-password"},
    )
    assert response.status_code == 200
    assert (await env.client.get("/api/security/tokens")).status_code == 200
    assert (await other.get("/api/security/tokens")).status_code == 401
    assert (await login(other)).status_code == 401
    assert (await login(other, password="a-new-long-password")).status_code == 200
    stored = env.daemon.settings.get("security")["password"]["password_hash"]
    assert stored.startswith("$2b$12$")
    raw = (env.daemon.settings.path).read_text()
    assert stored not in raw  # encrypted at rest
    actions = [event["action"] for event in await env.daemon.storage.query_audit()]
    assert "password.change" in actions


async def test_plain_password_hashed_at_cost_12(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD)
    security = env.app.extensions["pulse_security"]
    await security.passwords.prepare()
    configured_hash = security.passwords._configured_hash
    assert configured_hash is not None and is_bcrypt_hash(configured_hash)
    assert configured_hash.startswith("$2b$12$")
    assert (await login(env.client)).status_code == 200


async def test_first_password_only_from_private(build) -> None:
    env = await build()
    body = {"username": "owner", "newPassword": "first-long-password"}
    public = await env.client.post("/api/security/change-password", json=body,
                                   scope_base=client_scope("203.0.113.7"))
    assert public.status_code == 403
    private = await env.client.post("/api/security/change-password", json=body,
                                    scope_base=client_scope("192.168.1.7"))
    assert private.status_code == 200
    assert (await login(env.client, username="owner", password="first-long-password")).status_code == 200


async def test_login_invalid_utf8_body(build) -> None:
    env = await build(user=TEST_USER, password=TEST_PASSWORD_HASH)
    response = await env.client.post("/api/login", data=b"\xab\xcd", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "invalid JSON" in (await response.get_json())["error"]

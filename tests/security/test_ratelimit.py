"""Per-client rate limits and their headers."""

from __future__ import annotations

from pulse_core.security.ratelimit import RateLimiter

from .conftest import FakeClock, client_scope


def test_general_limit_window() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(clock)
    for index in range(500):
        decision = limiter.hit("192.0.2.1", "GET", "/api/state")
        assert decision.allowed, index
    rejected = limiter.hit("192.0.2.1", "GET", "/api/state")
    assert not rejected.allowed
    assert rejected.headers()["Retry-After"] == "60"
    assert limiter.hit("192.0.2.2", "GET", "/api/state").allowed  # per client
    clock.advance(60)
    assert limiter.hit("192.0.2.1", "GET", "/api/state").allowed


def test_update_check_hourly() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(clock)
    for _ in range(10):
        assert limiter.hit("192.0.2.1", "GET", "/api/updates/check").allowed
    assert not limiter.hit("192.0.2.1", "GET", "/api/updates/check").allowed
    clock.advance(3599)
    assert not limiter.hit("192.0.2.1", "GET", "/api/updates/check").allowed
    clock.advance(1)
    assert limiter.hit("192.0.2.1", "GET", "/api/updates/check").allowed


def test_test_email_limit() -> None:
    limiter = RateLimiter(FakeClock())
    results = [limiter.hit("192.0.2.1", "POST", "/api/notifications/email/test").allowed for _ in range(11)]
    assert results == [True] * 10 + [False]


async def test_login_limit_headers(build) -> None:
    env = await build(user="admin", password="$2b$04$" + "a" * 53)
    first = await env.client.post("/api/login", json={"username": "x", "password": "y"},
                                  scope_base=client_scope("198.51.100.7"))
    assert first.headers["X-RateLimit-Limit"] == "10"
    assert first.headers["X-RateLimit-Remaining"] == "9"
    assert int(first.headers["X-RateLimit-Reset"]) == int(env.clock.now) + 60
    for _ in range(9):
        await env.client.post("/api/login", json={"username": f"u{_}", "password": "y"},
                              scope_base=client_scope("198.51.100.7"))
    limited = await env.client.post("/api/login", json={"username": "x", "password": "y"},
                                    scope_base=client_scope("198.51.100.7"))
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "60"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" in (await limited.get_json())["error"]
    env.clock.advance(60)
    after = await env.client.post("/api/login", json={"username": "x", "password": "y"},
                                  scope_base=client_scope("198.51.100.8"))
    assert after.status_code != 429


async def test_export_limit(build) -> None:
    env = await build()
    statuses = []
    for _ in range(6):
        response = await env.client.post("/api/config/export", json={}, scope_base=client_scope("192.168.1.4"))
        statuses.append(response.status_code)
    assert statuses[5] == 429
    assert 429 not in statuses[:5]


async def test_general_limit_over_http_app(build) -> None:
    env = await build()
    last = None
    for _ in range(500):
        last = await env.client.get("/api/security/status", scope_base=client_scope("198.51.100.20"))
        assert last.status_code == 200
    assert last.headers["X-RateLimit-Remaining"] == "0"
    limited = await env.client.get("/api/security/status", scope_base=client_scope("198.51.100.20"))
    assert limited.status_code == 429
    other = await env.client.get("/api/security/status", scope_base=client_scope("198.51.100.21"))
    assert other.status_code == 200

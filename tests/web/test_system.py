"""/api/config/system: defaults, partial updates, validation and live polling changes."""

from __future__ import annotations

from typing import Any

from quart_trio import QuartTrio

from pulse_core.daemon import Daemon


async def test_defaults_come_from_configuration(app: QuartTrio, app_daemon: Daemon) -> None:
    response = await app.test_client().get("/api/config/system")

    assert response.status_code == 200
    body = await response.get_json()
    assert body["pollingInterval"] == app_daemon.config.polling.interval_seconds
    assert body["updateChannel"] == "stable"
    assert body["theme"] == "system"


async def test_partial_update_is_saved(app: QuartTrio, app_daemon: Daemon) -> None:
    client = app.test_client()

    response = await client.post("/api/config/system", json={"theme": "dark", "allowedOrigins": ["https://a.example:8443/"]})

    assert response.status_code == 200
    body = await response.get_json()
    assert body["theme"] == "dark"
    assert body["allowedOrigins"] == ["https://a.example:8443"]
    assert app_daemon.settings.get("system") == {"theme": "dark", "allowed_origins": ["https://a.example:8443"]}
    assert (await (await client.get("/api/config/system")).get_json())["theme"] == "dark"


async def test_invalid_fields_are_named(app: QuartTrio) -> None:
    cases: list[tuple[Any, str]] = [
        ({"pollInterval": 5}, "pollInterval: unknown field"),
        ({"pollingInterval": 0}, "pollingInterval"),
        ({"theme": "pink"}, "theme"),
        ({"allowedOrigins": ["not a url"]}, "allowedOrigins: 'not a url' is not an origin"),
        ({"publicUrl": "ftp://x"}, "publicUrl"),
        ({"theme": None}, "theme: must not be null"),
        ([1, 2], "expected a JSON object"),
    ]
    client = app.test_client()
    for body, expected in cases:
        response = await client.post("/api/config/system", json=body)
        assert response.status_code == 400, body
        assert expected in (await response.get_json())["error"], body


async def test_timeout_not_below_interval_rejected(app: QuartTrio, app_daemon: Daemon) -> None:
    client = app.test_client()
    cases = [
        ({"pollingInterval": 10, "pollingTimeout": 30}, "pollingTimeout: 30 s must be below pollingInterval (10 s)"),
        ({"pollingInterval": 10, "pollingTimeout": 10}, "pollingTimeout: 10 s must be below pollingInterval (10 s)"),
        # The configured 8 s timeout is kept, so a 5 s interval alone is rejected too.
        ({"pollingInterval": 5}, "pollingTimeout: 8 s must be below pollingInterval (5 s)"),
    ]
    for body, expected in cases:
        response = await client.post("/api/config/system", json=body)
        assert response.status_code == 400, body
        assert (await response.get_json())["error"] == f"{expected}; lower pollingTimeout or raise pollingInterval"

    assert app_daemon.settings.get("system", {}) == {}
    settings = await (await client.get("/api/config/system")).get_json()
    assert (settings["pollingInterval"], settings["pollingTimeout"]) == (10.0, 8.0)


async def test_timeout_below_interval_shown_as_saved(app: QuartTrio) -> None:
    client = app.test_client()

    response = await client.post("/api/config/system", json={"pollingInterval": 10, "pollingTimeout": 9.8})

    assert response.status_code == 200
    body = await response.get_json()
    assert (body["pollingInterval"], body["pollingTimeout"]) == (10, 9.8)
    settings = await (await client.get("/api/config/system")).get_json()
    assert settings["pollingTimeout"] == 9.8


async def test_polling_interval_reaches_pollers(live: Daemon) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=live.bound_urls[0]) as client:
        response = await client.post("/api/config/system", json={"pollingInterval": 7})

    assert response.status_code == 200
    assert live.scheduler is not None
    assert [poller.interval for poller in live.scheduler.pollers.values()] == [7.0]


async def test_pollers_use_timeout_as_shown(live: Daemon) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=live.bound_urls[0]) as client:
        response = await client.post("/api/config/system", json={"pollingInterval": 10, "pollingTimeout": 9.8})
        settings = (await client.get("/api/config/system")).json()

    assert response.status_code == 200
    assert settings["pollingTimeout"] == 9.8
    assert live.scheduler is not None
    assert [poller.timeout for poller in live.scheduler.pollers.values()] == [9.8]

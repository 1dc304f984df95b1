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


async def test_polling_interval_reaches_pollers(live: Daemon) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=live.bound_urls[0]) as client:
        response = await client.post("/api/config/system", json={"pollingInterval": 7})

    assert response.status_code == 200
    assert live.scheduler is not None
    assert [poller.interval for poller in live.scheduler.pollers.values()] == [7.0]

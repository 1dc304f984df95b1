"""The built web UI: index.html without caching, hashed assets cached for a year, SPA fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from quart_trio import QuartTrio

from pulse_core.web import static


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Pulse</title>")
    (root / "assets" / "index-3f2a1b.js").write_text("console.log('pulse')")
    (root / "favicon.svg").write_text("<svg/>")
    monkeypatch.setattr(static, "STATIC_DIR", root)
    return root


async def test_index_is_not_cached(app: QuartTrio, dist: Path) -> None:
    response = await app.test_client().get("/")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert "<title>Pulse</title>" in await response.get_data(as_text=True)


async def test_assets_are_immutable(app: QuartTrio, dist: Path) -> None:
    response = await app.test_client().get("/assets/index-3f2a1b.js")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


async def test_client_routes_fall_back_to_index(app: QuartTrio, dist: Path) -> None:
    client = app.test_client()

    for path in ("/settings", "/nodes/pve1/guests", "/alerts?tab=history"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "<title>Pulse</title>" in await response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-cache"
    favicon = await client.get("/favicon.svg")
    assert await favicon.get_data(as_text=True) == "<svg/>"


async def test_fallback_never_covers_api_or_assets(app: QuartTrio, dist: Path) -> None:
    client = app.test_client()

    for path in ("/api/unknown", "/assets/missing.js", "/assets/../index.html"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "error" in await response.get_json()


async def test_missing_build_is_503(app: QuartTrio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(static, "STATIC_DIR", tmp_path / "absent")

    response = await app.test_client().get("/settings")

    assert response.status_code == 503
    assert "make build-ui" in (await response.get_json())["error"]

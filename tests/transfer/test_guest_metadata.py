"""Guest metadata routes: set, read, list and remove a custom console URL."""

from __future__ import annotations

import pytest

from .conftest import client_for


async def test_metadata_set_read_delete(daemon_factory) -> None:
    daemon = await daemon_factory()
    async with client_for(daemon) as client:
        empty = await client.get("/api/guests/pve1-100/metadata")
        put = await client.put("/api/guests/pve1-100/metadata", json={"customUrl": "https://kvm.example/100"})
        listed = await client.get("/api/guests/metadata")
        deleted = await client.delete("/api/guests/pve1-100/metadata")
        again = await client.delete("/api/guests/pve1-100/metadata")

    assert empty.json() == {"id": "pve1-100", "customUrl": ""}
    assert put.status_code == 200
    assert put.json() == {"id": "pve1-100", "customUrl": "https://kvm.example/100"}
    assert listed.json() == {"guests": [{"id": "pve1-100", "customUrl": "https://kvm.example/100"}]}
    assert deleted.status_code == 204
    assert again.status_code == 404
    assert daemon.settings.get("guest_metadata") == {}


@pytest.mark.parametrize("body, message", [
    ({"customUrl": "javascript:alert(1)"}, "customUrl: 'javascript:alert(1)' is not an absolute http:// or https:// URL"),
    ({"customUrl": 5}, "customUrl: must be a string"),
    ({}, "customUrl: required field is missing"),
    ({"customUrl": "https://x", "note": "y"}, "note: unknown field"),
])
async def test_metadata_rejects_bad_input(daemon_factory, body, message) -> None:
    daemon = await daemon_factory()
    async with client_for(daemon) as client:
        response = await client.put("/api/guests/pve1-100/metadata", json=body)

    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert daemon.settings.get("guest_metadata") is None


async def test_metadata_rejects_bad_guest_id(daemon_factory) -> None:
    daemon = await daemon_factory()
    async with client_for(daemon) as client:
        response = await client.get("/api/guests/-bad!/metadata")

    assert response.status_code == 400
    assert response.json()["error"].startswith("id: invalid guest id")

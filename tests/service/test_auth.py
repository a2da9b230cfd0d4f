from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.helpers import SAMPLE_CORPUS, make_settings, run_ingest, serve_app

READ_KEY = "read-key-0123456789abcdef"
ADMIN_KEY = "admin-key-0123456789abcdef"
MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"
READ_ROUTES = ["/api/search?q=haiti", "/api/documents", f"/api/documents/{MAY}"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """A server with read keys and admin keys, over its own copy of the sample corpus."""
    settings = make_settings(
        tmp_path_factory.mktemp("keyed") / "data",
        api_keys=f"{READ_KEY}, another-read-key-0123456789",
        admin_api_keys=ADMIN_KEY,
    )
    run_ingest(settings, embedder, [SAMPLE_CORPUS])
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def public(sample_settings: Settings, embedder: Embedder) -> Iterator[str]:
    """A server with no keys set: reads are public, writes switched off."""
    with serve_app(create_app(sample_settings, embedder=embedder)) as base_url:
        yield base_url


@pytest.mark.parametrize("route", READ_ROUTES)
def test_without_keys_reads_are_public(public: str, route: str) -> None:
    assert httpx.get(public + route, timeout=30).status_code == 200


def test_without_admin_keys_writes_are_switched_off(public: str) -> None:
    response = httpx.delete(f"{public}/api/documents/{MAY}", headers=bearer(ADMIN_KEY))
    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "detail": "changing documents over HTTP is switched off: the server has no "
        "CITECHAT_ADMIN_API_KEYS",
    }
    assert httpx.get(f"{public}/api/documents/{MAY}").status_code == 200


@pytest.mark.parametrize("route", READ_ROUTES)
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "an API key is required: send the header `Authorization: Bearer KEY`"),
        ({"Authorization": f"Basic {READ_KEY}"}, "an API key is required"),
        (bearer("wrong-key-0123456789abcdef"), "unknown API key"),
        (bearer(READ_KEY[:-1]), "unknown API key"),
        (bearer(READ_KEY + "0"), "unknown API key"),
    ],
)
def test_read_keys_guard_the_read_routes(
    keyed: str, route: str, headers: dict[str, str], detail: str
) -> None:
    response = httpx.get(keyed + route, headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"
    assert response.json()["detail"].startswith(detail)


@pytest.mark.parametrize("key", [READ_KEY, "another-read-key-0123456789", ADMIN_KEY])
def test_read_and_admin_keys_may_read(keyed: str, key: str) -> None:
    for route in READ_ROUTES:
        assert httpx.get(keyed + route, headers=bearer(key), timeout=30).status_code == 200
    chat = {"messages": [{"role": "user", "content": "Who leads the mission?"}]}
    response = httpx.post(f"{keyed}/api/chat", json=chat, headers=bearer(key), timeout=60)
    assert response.status_code == 200


def test_chat_needs_a_key_when_keys_are_set(keyed: str) -> None:
    chat = {"messages": [{"role": "user", "content": "Who leads the mission?"}]}
    response = httpx.post(f"{keyed}/api/chat", json=chat, timeout=60)
    assert response.status_code == 401


def test_writes_need_an_admin_key(keyed: str) -> None:
    url = f"{keyed}/api/documents/{MAY}"
    assert httpx.delete(url).status_code == 401
    assert httpx.delete(url, headers=bearer("wrong-key-0123456789abcdef")).status_code == 401
    response = httpx.delete(url, headers=bearer(READ_KEY))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "this API key may only read: changing documents needs an admin key"
    )
    assert httpx.get(url, headers=bearer(READ_KEY)).status_code == 200
    assert httpx.delete(url, headers=bearer(ADMIN_KEY)).status_code == 204
    assert httpx.get(url, headers=bearer(READ_KEY)).status_code == 404
    assert httpx.delete(url, headers=bearer(ADMIN_KEY)).status_code == 404


def test_openapi_declares_the_bearer_schemes(public: str) -> None:
    spec = httpx.get(f"{public}/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    for name in ("ApiKey", "AdminApiKey"):
        assert (schemes[name]["type"], schemes[name]["scheme"]) == ("http", "bearer")
    assert spec["paths"]["/api/search"]["get"]["security"] == [{"ApiKey": []}]
    delete = spec["paths"]["/api/documents/{document_id}"]["delete"]
    assert delete["security"] == [{"AdminApiKey": []}]


@pytest.mark.parametrize(
    "value", ["short-key", "has space-0123456789abcdef", "tab\tkey-0123456789abcdef", "ключ" * 8]
)
def test_weak_or_unsendable_keys_are_refused_at_start(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError, match="16 or more printable ASCII characters"):
        make_settings(tmp_path, admin_api_keys=value)


def test_keys_are_never_shown(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_keys=READ_KEY, admin_api_keys=f'["{ADMIN_KEY}"]')
    assert len(settings.admin_api_keys) == 1
    shown = repr(settings) + str(settings.model_dump())
    assert READ_KEY not in shown and ADMIN_KEY not in shown

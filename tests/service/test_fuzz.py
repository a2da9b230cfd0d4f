"""Fuzzing every route of the OpenAPI schema against a real server, with schemathesis.

Valid and invalid requests drawn from the schema must never get a server error, and every
error must be the API's JSON ``{"code", "detail"}`` (under ``/v1``, OpenAI's
``{"error": {...}}``). Examples are bounded and derandomized, so the run is short and the same
every time.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ingestion.embeddings import Embedder
from service.app import create_app, server_options
from service.settings import Settings
from tests.helpers import make_settings, serve_app

EXAMPLES = 60  # per route and generation mode


@pytest.fixture(scope="module")
def served(sample_settings: Settings, embedder: Embedder) -> Iterator[str]:
    test_settings = make_settings(sample_settings.data_dir)
    app = create_app(test_settings, embedder=embedder)
    with serve_app(app, **server_options(test_settings)) as base_url:
        yield base_url


# The served app's own schema (building the app loads nothing; its lifespan does).
schema = schemathesis.openapi.from_dict(create_app(make_settings(Path("unused"))).openapi())


def json_error(ctx: object, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
    """A 4xx or 5xx answer is JSON with a code and a detail (OpenAI's error object under /v1)."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"non-JSON error body: {response.text[:200]!r}") from None
    assert isinstance(body, dict), body
    if case.path.startswith("/v1/"):
        assert {"message", "type", "param", "code"} <= set(body.get("error", {})), body
    else:
        assert {"code", "detail"} <= set(body), body


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_route_gives_a_server_error_or_a_non_json_error(
    served: str, case: schemathesis.Case[Any]
) -> None:
    case.call_and_validate(base_url=served, checks=[not_a_server_error, json_error])


def test_every_route_is_fuzzed(served: str) -> None:
    """The schema fuzzed is the one served, and it has every route."""
    paths = httpx.get(f"{served}/openapi.json").json()["paths"]
    assert paths == schema.raw_schema["paths"]
    assert set(paths) == {
        "/healthz",
        "/readyz",
        "/api/search",
        "/api/documents",
        "/api/documents/{document_id}",  # GET; DELETE stays off (403): no admin key is set
        "/api/documents/from-url",  # 403 too: nothing is fetched
        "/api/sources",
        "/api/collections",
        "/api/collections/{name}",  # DELETE stays off (403), as for documents
        "/api/chat",
        "/v1/chat/completions",
        "/v1/models",
        "/v1/models/{model}",
    }

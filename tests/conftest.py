import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from ingestion.embeddings import Embedder, LocalEmbedder  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.helpers import SAMPLE_CORPUS, chroma_server, make_settings, run_ingest  # noqa: E402
from tests.llm_stub import LLMStub  # noqa: E402


@pytest.fixture(autouse=True)
def _no_citechat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their settings explicitly; the developer's environment must not leak in."""
    for name in list(os.environ):
        if name.startswith("CITECHAT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real local model, loaded once per test session."""
    model = LocalEmbedder()
    model.load()
    return model


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Settings of an on-disk index holding the sample corpus. Treat it as read-only."""
    settings = make_settings(tmp_path_factory.mktemp("sample") / "data")
    report = run_ingest(settings, embedder, [SAMPLE_CORPUS])
    assert not report.failed and report.new == 3
    return settings


@pytest.fixture(scope="session")
def chroma_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real ``chroma run`` server, shared by the tests of server mode."""
    with chroma_server(Path(tmp_path_factory.mktemp("chroma-server"))) as address:
        yield address


@pytest.fixture
def llm_stub() -> Iterator[LLMStub]:
    """A fresh OpenAI-compatible server on a free port (see tests/llm_stub.py)."""
    with LLMStub() as stub:
        yield stub

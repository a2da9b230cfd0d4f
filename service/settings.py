"""The one settings class of the service: every knob is an environment variable ``CITECHAT_*``."""

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from limits import RateLimitItem, parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from ingestion.settings import IndexSettings

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"  # shipped inside the package
MIN_KEY_CHARS = 16
_KEY = re.compile(
    rf"[\x21-\x2b\x2d-\x7e]{{{MIN_KEY_CHARS},}}"
)  # printable ASCII, no space or comma
# The most messages a chat request may hold whatever the settings: longer lists are refused
# before their items are validated.
MESSAGES_CEILING = 100
_BASE_URL = re.compile(r"https?://[^\s/?#]+(/\S*)?")
# An origin as browsers send it; ":*" stands for any port (see service/api/cors.py).
_ORIGIN = re.compile(r"\*|https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:([0-9]{1,5}|\*))?")


def parse_limits(value: str) -> list[RateLimitItem]:
    """Rate limits in the ``limits`` notation (``"10/second;120/minute"``); ``off`` is none."""
    return [] if value.strip().lower() == "off" else parse_many(value)


class Settings(IndexSettings):
    """Index settings plus retrieval, answering and HTTP settings."""

    top_k: int = Field(default=5, ge=1, le=50)
    retrieval_mode: Literal["hybrid", "dense"] = "hybrid"
    max_query_chars: int = Field(default=2000, ge=1)
    index_refresh_seconds: float = Field(default=2.0, ge=0)
    # Where replicas save and load BM25 snapshots (README, Scaling); default: <data_dir>/bm25.
    bm25_snapshot_dir: Path | None = None

    llm_base_url: str | None = None
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = Field(default="gpt-4o-mini", min_length=1)
    # Seconds to wait for a reply's first token: a CPU model reads the whole prompt first
    # (SmolLM2-135M on one core: about 100 prompt tokens a second).
    llm_first_token_timeout: float = Field(default=30.0, gt=0)
    # Seconds to wait for each next piece of a reply once it has begun (a stalled server).
    llm_timeout: float = Field(default=15.0, gt=0)
    # Retries of HTTP 408/409/429/5xx and refused connections (never of a timeout).
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    # Seconds one answer may wait for the LLM in all (condensing, retries and streaming),
    # whatever the server does; then it falls back to the extractive answer.
    llm_deadline: float = Field(default=45.0, gt=0)
    # Estimated tokens of an answer prompt (instructions, passages, question): passages that
    # do not fit are left out, so a small-context model is not overrun.
    llm_prompt_tokens: int = Field(default=3000, ge=300)
    # The most tokens the model may write in a reply (its max_tokens).
    llm_max_tokens: int = Field(default=512, ge=16)
    prompts_dir: Path = PROMPTS_DIR

    # Chat requests: the question's length and the conversation's number of messages.
    max_question_chars: int = Field(default=2000, ge=1)
    max_messages: int = Field(default=20, ge=1, le=MESSAGES_CEILING)

    # `citechat eval --judge`: an OpenAI-compatible LLM; unset fields fall back to the llm_* ones.
    judge_base_url: str | None = None
    judge_api_key: SecretStr = SecretStr("")
    judge_model: str | None = None

    # Requests to /api/chat and /api/search per client address and per page origin, in the
    # `limits` notation ("10/second;120/minute"), or "off"; counters kept in rate_limit_storage.
    rate_limit: str = "120/minute"
    origin_rate_limit: str = "1200/minute"
    rate_limit_storage: str = "memory://"
    # HTTP server: the most bytes of a request line plus headers, and the proxies whose
    # X-Forwarded-For / X-Forwarded-Proto are trusted (comma-separated addresses, or "*").
    max_header_bytes: int = Field(default=16384, ge=1024)
    request_body_timeout: float = Field(default=10.0, gt=0)  # seconds to send a whole body
    forwarded_allow_ips: str = "127.0.0.1"

    # Pages allowed to call the API from a browser: comma-separated (or a JSON list).
    allowed_origins: Annotated[list[str], NoDecode] = ["http://localhost:*", "http://127.0.0.1:*"]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, for collectors

    # Bearer keys, comma-separated (or a JSON list); see service/api/auth.py.
    api_keys: Annotated[list[SecretStr], NoDecode] = []  # none: the read routes are public
    admin_api_keys: Annotated[list[SecretStr], NoDecode] = []  # none: no changes over HTTP

    @property
    def bm25_snapshot_path(self) -> Path:
        return self.bm25_snapshot_dir or self.data_dir / "bm25"

    @field_validator("llm_base_url", "judge_base_url")
    @classmethod
    def _check_base_url(cls, url: str | None) -> str | None:
        # An address without its scheme ("localhost:11434/v1") would make every call fail.
        if url is not None and not _BASE_URL.fullmatch(url):
            raise ValueError(f"{url!r} is not an http(s) URL such as https://api.openai.com/v1")
        return url

    @field_validator("rate_limit", "origin_rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        parse_limits(value)  # a ValueError names what is wrong
        return value

    @field_validator("allowed_origins", "api_keys", "admin_api_keys", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
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

    @field_validator("api_keys", "admin_api_keys")
    @classmethod
    def _check_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            token = key.get_secret_value()
            if not _KEY.fullmatch(token):
                raise ValueError(
                    f"an API key must be {MIN_KEY_CHARS} or more printable ASCII characters "
                    "without spaces or commas (`openssl rand -hex 32` makes one)"
                )
        return keys

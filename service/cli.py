"""The ``citechat`` command line. Heavy imports (torch, Chroma) happen inside the commands."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ingestion.store import ChunkStore

from service.settings import Settings

app = typer.Typer(help="Answer questions about articles, with citations.", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}", 2)
        raise


def _open_store(settings: Settings, embed_model: str) -> "ChunkStore":
    from ingestion.store import EmbeddingModelMismatch, StoreUnavailable
    from service.wiring import open_store

    try:
        return open_store(settings, embed_model)
    except (StoreUnavailable, EmbeddingModelMismatch) as exc:
        _fail(str(exc))
        raise


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove stored documents whose files are gone.")
    ] = False,
) -> None:
    """Ingest Markdown, text, HTML and PDF files (folders recursively)."""
    from tqdm import tqdm

    from ingestion.chunking import build_splitter
    from ingestion.embeddings import build_embedder
    from ingestion.pipeline import ingest as run_ingest

    settings = _settings()
    embedder = build_embedder(settings)
    store = _open_store(settings, embedder.name)
    report = run_ingest(
        paths,
        store,
        embedder,
        build_splitter(settings.chunk_size, settings.chunk_overlap),
        prune=prune,
        progress=lambda total: tqdm(total=total, unit="chunk", desc="embedding", disable=None),
    )
    for path, reason in report.failed:
        typer.echo(f"failed: {path}: {reason}", err=True)
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


@app.command()
def documents() -> None:
    """List the stored documents."""
    settings = _settings()
    store = _open_store(settings, settings.embed_model)
    stored = store.documents()
    for doc in sorted(stored.values(), key=lambda d: d.document_id):
        typer.echo(f"{doc.document_id}\t{doc.published or '-'}\t{doc.chunks} chunks\t{doc.title}")
    typer.echo(f"{len(stored)} documents", err=True)


@app.command()
def delete(
    document_id: Annotated[str, typer.Argument(help="As `citechat documents` shows.")],
) -> None:
    """Delete one stored document."""
    settings = _settings()
    store = _open_store(settings, settings.embed_model)
    if document_id not in store.documents():
        _fail(f"no document {document_id!r}; `citechat documents` lists them")
    store.delete_document(document_id)
    store.bump_revision()
    typer.echo(f"deleted {document_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API, the widget and the demo page."""
    import uvicorn

    _settings()  # fail fast on bad settings, before the server starts
    uvicorn.run("service.app:create_app", factory=True, host=host, port=port)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)

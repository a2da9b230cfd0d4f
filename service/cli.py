"""The ``citechat`` command line. Heavy imports (torch, Chroma) happen inside the commands."""

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer import _click as click  # the click that typer bundles
from typer._click.globals import get_current_context
from typer.core import TyperGroup
from typer.exceptions import TyperException

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from ingestion.embeddings import Embedder
    from ingestion.store import ChunkStore

from ingestion.errors import AppError
from service.settings import Settings

DEBUG = "citechat.debug"  # context meta: --debug was given
CollectionOption = Annotated[
    str,
    typer.Option("--collection", help="The collection (docs/collections.md); default: `default`."),
]


class _Reporting(TyperGroup):
    """Every error of a command ends it with one line and a non-zero exit (see
    :func:`_failure`); with ``--debug``, with its traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as exc:
            if ctx.meta.get(DEBUG):
                raise
            _fail(*_failure(exc))


# Commands that embed take the embedding model from the context's ``obj`` when one is given
# (tests pass their loaded model: ``CliRunner().invoke(app, args, obj=embedder)``).
app = typer.Typer(
    cls=_Reporting,
    help="Answer questions about articles, with citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show an error's traceback and Chroma's own log messages."),
    ] = False,
) -> None:
    ctx.meta[DEBUG] = debug
    if not debug and ctx.invoked_subcommand != "serve":  # a server logs them as they come
        # Chroma's errors become the command's one line: not logged with their tracebacks too.
        logging.getLogger("chromadb").setLevel(logging.CRITICAL)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _failure(exc: Exception) -> tuple[str, int]:
    """The one line reporting ``exc`` and the exit code: 2 for bad input, else 1; an error
    not foreseen is told by its type and message."""
    if isinstance(exc, AppError):
        return " ".join(str(exc).split()), 2 if exc.status_code == 422 else 1
    said = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {said} (--debug shows where)", 1


@contextmanager
def _reported() -> Iterator[None]:
    """An :class:`AppError` ends the command with its message: exit 2 for bad input, else 1."""
    try:
        yield
    except AppError as exc:
        _fail(*_failure(exc))


def _settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}", 2)


def _given_embedder(ctx: typer.Context) -> "Embedder | None":
    """The embedding model the caller passed as the context's ``obj``, if any."""
    embedder: Embedder | None = ctx.obj
    return embedder


def _open_store(
    settings: Settings, embed_model: str, collection: str = "default", create: bool = False
) -> "ChunkStore":
    """The store of ``collection``, closed with the command; it must exist unless ``create``
    (or it is ``default``)."""
    from ingestion.collections import DEFAULT
    from service.wiring import open_store

    with _reported():
        store = open_store(
            settings, embed_model, collection, create=create or collection == DEFAULT
        )
    get_current_context().call_on_close(partial(_close, store))
    return store


@contextmanager
def _client(settings: Settings) -> "Iterator[ClientAPI]":
    """A client of the settings' store for the block; its failures end the command with one
    line."""
    from ingestion.store import STORE_ERRORS, describe, disk_space, open_client, store_failure

    with _reported():
        client = open_client(settings)
        try:
            yield client
        except STORE_ERRORS as exc:
            raise store_failure(exc, describe(settings), disk_space(settings)) from exc
        finally:
            client.close()  # type: ignore[attr-defined]  # HttpClient and PersistentClient have it


def _close(store: "ChunkStore") -> None:
    """Close the command's store, failed or not: a client left open beside a failed one on
    the same path can hang the next one a process opens (chromadb)."""
    with suppress(AppError):  # the command's own error, if any, is the one reported
        store.close()


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Remove documents ingested from these folders whose files are gone."
        ),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace documents of the same id stored by an upload or from another folder.",
        ),
    ] = False,
    collection: CollectionOption = "default",
) -> None:
    """Ingest Markdown, text, HTML and PDF files (folders recursively) into a collection,
    made now if new."""
    from tqdm import tqdm

    from ingestion.pipeline import ingest as run_ingest
    from service.wiring import embedder_for

    settings = _settings()
    embedder = embedder_for(settings, _given_embedder(ctx))
    store = _open_store(settings, embedder.name, collection, create=True)
    try:
        report = run_ingest(
            paths,
            store,
            embedder,
            settings.splitter(),
            limits=settings.file_limits,
            prune=prune,
            replace=replace,
            progress=lambda total: tqdm(total=total, unit="chunk", desc="embedding", disable=None),
        )
    except FileNotFoundError as exc:
        _fail(f"{exc}; nothing was ingested or pruned", 2)
    for path, reason in report.failed:
        typer.echo(f"failed: {path}: {reason}", err=True)
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


@app.command()
def sync(ctx: typer.Context) -> None:
    """Fetch the feeds, sitemaps and pages of CITECHAT_SYNC_SOURCES and store what changed."""
    settings = _settings()
    if settings.sync_sources is None:
        _fail("no sources: set CITECHAT_SYNC_SOURCES to a sources file (docs/sync.md)", 2)
    from tqdm import tqdm

    from ingestion.sync import SourcesError, load_sources
    from service.sync import run_sync
    from service.wiring import embedder_for

    try:
        sources = load_sources(settings.sync_sources)
    except SourcesError as exc:
        _fail(str(exc), 2)  # bad configuration: exit 2, as for bad settings
    embedder = embedder_for(settings, _given_embedder(ctx))
    store = _open_store(settings, embedder.name)
    with tqdm(unit="page", desc="fetching", disable=None) as pages:
        reports = run_sync(
            settings,
            sources,
            store,
            embedder,
            progress=lambda total: tqdm(total=total, unit="chunk", desc="embedding", disable=None),
            on_page=pages.update,
            open_collection=lambda name: _open_store(settings, embedder.name, name, create=True),
        )
    failed = False
    for result in reports:
        if result.error:
            typer.echo(f"failed: source {result.name}: {result.error}", err=True)
        for url, reason in result.report.failed:
            typer.echo(f"failed: {url}: {reason}", err=True)
        failed = failed or bool(result.error or result.report.failed)
        typer.echo(f"{result.name}: {result.summary()}")
    if failed:
        raise typer.Exit(1)


@app.command()
def documents(collection: CollectionOption = "default") -> None:
    """List the stored documents of a collection."""
    from ingestion.loaders import shown

    settings = _settings()
    store = _open_store(settings, settings.embed_model, collection)
    stored = store.documents()
    for doc in sorted(stored.values(), key=lambda d: d.document_id):
        fields = [shown(doc.document_id), doc.published or "-", f"{doc.chunks} chunks"]
        typer.echo("\t".join([*fields, shown(doc.title)]))
    typer.echo(f"{len(stored)} documents", err=True)


@app.command()
def delete(
    document_id: Annotated[str, typer.Argument(help="As `citechat documents` shows.")],
    collection: CollectionOption = "default",
) -> None:
    """Delete one stored document of a collection."""
    from ingestion.pipeline import delete as delete_document

    settings = _settings()
    store = _open_store(settings, settings.embed_model, collection)
    if not delete_document(store, document_id):
        _fail(f"no document {document_id!r}; `citechat documents` lists them")
    typer.echo(f"deleted {document_id}")


@app.command()
def collections() -> None:
    """List the collections, `default` first."""
    from service.wiring import collection_names

    settings = _settings()
    with _client(settings) as client:
        names = collection_names(settings, client)
    typer.echo("\n".join(names))


@app.command("delete-collection")
def delete_collection(
    name: Annotated[str, typer.Argument(help="As `citechat collections` shows.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a collection and every document in it."""
    from ingestion.collections import check_name
    from service.wiring import delete_collection as delete_named

    settings = _settings()
    with _reported():
        check_name(name)
    if not yes:
        typer.confirm(f"Delete collection {name!r} and all its documents?", abort=True)
    with _client(settings) as client:
        delete_named(settings, client, name)
    typer.echo(f"deleted collection {name}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API, the widget and the demo page."""
    import uvicorn

    from service.app import server_options

    settings = _settings()  # fail fast on bad settings, before the server starts
    uvicorn.run(
        "service.app:create_app", factory=True, host=host, port=port, **server_options(settings)
    )


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    collection: CollectionOption = "default",
) -> None:
    """Answer a question from the stored documents, then list the numbered sources."""
    from service.api.validation import check_text
    from service.chat.dates import format_date
    from service.chat.types import Message
    from service.wiring import build_components

    settings = _settings()
    with _reported():
        text = check_text("question", question, settings.max_question_chars)
        components = build_components(settings, _given_embedder(ctx), collection)
        answer = components.answerer.answer([Message("user", text)])
    typer.echo(answer.answer)
    if answer.notice:
        typer.echo(f"\nNote: {answer.notice}")
    if answer.citations:
        typer.echo("\nSources:")
    for citation in answer.citations:
        date = format_date(citation.published) or "undated"
        typer.echo(f"[{citation.marker}] {citation.title} ({date}) {citation.source}")


@app.command("eval")
def eval_set(
    ctx: typer.Context,
    eval_set: Annotated[Path, typer.Argument(help="The question set (JSON lines).")],
    api: Annotated[
        str | None, typer.Option(help="Base URL of a running service; default: in-process.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="A saved JSON report to gate against.")
    ] = None,
    max_drop: Annotated[
        float, typer.Option(min=0, max=1, help="Largest allowed drop of a headline metric.")
    ] = 0.02,
    judge: Annotated[
        bool, typer.Option("--judge", help="Also score faithfulness and relevance by an LLM.")
    ] = False,
    collection: CollectionOption = "default",
) -> None:
    """Evaluate answers on a question set; with --baseline, exit 1 on a regression."""
    from tqdm import tqdm

    from service.evaluate.cases import load_eval_set
    from service.evaluate.command import evaluate
    from service.evaluate.gate import compare, gate_markdown
    from service.evaluate.report import load_report, markdown_summary, write_html, write_json

    settings = _settings()
    with _reported():
        cases = load_eval_set(eval_set)
        saved = load_report(baseline) if baseline else None
        with tqdm(total=len(cases), unit="question", desc="evaluating", disable=None) as bar:
            report = evaluate(
                settings,
                eval_set,
                cases,
                api=api,
                judge=judge,
                on_result=lambda _: bar.update(),
                embedder=_given_embedder(ctx),
                collection=collection,
            )
    if out:
        write_json(report, out)
    if html:
        write_html(report, html)
    typer.echo(markdown_summary(report))
    if saved is not None and baseline is not None:
        result = compare(saved, report, max_drop)
        typer.echo(gate_markdown(result, str(baseline)))
        if not result.passed:
            raise typer.Exit(1)


@app.command("eval-corpora")
def eval_corpora(
    ctx: typer.Context,
    corpus: Annotated[
        list[str], typer.Option(help="NAME=DOCUMENTS_DIR:QUESTIONS.jsonl, once per corpus.")
    ],
    cache: Annotated[Path, typer.Option(help="Where each corpus is indexed (CACHE/NAME).")] = Path(
        "test-output/corpora"
    ),
    out: Annotated[Path | None, typer.Option(help="Also write the table here.")] = None,
) -> None:
    """Index each corpus on its own, answer its questions, and print one table of them all."""
    from service.evaluate import corpora
    from service.wiring import embedder_for

    settings = _settings()
    try:
        named = [corpora.Corpus.parse(spec) for spec in corpus]
    except ValueError as exc:
        _fail(str(exc), 2)
    embedder = embedder_for(settings, _given_embedder(ctx))
    with _reported():
        results = {
            c.name: corpora.score(
                c, settings.model_copy(update={"data_dir": cache / c.name}), embedder
            )
            for c in named
        }
    text = corpora.table(results)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    typer.echo(text)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()

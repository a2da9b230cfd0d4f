from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestion.embeddings import Embedder
from service.cli import app
from service.wiring import open_store
from tests.helpers import copy_corpus, free_port, make_settings, run_upload

FEB = "2025-02-07-us-exempts-haiti-mission-from-aid-freeze.md"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI on a fresh data dir, with the session's model instead of a second load."""
    monkeypatch.setenv("CITECHAT_DATA_DIR", str(tmp_path / "data"))
    return copy_corpus(tmp_path / "corpus")


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(embedder: Embedder) -> Run:
    """``citechat ARGS`` with the session's model: exit code, stdout, stderr."""

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), obj=embedder)
        return result.exit_code, result.stdout, result.stderr

    return run


def test_ingest_documents_delete_round_trip(run: Run, cli_env: Path) -> None:
    code, out, _ = run("ingest", str(cli_env))
    assert code == 0
    assert "files: 3 new, 0 changed, 0 unchanged, 0 failed, 0 pruned" in out

    code, out, _ = run("ingest", str(cli_env))
    assert code == 0 and "3 unchanged" in out and "0 chunks embedded" in out

    code, out, err = run("documents")
    assert code == 0 and FEB in out and "2025-02-07" in out and "3 documents" in err

    code, out, _ = run("delete", FEB)
    assert code == 0 and f"deleted {FEB}" in out
    code, out, _ = run("documents")
    assert FEB not in out


def test_ingest_reports_failed_files_and_exits_non_zero(run: Run, cli_env: Path) -> None:
    (cli_env / "bad.md").write_text("---\npublished: 2025-13-01\n---\ntext\n")
    code, out, err = run("ingest", str(cli_env))
    assert code == 1
    assert "3 new" in out and "1 failed" in out
    assert "bad.md: impossible date" in err


def test_delete_of_unknown_document_fails_clearly(run: Run, cli_env: Path) -> None:
    code, _, err = run("delete", "nope.md")
    assert code == 1
    assert "no document 'nope.md'" in err


def test_an_unreachable_store_fails_with_its_address(
    run: Run, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("CITECHAT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CITECHAT_CHROMA_PORT", str(port))
    code, out, err = run("documents")
    assert code == 1 and out == ""
    assert f"error: vector store at http://127.0.0.1:{port} unreachable" in err


def test_invalid_settings_fail_before_any_work(
    run: Run, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITECHAT_CHUNK_SIZE", "lots")
    code, _, err = run("ingest", str(cli_env))
    assert code == 2
    assert "invalid settings: chunk_size" in err


def test_ingest_of_a_missing_path_with_prune_changes_nothing(run: Run, cli_env: Path) -> None:
    assert run("ingest", str(cli_env))[0] == 0
    code, out, err = run("ingest", f"{cli_env}s", "--prune")  # a typo
    assert code == 2
    assert f"error: {cli_env}s: no such file or folder; nothing was ingested or pruned" in err
    assert "pruned" not in out
    assert "3 documents" in run("documents")[2]


def test_ingest_reports_spoofing_names_escaped(run: Run, cli_env: Path) -> None:
    (cli_env / "evil-\u202egpj.md").write_text("text")
    (cli_env / "outside.md").symlink_to("/etc/hostname")
    code, out, err = run("ingest", str(cli_env))
    assert code == 1 and "3 new" in out and "2 failed" in out
    assert "\u202e" not in err
    assert "evil-\\u202egpj.md: name has control, zero-width, bidi or undecodable characters" in err
    assert f"outside.md: link to a file outside {cli_env}: not followed" in err
    assert "outside.md" not in run("documents")[1]


def test_documents_escapes_what_an_older_index_may_hold(
    run: Run, cli_env: Path, embedder: Embedder, tmp_path: Path
) -> None:
    store = open_store(make_settings(tmp_path / "data"), embedder.name)
    meta = {
        "document_id": "a\u202egpj.md",
        "title": "Real\ttitle\u2066",
        "source": "",
        "published": "",
        "doc_hash": "h",
        "n_chunks": 1,
        "chunk_index": 0,
        "start": 0,
        "end": 1,
    }
    store.upsert(["x"], ["x"], [embedder.embed_query("x")], [meta])
    code, out, _ = run("documents")
    assert code == 0
    assert out == "a\\u202egpj.md\t-\t1 chunks\tReal\\ttitle\\u2066\n"


def test_ingest_refuses_an_id_an_upload_holds_unless_replace(
    run: Run, cli_env: Path, tmp_path: Path, embedder: Embedder
) -> None:
    run_upload(make_settings(tmp_path / "data"), embedder, FEB, "The upload's own text.")
    code, out, err = run("ingest", str(cli_env))
    assert code == 1
    assert "2 new, 0 changed, 0 unchanged, 1 failed" in out
    reason = f"id {FEB!r} is held by an upload: not replaced (--replace replaces it)"
    assert err.strip() == f"failed: {cli_env / FEB}: {reason}"
    (cli_env / FEB).unlink()
    code, out, _ = run("ingest", "--prune", str(cli_env))
    assert code == 0 and "0 pruned" in out
    assert FEB in run("documents")[1]

    (cli_env / FEB).write_text("The folder's text.")
    code, out, _ = run("ingest", "--replace", str(cli_env))
    assert code == 0 and "1 changed" in out

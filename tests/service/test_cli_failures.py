"""The CLI ends every failure with one line and a non-zero exit, and a re-run completes: a
Chroma server killed mid-ingest, a full disk, an error nobody foresaw (with --debug: its
traceback)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ingestion.embeddings import Embedder
from ingestion.store import ChunkStore, DiskSpace
from service.cli import app
from tests.helpers import PROJECT_DIR, SAMPLE_CORPUS, chroma_process, copy_corpus, tmpfs

WEBB = PROJECT_DIR / "examples" / "webb-telescope"
COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections"


def citechat(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``citechat ARGS`` in its own process, as a user runs it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CITECHAT_")} | env
    command = [str(Path(sys.executable).with_name("citechat")), *args]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=600)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_chroma_server_killed_mid_ingest_is_one_line_and_a_rerun_completes(
    tmp_path: Path,
) -> None:
    corpus = copy_corpus(tmp_path / "corpus", WEBB)
    env = {"CITECHAT_DATA_DIR": str(tmp_path / "data"), "CITECHAT_CHROMA_HOST": "127.0.0.1"}
    with chroma_process(tmp_path / "chroma") as (chroma, port):
        env["CITECHAT_CHROMA_PORT"] = str(port)
        ingest = subprocess.Popen(
            [str(Path(sys.executable).with_name("citechat")), "ingest", str(corpus)],
            env={k: v for k, v in os.environ.items() if not k.startswith("CITECHAT_")} | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The ingest has opened its collection: it reads, embeds and writes from now on.
        deadline = time.monotonic() + 300
        while "citechat" not in httpx.get(f"http://127.0.0.1:{port}{COLLECTIONS}").text:
            assert time.monotonic() < deadline and ingest.poll() is None
            time.sleep(0.05)
        chroma.kill()
        out, err = ingest.communicate(timeout=300)

    assert ingest.returncode == 1
    assert out == ""
    [line] = lines(err)
    assert line.startswith(f"error: vector store at http://127.0.0.1:{port} unavailable: ")

    with chroma_process(tmp_path / "chroma") as (_, port):
        env["CITECHAT_CHROMA_PORT"] = str(port)
        rerun = citechat(env, "ingest", str(corpus))
        assert rerun.returncode == 0, rerun.stderr
        assert "10 new" in rerun.stdout and "0 failed" in rerun.stdout
        assert "10 documents" in citechat(env, "documents").stderr


@pytest.mark.parametrize("how", ["refused before the write", "disk filled by the write"])
def test_ingest_on_a_full_disk_is_one_line_the_store_stays_readable_and_a_rerun_completes(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), obj=embedder)
        return result.exit_code, result.stdout, result.stderr

    with tmpfs(tmp_path / "disk", "12m") as disk:
        monkeypatch.setenv("CITECHAT_DATA_DIR", str(disk / "data"))
        refused = how == "refused before the write"
        monkeypatch.setenv("CITECHAT_MIN_FREE_DISK_BYTES", "1000000" if refused else "0")
        if not refused:  # as if the write's size were misjudged, or another writer filled it
            monkeypatch.setattr(DiskSpace, "check", lambda self, needed: None)
        assert run("ingest", str(SAMPLE_CORPUS))[0] == 0
        ballast = disk / "ballast"
        ballast.write_bytes(bytes(shutil.disk_usage(disk).free - 40_000))

        code, out, err = run("ingest", str(WEBB))

        assert code == 1 and out == ""
        [line] = lines(err)
        if refused:
            assert line.startswith(f"error: not enough disk space for the vector store at {disk}")
        else:
            assert line.startswith(f"error: the disk holding the vector store at {disk}")
            assert "is full" in line
        code, _, err = run("documents")
        assert code == 0 and "3 documents" in err  # what it held before

        ballast.unlink()
        code, out, _ = run("ingest", str(WEBB))
        assert code == 0 and "10 new" in out
        assert "13 documents" in run("documents")[2]


def test_an_unforeseen_error_is_one_line_and_debug_shows_its_traceback(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITECHAT_DATA_DIR", str(tmp_path / "data"))

    def broken(self: ChunkStore) -> object:
        raise KeyError("document_id")  # a bug, not an outage

    monkeypatch.setattr(ChunkStore, "documents", broken)
    result = CliRunner().invoke(app, ["documents"], obj=embedder)
    assert result.exit_code == 1
    assert lines(result.stderr) == ["error: KeyError: 'document_id' (--debug shows where)"]

    result = CliRunner().invoke(app, ["--debug", "documents"], obj=embedder)
    assert isinstance(result.exception, KeyError)  # raised: Python prints its traceback

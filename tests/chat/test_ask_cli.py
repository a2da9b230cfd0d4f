"""``citechat ask``: the answer, then the numbered sources with title, date and URL."""

import pytest
from typer.testing import CliRunner

from ingestion.embeddings import Embedder
from service.cli import app
from service.settings import Settings


@pytest.fixture
def sample_env(
    sample_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI on the sample index, with the session's model instead of a second load."""
    monkeypatch.setenv("CITECHAT_DATA_DIR", str(sample_settings.data_dir))
    monkeypatch.setattr("service.wiring.build_embedder", lambda settings: embedder)


@pytest.mark.usefixtures("sample_env")
def test_ask_prints_the_answer_and_its_numbered_sources() -> None:
    result = CliRunner().invoke(app, ["ask", "Is the US still funding the Haiti mission?"])

    assert result.exit_code == 0, result.output
    answer, sources = result.stdout.split("\nSources:\n")
    assert answer.startswith("As of 23 May 2025:")
    lines = sources.strip().splitlines()
    assert lines[0] == (
        "[1] Haiti calls for regional help to battle gangs as U.S. delays funding (23 May 2025) "
        "https://theamericansdigest.com/haiti-calls-for-regional-help-to-battle-gangs-as-u-s-"
        "delays-funding"
    )
    assert [line.split("]")[0] for line in lines] == [f"[{n}" for n in range(1, len(lines) + 1)]
    assert any("(23 September 2023) https://www.kenyans.co.ke/" in line for line in lines)


@pytest.mark.usefixtures("sample_env")
def test_ask_says_plainly_when_the_documents_do_not_answer() -> None:
    result = CliRunner().invoke(app, ["ask", "What will the weather be like tomorrow?"])

    assert result.exit_code == 0
    assert result.stdout.startswith("The documents do not answer this question.")
    assert "Sources:" not in result.stdout


@pytest.mark.usefixtures("sample_env")
def test_ask_rejects_an_empty_question() -> None:
    result = CliRunner().invoke(app, ["ask", "   "])

    assert result.exit_code == 2
    assert "question: must not be empty" in result.stderr


@pytest.mark.usefixtures("sample_env")
def test_ask_rejects_an_undecodable_argument() -> None:
    """``citechat ask $'\\xff'``: Python hands the byte over as a lone surrogate."""
    result = CliRunner().invoke(app, ["ask", "Haiti \udcff"])

    assert result.exit_code == 2
    assert "question: invalid character at position 6 (not valid Unicode text)" in result.stderr

"""``citechat ask``: the answer, then the numbered sources with title, date and URL."""

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from ingestion.embeddings import Embedder
from service.cli import app
from service.settings import Settings

Ask = Callable[[str], Result]


@pytest.fixture
def ask(sample_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> Ask:
    """``citechat ask`` on the sample index, with the session's model instead of a second load."""
    monkeypatch.setenv("CITECHAT_DATA_DIR", str(sample_settings.data_dir))
    return lambda question: CliRunner().invoke(app, ["ask", question], obj=embedder)


def test_ask_prints_the_answer_and_its_numbered_sources(ask: Ask) -> None:
    result = ask("Is the US still funding the Haiti mission?")

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


def test_ask_says_plainly_when_the_documents_do_not_answer(ask: Ask) -> None:
    result = ask("What will the weather be like tomorrow?")

    assert result.exit_code == 0
    assert result.stdout.startswith("The documents do not answer this question.")
    assert "Sources:" not in result.stdout


def test_ask_rejects_an_empty_question(ask: Ask) -> None:
    result = ask("   ")

    assert result.exit_code == 2
    assert "question: must not be empty" in result.stderr


def test_ask_rejects_an_undecodable_argument(ask: Ask) -> None:
    """``citechat ask $'\\xff'``: Python hands the byte over as a lone surrogate."""
    result = ask("Haiti \udcff")

    assert result.exit_code == 2
    assert "question: invalid character at position 6 (not valid Unicode text)" in result.stderr

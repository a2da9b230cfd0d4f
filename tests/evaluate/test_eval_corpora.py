"""``citechat eval-corpora``: each corpus indexed on its own, one table of them all."""

from pathlib import Path

from typer.testing import CliRunner

from ingestion.embeddings import Embedder
from service.cli import app
from tests.helpers import PROJECT_DIR, SAMPLE_CORPUS


def test_two_corpora_are_indexed_apart_and_scored_in_one_table(
    subset: Path, embedder: Embedder, tmp_path: Path
) -> None:
    webb = PROJECT_DIR / "examples" / "webb-telescope"
    args = [
        "eval-corpora",
        *("--corpus", f"haiti={SAMPLE_CORPUS}:{subset}"),
        *("--corpus", f"webb={webb}:{PROJECT_DIR / 'eval_sets' / 'webb-telescope.jsonl'}"),
        *("--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "table.md")),
    ]

    result = CliRunner().invoke(app, args, obj=embedder)

    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert "| haiti | **all** | " in result.stdout and "| webb | **all** | " in result.stdout
    assert any(row.startswith("| webb | unanswerable | ") for row in rows)
    assert rows[0] == "| corpus | category | passed | answer first | words | ≤ 80 words |"
    assert all(row.count(" | ") == 5 for row in rows)  # every row has every column
    assert "unanswerable abstained" in result.stdout
    assert (tmp_path / "table.md").read_text() == result.stdout.rstrip("\n") + "\n"
    # apart: each index holds its own corpus only
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["haiti", "webb"]


def test_a_malformed_corpus_is_a_usage_error(embedder: Embedder) -> None:
    result = CliRunner().invoke(app, ["eval-corpora", "--corpus", "haiti"], obj=embedder)

    assert result.exit_code == 2
    assert "NAME=DOCUMENTS_DIR:QUESTIONS.jsonl" in result.stderr

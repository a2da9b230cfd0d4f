"""Builders shared by the eval tests: hand-made cases and replies, and the CLI runner."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.chat.types import RetrievedOut
from service.cli import app
from service.evaluate.cases import EvalCase
from service.evaluate.records import CitationRecord, QuestionResult, Reply
from service.evaluate.scoring import grade

MAY, FEB, SEP = "may.md", "feb.md", "sep.md"
DOCUMENTS = {
    MAY: "The United States has indicated its intention to withhold further funding.",
    FEB: "The United States has specifically exempted its support for the mission.",
    SEP: "The Biden administration offered USD 100 million.",
}


def case(**fields: object) -> EvalCase:
    values: dict[str, object] = {
        "id": "q",
        "category": "temporal",
        "turns": ["Is the US still funding the mission?"],
        "expect_any": [["withhold"], ["exempt"]],
        "sources": [MAY, FEB],
        "all_sources": True,
    }
    return EvalCase.model_validate(values | fields)


def cite(marker: int, document_id: str, quote: str) -> CitationRecord:
    return CitationRecord(
        marker=marker,
        document_id=document_id,
        title=document_id,
        published="",
        quote=quote,
        chunk_id=f"{document_id}::0",
    )


def reply(
    answer: str, citations: list[CitationRecord], retrieved: list[str], answered: bool = True
) -> Reply:
    return Reply(
        answer=answer,
        answered=answered,
        citations=citations,
        mode="extractive",
        notice=None,
        retrieved=[
            RetrievedOut(document_id=d, chunk_id=f"{d}::{i}", score=1.0)
            for i, d in enumerate(retrieved)
        ],
    )


GOOD = reply(
    "As of 23 May 2025 the US intends to withhold further funding [1]; "
    "earlier it had exempted the mission [2].",
    [cite(1, MAY, "intention to withhold further funding"), cite(2, FEB, "specifically exempted")],
    [SEP, MAY, FEB],
)


def graded(c: EvalCase, r: Reply | None, error: str | None = None) -> QuestionResult:
    """``r`` graded against ``c``, its quotes checked against :data:`DOCUMENTS`."""
    return grade(c, r, history=[], latencies_ms=[12.0], error=error, documents=DOCUMENTS)


def run_eval_cli(data_dir: Path, *args: object) -> tuple[int, str, str]:
    """``citechat eval ARGS`` on the index in ``data_dir``: exit code, stdout, stderr."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITECHAT_DATA_DIR", str(data_dir))
        result = CliRunner().invoke(app, ["eval", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr

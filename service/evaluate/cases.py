"""Eval sets: one JSON object a line, validated as a whole before anything runs.

Schema (see ``eval_sets/README.md``): ``id``, ``category``, ``turns`` (the user's turns, asked
in order), ``expect_any`` (groups of alternatives: every group must match one alternative,
case-insensitive substring), ``must_not_contain`` (strings the answer must not contain, e.g.
the lie a prompt injection asks for), ``sources`` (document ids a correct answer cites; all
of them when ``all_sources``) and ``answerable`` (false: the documents do not answer, the
right answer abstains).
"""

import json
import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from service.errors import InvalidRequest

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class EvalSetError(InvalidRequest):
    """A malformed eval set; the message names the file, the line and the problem."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class EvalCase(BaseModel):
    """One question of an eval set (one line of the file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Text = Field(description="A stable name for the question, unique in its set.")
    category: Text = Field(
        description="Free text reports group by: `temporal`, `factoid`, `paraphrase`, "
        "`multi_turn`, `unanswerable`, `false_premise`, `prompt_injection`, ..."
    )
    turns: Annotated[list[Text], Field(min_length=1)] = Field(
        description="The user's messages, asked in order; the answer to the last one is judged."
    )
    expect_any: list[list[Text]] = Field(
        default=[],
        description="Every group must match: one of its alternatives occurs in the answer "
        "(case-insensitive substring, runs of whitespace as one space).",
    )
    must_not_contain: list[Text] = Field(
        default=[],
        description="Strings the answer must not contain (matched like `expect_any`), e.g. the "
        "lie a prompt injection asks for.",
    )
    sources: list[Text] = Field(
        default=[],
        description="Document ids a correct answer cites (as `citechat documents` lists them).",
    )
    all_sources: bool = Field(
        default=False, description="True: the answer must cite every one of `sources`."
    )
    answerable: bool = Field(
        default=True,
        description="False: the documents do not answer and the right answer abstains.",
    )

    @model_validator(mode="after")
    def _check(self) -> "EvalCase":
        if any(not group for group in self.expect_any):
            raise ValueError("expect_any groups must not be empty")
        if self.all_sources and not self.sources:
            raise ValueError("all_sources needs sources")
        return self

    @property
    def question(self) -> str:
        """The last turn: the question the answer is judged on."""
        return self.turns[-1]


def load_eval_set(path: Path) -> list[EvalCase]:
    """Read and validate every line of ``path``; raise :class:`EvalSetError` on the first problem.

    Blank lines are skipped; ids must be unique.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(path, None, f"cannot read the eval set: {exc}") from exc
    cases: list[EvalCase] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        case = _parse_line(path, number, line)
        if case.id in seen:
            raise EvalSetError(
                path, number, f"duplicate id {case.id!r} (first on line {seen[case.id]})"
            )
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise EvalSetError(path, None, "the eval set holds no questions")
    return cases


def _parse_line(path: Path, number: int, line: str) -> EvalCase:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvalSetError(path, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise EvalSetError(path, number, "expected a JSON object")
    try:
        return EvalCase.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors()
        )
        raise EvalSetError(path, number, problems) from exc


def normalize(text: str) -> str:
    """Case-folded, with runs of whitespace as one space: the form answers are matched in."""
    return re.sub(r"\s+", " ", text).casefold().strip()


def missing_groups(answer: str, expect_any: list[list[str]]) -> list[list[str]]:
    """The ``expect_any`` groups none of whose alternatives occurs in ``answer``."""
    haystack = normalize(answer)
    return [group for group in expect_any if not any(normalize(alt) in haystack for alt in group)]


def forbidden_found(answer: str, must_not_contain: list[str]) -> list[str]:
    """The ``must_not_contain`` strings that occur in ``answer`` (matched like ``expect_any``)."""
    haystack = normalize(answer)
    return [text for text in must_not_contain if normalize(text) in haystack]
